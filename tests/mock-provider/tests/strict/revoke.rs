//! POST /oauth/revoke (RFC 7009).

use keyway_mock_provider::{ClientAuthRule, MockConfig};

use crate::support::{Harness, basic};

#[tokio::test]
async fn revoked_access_token_gets_401_from_the_api() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    assert_eq!(h.get_api("/me", &access).await.status, 200);

    let reply = h.revoke(&access).param("token_type_hint", "access_token").send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(h.mock.is_revoked(&access));
    let api = h.get_api("/me", &access).await;
    assert_eq!(api.status, 401);
    assert!(api.description().contains("revoked"));
}

#[tokio::test]
async fn revoked_refresh_token_takes_its_access_tokens_with_it() {
    let h = Harness::default().await;
    let tokens = h.tokens().await;
    let (access, refresh) = (tokens.field("access_token"), tokens.field("refresh_token"));
    let refreshed_access = h.refresh(&refresh).send(&h).await.field("access_token");

    assert_eq!(h.revoke(&refresh).send(&h).await.status, 200);
    assert!(h.mock.is_revoked(&refresh));
    assert_eq!(h.refresh(&refresh).send(&h).await.error(), "invalid_grant");
    assert_eq!(h.get_api("/me", &access).await.status, 401);
    assert_eq!(h.get_api("/me", &refreshed_access).await.status, 401);
}

#[tokio::test]
async fn unknown_token_gets_200() {
    let h = Harness::default().await;
    assert_eq!(h.revoke("mock-at-never-issued").send(&h).await.status, 200);
    assert!(!h.mock.is_revoked("mock-at-never-issued"));
}

#[tokio::test]
async fn revoke_needs_client_authentication() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    let reply = h.revoke(&access).without_header("authorization").send(&h).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "invalid_client");
    assert_eq!(reply.header("www-authenticate"), Some("Basic realm=\"mock\""));
    assert!(!h.mock.is_revoked(&access));
    assert_eq!(h.get_api("/me", &access).await.status, 200);
}

#[tokio::test]
async fn revoke_follows_the_client_auth_rule() {
    let h = Harness::start(MockConfig { client_auth: ClientAuthRule::Post, ..MockConfig::default() }).await;
    let access = h.tokens().await.field("access_token");
    let both =
        h.revoke(&access).header("authorization", &basic("demo-client", "demo-secret with:odd+chars")).send(&h).await;
    assert_eq!(both.status, 400);
    assert_eq!(both.error(), "invalid_request");
    assert_eq!(h.revoke(&access).send(&h).await.status, 200);
    assert!(h.mock.is_revoked(&access));
}

#[tokio::test]
async fn missing_token_is_refused() {
    let h = Harness::default().await;
    let reply = h.revoke("x").without_param("token").send(&h).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_request");
}

#[tokio::test]
async fn a_made_up_token_type_hint_is_refused() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    let reply = h.revoke(&access).param("token_type_hint", "refresh").send(&h).await;
    assert_eq!(reply.status, 400);
    assert!(reply.description().contains("token_type_hint"));
    assert!(!h.mock.is_revoked(&access));
}

#[tokio::test]
async fn a_wrong_hint_still_finds_the_token() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    assert_eq!(h.revoke(&access).param("token_type_hint", "refresh_token").send(&h).await.status, 200);
    assert!(h.mock.is_revoked(&access));
}
