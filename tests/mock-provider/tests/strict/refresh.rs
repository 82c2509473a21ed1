//! POST /oauth/token with grant_type=refresh_token.

use keyway_mock_provider::MockConfig;

use crate::support::Harness;

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let h = Harness::default().await;
    let first = h.tokens().await;
    let refresh = first.field("refresh_token");

    let renewed = h.refresh(&refresh).send(&h).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    assert_eq!(renewed.header("cache-control"), Some("no-store"));
    let json = renewed.json();
    assert!(json.get("refresh_token").is_none(), "no rotation: {}", renewed.text);
    assert_eq!(json["expires_in"], 3600);
    let access = renewed.field("access_token");
    assert_ne!(access, first.field("access_token"));
    assert_eq!(h.get_api("/me", &access).await.status, 200);
    assert_eq!(h.get_api("/me", &first.field("access_token")).await.status, 200);

    // The old refresh token still works.
    assert_eq!(h.refresh(&refresh).send(&h).await.status, 200);
    assert!(!h.mock.is_revoked(&refresh));
}

#[tokio::test]
async fn rotation_returns_a_new_refresh_token_and_retires_the_old() {
    let h = Harness::start(MockConfig { rotate_refresh_tokens: true, ..MockConfig::default() }).await;
    let old = h.tokens().await.field("refresh_token");

    let renewed = h.refresh(&old).send(&h).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let new = renewed.field("refresh_token");
    assert_ne!(new, old);
    assert!(h.mock.is_revoked(&old));
    assert!(!h.mock.is_revoked(&new));
    assert_eq!(h.refresh(&new).send(&h).await.status, 200);
}

#[tokio::test]
async fn replaying_a_rotated_refresh_token_revokes_the_grant() {
    let h = Harness::start(MockConfig { rotate_refresh_tokens: true, ..MockConfig::default() }).await;
    let old = h.tokens().await.field("refresh_token");
    let renewed = h.refresh(&old).send(&h).await;
    let (new_refresh, new_access) = (renewed.field("refresh_token"), renewed.field("access_token"));

    let replay = h.refresh(&old).send(&h).await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.error(), "invalid_grant");
    assert!(replay.description().contains("replaying"));
    assert!(h.mock.is_revoked(&new_refresh));
    assert_eq!(h.refresh(&new_refresh).send(&h).await.error(), "invalid_grant");
    assert_eq!(h.get_api("/me", &new_access).await.status, 401);
}

#[tokio::test]
async fn unknown_refresh_token_is_refused() {
    let h = Harness::default().await;
    let reply = h.refresh("mock-rt-made-up").send(&h).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_grant");
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    let reply = h.refresh(&access).send(&h).await;
    assert_eq!(reply.error(), "invalid_grant");
    assert!(reply.description().contains("access token"));
}

#[tokio::test]
async fn missing_refresh_token_is_refused() {
    let h = Harness::default().await;
    let reply = h.refresh("x").without_param("refresh_token").send(&h).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_request");
}

#[tokio::test]
async fn refresh_needs_client_authentication() {
    let h = Harness::default().await;
    let refresh = h.tokens().await.field("refresh_token");
    let reply = h.refresh(&refresh).without_header("authorization").send(&h).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "invalid_client");
}

#[tokio::test]
async fn refresh_can_narrow_scopes_but_not_widen_them() {
    let h = Harness::default().await;
    let code = h.code_with(&[("scope", Some("read write"))]).await;
    let refresh = h.exchange(&code).send(&h).await.field("refresh_token");

    let narrowed = h.refresh(&refresh).param("scope", "read").send(&h).await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.text);
    assert_eq!(narrowed.field("scope"), "read");
    let echo = h.get_api("/x", &narrowed.field("access_token")).await.json();
    assert_eq!(echo["scopes"], serde_json::json!(["read"]));

    let widened = h.refresh(&refresh).param("scope", "read admin").send(&h).await;
    assert_eq!(widened.status, 400);
    assert_eq!(widened.error(), "invalid_scope");

    // Without a scope, the refresh gets the original grant's scopes.
    assert_eq!(h.refresh(&refresh).send(&h).await.field("scope"), "read write");
}
