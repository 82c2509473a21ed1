//! Quirks mode: the standard provider with a renamed callback code
//! (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow), `realmId` in the callback and
//! the API's paths (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0),
//! and the token in an `Access-Token` header.

use keyway_mock_provider::apps::quirks::{CODE_PARAM, REALM_ID};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;

use crate::support::{Call, Harness, Reply, STATE};

async fn quirks(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Quirks, ..config }).await
}

/// A token from the standard exchange of the renamed code.
async fn token(h: &Harness) -> String {
    let reply = h.authorize(&[]).await;
    let code = reply.location_param(CODE_PARAM).unwrap_or_else(|| panic!("no {CODE_PARAM} in {}", reply.location()));
    let tokens = h.exchange(&code).send(h).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    tokens.field("access_token")
}

fn company_info(h: &Harness, realm: &str, token: &str) -> Call {
    h.call(Method::GET, &format!("/v3/company/{realm}/companyinfo/{realm}")).header("access-token", token)
}

#[track_caller]
fn assert_fault(reply: &Reply, status: u16) -> String {
    assert_eq!(reply.status, status, "{}", reply.text);
    reply.json()["Fault"]["Error"][0]["Message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_code_comes_back_as_spapi_oauth_code_with_the_realm() {
    let h = quirks(MockConfig::default()).await;
    let reply = h.authorize(&[]).await;
    assert_eq!(reply.status, 302, "{}", reply.text);
    assert_eq!(reply.location_param("code"), None, "{}", reply.location());
    assert!(reply.location_param(CODE_PARAM).is_some_and(|c| c.starts_with("mock-code-")), "{}", reply.location());
    assert_eq!(reply.location_param("realmId").as_deref(), Some(REALM_ID));
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
    token(&h).await;
}

#[tokio::test]
async fn refusals_keep_the_standard_shape_and_rules() {
    let h = quirks(MockConfig::default()).await;
    let missing_state = h.authorize(&[("state", None)]).await;
    assert_eq!(missing_state.location_param("error").as_deref(), Some("invalid_request"));
    assert_eq!(missing_state.location_param("realmId"), None);
    let no_pkce = h.authorize(&[("code_challenge", None), ("code_challenge_method", None)]).await;
    assert_eq!(no_pkce.location_param("error").as_deref(), Some("invalid_request"));
    assert_eq!(h.authorize(&[("client_id", Some("other"))]).await.status, 400);
    let denied = quirks(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    let reply = denied.authorize(&[]).await;
    assert_eq!(reply.location_param("error").as_deref(), Some("access_denied"));
    assert_eq!((reply.location_param(CODE_PARAM), reply.location_param("realmId")), (None, None));
}

#[tokio::test]
async fn the_api_takes_the_token_in_access_token_for_the_authorized_realm() {
    let h = quirks(MockConfig::default()).await;
    let token = token(&h).await;
    let reply = company_info(&h, REALM_ID, &token).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["CompanyInfo"]["Id"], REALM_ID);

    let bearer = company_info(&h, REALM_ID, &token)
        .without_header("access-token")
        .header("authorization", &format!("Bearer {token}"))
        .send(&h)
        .await;
    assert!(assert_fault(&bearer, 401).contains("Access-Token"));
    assert_fault(&company_info(&h, REALM_ID, &token).without_header("access-token").send(&h).await, 401);
    assert_fault(&company_info(&h, REALM_ID, "mock-at-unknown").send(&h).await, 401);
    assert_fault(&company_info(&h, "123", &token).send(&h).await, 403);
}
