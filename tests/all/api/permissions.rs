//! Keys and permissions: every call needs a valid key; members cannot administer; a
//! connection is invisible (404, never 403) to a member who may not use it.

use reqwest::Method;
use serde_json::json;

use super::{Api, Backend, both_backends};

both_backends!(
    calls_need_a_valid_key,
    members_cannot_administer,
    a_members_connection_is_invisible_to_other_members_unless_allowed,
    revoked_keys_stop_working_and_the_last_admin_key_stays,
);

async fn calls_need_a_valid_key(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    for (method, path) in [
        (Method::GET, "/api/v1/integrations"),
        (Method::POST, "/api/v1/integrations"),
        (Method::GET, "/api/v1/connections"),
        (Method::GET, "/api/v1/connections/con_x"),
        (Method::POST, "/api/v1/connections/con_x/request"),
        (Method::GET, "/api/v1/keys"),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        let none = api.request(method.clone(), path, None, body.clone()).await;
        let (code, _, message) = none.error(401);
        assert_eq!(code, "unauthenticated", "{method} {path}");
        assert!(message.contains("Authorization: Bearer"), "{message}");
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        let bad = api.request(method.clone(), path, Some("kw_not-a-key"), body).await;
        assert_eq!(bad.error(401).0, "unauthenticated", "{method} {path}");
    }
    // A key sent another way is not a key.
    let reply = api.client.clone();
    let basic = reqwest::Client::new()
        .get(format!("{}/api/v1/integrations", reply.base))
        .basic_auth(&api.admin_key, None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
    // Unauthenticated endpoints stay open.
    assert_eq!(api.request(Method::GET, "/healthz", None, None).await.status, 200);
}

async fn members_cannot_administer(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let (_, member) = api.member_key("member").await;

    let reply = api
        .request(
            Method::POST,
            "/api/v1/integrations",
            Some(&member),
            Some(super::integration_body(&api.mock, json!({"name": "mine"}))),
        )
        .await;
    assert_eq!(reply.error(403).0, "forbidden");
    let path = format!("/api/v1/integrations/{integration}");
    api.request(Method::PATCH, &path, Some(&member), Some(json!({"scopes": ["all"]}))).await.error(403);
    api.request(Method::DELETE, &path, Some(&member), None).await.error(403);
    api.request(Method::POST, "/api/v1/keys", Some(&member), Some(json!({"role": "admin"}))).await.error(403);
    api.request(Method::GET, "/api/v1/keys", Some(&member), None).await.error(403);
    let admin_id = admin_key_id(&api).await;
    api.request(Method::DELETE, &format!("/api/v1/keys/{admin_id}"), Some(&member), None).await.error(403);

    // What a member may do: see integrations, and connect to them.
    let listed = api.request(Method::GET, "/api/v1/integrations", Some(&member), None).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("client_secret").is_none());
    let id = api.connect(&member, &integration).await;
    let answer = api.web(&member, &id, json!({"method": "GET", "path": "/api/me"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(api.get(&path).await["scopes"], json!(["read", "write"]), "the refused PATCH changed nothing");
}

async fn admin_key_id(api: &Api) -> String {
    let keys = api.get("/api/v1/keys").await;
    let admins: Vec<_> = keys["items"].as_array().unwrap().iter().filter(|k| k["role"] == "admin").collect();
    assert_eq!(admins.len(), 1, "{keys}");
    admins[0]["id"].as_str().unwrap().to_string()
}

async fn a_members_connection_is_invisible_to_other_members_unless_allowed(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let (_, alice) = api.member_key("alice").await;
    let (bob_id, bob) = api.member_key("bob").await;
    let private = api.connect(&alice, &integration).await;

    // Bob cannot see or use Alice's connection, and cannot tell it exists.
    let unknown = api.request(Method::GET, "/api/v1/connections/con_does_not_exist", Some(&bob), None).await;
    let (code, _, unknown_message) = unknown.error(404);
    assert_eq!(code, "not_found");
    let theirs = api.request(Method::GET, &format!("/api/v1/connections/{private}"), Some(&bob), None).await;
    let (code, _, message) = theirs.error(404);
    assert_eq!(code, "not_found");
    assert_eq!(message.replace(&private, "ID"), unknown_message.replace("con_does_not_exist", "ID"), "same answer");
    for (method, suffix, body) in [
        (Method::POST, "/request", Some(json!({"method": "GET", "path": "/api/me"}))),
        (Method::POST, "/refresh", None),
        (Method::POST, "/reconnect", None),
        (Method::DELETE, "", None),
    ] {
        let path = format!("/api/v1/connections/{private}{suffix}");
        let reply = api.request(method.clone(), &path, Some(&bob), body).await;
        assert_eq!(reply.error(404).0, "not_found", "{method} {path}");
    }
    let listed = api.request(Method::GET, "/api/v1/connections", Some(&bob), None).await.expect(200);
    assert_eq!(listed["items"], json!([]), "absent from Bob's list");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 0, "Bob's refresh did nothing");
    assert!(api.mock.requests_to("/oauth/revoke").is_empty(), "Bob's delete did nothing");

    // Alice shares a second connection with Bob.
    let (shared, authorize_url) =
        api.start_connection(&alice, &integration, json!({"name": "shared", "allowed_keys": [bob_id]})).await;
    let callback = api.authorize(&authorize_url).await;
    assert_eq!(api.callback(&callback).await.status, 200);
    let view = api.request(Method::GET, &format!("/api/v1/connections/{shared}"), Some(&bob), None).await.expect(200);
    assert_eq!(view["allowed_keys"], json!([bob_id]));
    let answer = api.web(&bob, &shared, json!({"method": "GET", "path": "/api/me"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    let listed = api.request(Method::GET, "/api/v1/connections", Some(&bob), None).await.expect(200);
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![shared.as_str()]);

    // Alice sees both; the admin sees all; an unknown key id cannot be allowed.
    let listed = api.request(Method::GET, "/api/v1/connections", Some(&alice), None).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let (_, carol) = api.member_key("carol").await;
    let carols = api.connect(&carol, &integration).await;
    let listed = api.get("/api/v1/connections").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "{listed}");
    api.get(&format!("/api/v1/connections/{carols}")).await;
    let reply = api
        .request(
            Method::POST,
            &format!("/api/v1/integrations/{integration}/connections"),
            Some(&alice),
            Some(json!({"allowed_keys": ["key_nobody"]})),
        )
        .await;
    assert_eq!(reply.error(400).1.as_deref(), Some("allowed_keys"));

    // Alice's own private connection still works for her.
    let answer = api.web(&alice, &private, json!({"method": "GET", "path": "/api/me"})).await.expect(200);
    assert_eq!(answer["status"], 200);
}

async fn revoked_keys_stop_working_and_the_last_admin_key_stays(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let admin_id = admin_key_id(&api).await;
    let (code, _, message) = api.admin(Method::DELETE, &format!("/api/v1/keys/{admin_id}"), None).await.error(409);
    assert_eq!(code, "conflict");
    assert!(message.contains("last"), "{message}");
    api.get("/api/v1/keys").await;

    let (member_id, member) = api.member_key("temp").await;
    api.request(Method::GET, "/api/v1/connections", Some(&member), None).await.expect(200);
    api.admin(Method::DELETE, &format!("/api/v1/keys/{member_id}"), None).await.expect(204);
    let (code, _, message) = api.request(Method::GET, "/api/v1/connections", Some(&member), None).await.error(401);
    assert_eq!(code, "unauthenticated");
    assert!(message.contains("revoked"), "{message}");
    let keys = api.get("/api/v1/keys").await;
    let listed = keys["items"].as_array().unwrap().iter().find(|k| k["id"] == member_id.as_str()).unwrap().clone();
    assert!(listed["revoked_at"].is_string(), "{listed}");
    assert!(!keys.to_string().contains(&member), "keys are never listed");
    api.admin(Method::DELETE, "/api/v1/keys/key_nobody", None).await.error(404);

    // With a second admin, the first can go, and the second carries on.
    let created =
        api.admin(Method::POST, "/api/v1/keys", Some(json!({"role": "admin", "name": "second"}))).await.expect(201);
    assert_eq!(created["role"], "admin");
    let second = created["key"].as_str().unwrap().to_string();
    api.admin(Method::DELETE, &format!("/api/v1/keys/{admin_id}"), None).await.expect(204);
    api.admin(Method::GET, "/api/v1/keys", None).await.error(401);
    let keys = api.request(Method::GET, "/api/v1/keys", Some(&second), None).await.expect(200);
    assert_eq!(keys["items"].as_array().unwrap().len(), 3);
    let second_id = created["id"].as_str().unwrap();
    api.request(Method::DELETE, &format!("/api/v1/keys/{second_id}"), Some(&second), None).await.error(409);
}
