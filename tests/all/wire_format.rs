//! The host formats no OAuth request itself: what a plugin changes is what goes on the wire.

use keyway::connection::ConnectionState;
use keyway::flows::FlowError;
use keyway_mock_provider::{MockConfig, MockProvider};
use keyway_tests::components::GUEST_RENAME;

use crate::{Fixture, follow_authorize, param, query_of};

#[tokio::test]
async fn a_renamed_parameter_appears_on_the_wire() {
    let fx = Fixture::with_plugin(MockConfig::default(), GUEST_RENAME).await;
    let conn = ConnectionState::default();
    let pending = fx.flows.begin(&fx.plugin, &fx.integration, &conn).await.unwrap();
    let params = query_of(&pending.authorize_url);
    assert_eq!(param(&params, "client_key"), Some(fx.integration.client_id.as_str()));
    assert_eq!(param(&params, "client_id"), None);
}

#[tokio::test]
async fn a_renamed_token_field_reaches_the_provider_as_written() {
    // The strict provider wants `code`, so the exchange fails, but the wire shows the rename.
    let fx = Fixture::with_plugin(MockConfig::default(), GUEST_RENAME).await;
    let standard = crate::load(keyway_tests::components::STANDARD_OAUTH2).await;
    let mut conn = ConnectionState::default();
    // Authorize with the standard plugin so the provider issues a code.
    let pending = fx.flows.begin(&standard, &fx.integration, &conn).await.unwrap();
    let query = follow_authorize(&pending.authorize_url).await;
    let err = fx
        .flows
        .complete(&fx.plugin, &fx.integration, &mut conn, &pending, query, &keyway::trace::Recorder::off())
        .await
        .unwrap_err();
    assert!(matches!(err, FlowError::Provider { .. }), "{err}");

    let req = fx.provider.requests_to(MockProvider::TOKEN_PATH).pop().unwrap();
    assert!(req.form_param("auth_code").is_some(), "form: {:?}", req.form());
    assert_eq!(req.form_param("code"), None);
}
