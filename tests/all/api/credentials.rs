//! `basic` and `token` integrations: connections are active as soon as they have credentials,
//! and the host attaches them to Web API requests.

use base64::Engine as _;
use serde_json::json;

use super::{Api, Backend, assert_no_secrets, both_backends};

both_backends!(
    basic_and_token_connections_attach_their_credentials,
    credentials_are_required_and_must_match,
    an_unreachable_app_is_a_502,
);

async fn basic_and_token_connections_attach_their_credentials(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let site = api.mock.base_url();
    let basic =
        api.create_integration(&api.mock, json!({"name": "basic-app", "auth_method": "basic", "site": site})).await;
    assert_eq!(basic["auth_method"], "basic");
    let token = api
        .create_integration(
            &api.mock,
            json!({"name": "token-app", "auth_method": "token", "site": site, "client_secret": null}),
        )
        .await;
    assert_eq!(token["has_client_secret"], false, "{token}");

    let created = api
        .admin(
            reqwest::Method::POST,
            &format!("/api/v1/integrations/{}/connections", basic["id"].as_str().unwrap()),
            Some(json!({"name": "alice", "credentials": {"username": "alice", "password": "pa:ss wörd"}})),
        )
        .await
        .expect(201);
    assert_eq!(created["status"], "active", "{created}");
    assert!(created["authorize_url"].is_null(), "{created}");
    let basic_id = created["id"].as_str().unwrap().to_string();

    let created = api
        .admin(
            reqwest::Method::POST,
            &format!("/api/v1/integrations/{}/connections", token["id"].as_str().unwrap()),
            Some(json!({"credentials": {"token": "static-token-4711"}})),
        )
        .await
        .expect(201);
    assert_eq!(created["status"], "active", "{created}");
    let token_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(api.get(&format!("/api/v1/connections/{token_id}")).await["name"], "token-app", "named after it");

    // The mock only accepts the tokens it issued, so what matters is what it was sent.
    let answer = api.web(&api.admin_key, &basic_id, json!({"method": "GET", "path": "/api/basic"})).await.expect(200);
    assert_eq!(answer["status"], 401, "the mock refuses Basic on its API: {answer}");
    let sent = api.mock.requests_to("/api/basic");
    assert_eq!(sent.len(), 1, "no retry: there is nothing to refresh");
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:pa:ss wörd"));
    assert_eq!(sent[0].header("authorization"), Some(expected.as_str()));

    let answer = api
        .web(
            &api.admin_key,
            &token_id,
            json!({"method": "GET", "path": "/api/token", "headers": {"authorization": "Bearer not-this"}}),
        )
        .await
        .expect(200);
    assert_eq!(answer["status"], 401, "{answer}");
    let sent = api.mock.requests_to("/api/token");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), Some("Bearer static-token-4711"));

    // The credentials never come back.
    let secrets = vec!["pa:ss wörd".to_string(), "static-token-4711".to_string()];
    let exchanges = api.exchanges();
    assert_no_secrets(exchanges.iter().map(|e| (e.request.as_str(), e.body.as_str())), &secrets);
}

async fn credentials_are_required_and_must_match(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let site = api.mock.base_url();
    let basic = api.integration(json!({"name": "basic-app", "auth_method": "basic", "site": site})).await;
    let token = api.integration(json!({"name": "token-app", "auth_method": "token", "site": site})).await;
    let oauth = api.integration(json!({})).await;

    for (integration, body, says) in [
        (&basic, json!({"name": "x"}), "username"),
        (&token, json!({}), "token"),
        (&basic, json!({"credentials": {"token": "t"}}), "username"),
        (&token, json!({"credentials": {"username": "u", "password": "p"}}), "token"),
        (&oauth, json!({"credentials": {"token": "t"}}), "browser"),
    ] {
        let path = format!("/api/v1/integrations/{integration}/connections");
        let (code, field, message) = api.admin(reqwest::Method::POST, &path, Some(body.clone())).await.error(400);
        assert_eq!(code, "invalid_field", "{body}");
        assert_eq!(field.as_deref(), Some("credentials"), "{body}: {message}");
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(api.get("/api/v1/connections").await["items"], json!([]), "nothing was created");
}

async fn an_unreachable_app_is_a_502(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    // Nothing listens there.
    let site = format!("http://127.0.0.1:{}", super::free_port());
    let integration = api.integration(json!({"name": "gone", "auth_method": "token", "site": site})).await;
    let created = api
        .admin(
            reqwest::Method::POST,
            &format!("/api/v1/integrations/{integration}/connections"),
            Some(json!({"credentials": {"token": "static-token-4711"}})),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    let reply = api.web(&api.admin_key, id, json!({"method": "GET", "path": "/api/me"})).await;
    let (code, _, message) = reply.error(502);
    assert_eq!(code, "upstream_error");
    assert!(!message.contains("static-token-4711"), "{message}");
}
