//! Connect links: a member makes a single-use URL, the account's owner opens it without an API
//! key and connects; replayed, forged and expired links are refused, and a link grants nothing
//! beyond its one connection.

use keyway_store::ConnectLinkRecord;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::{Api, Backend, Reply, both_backends};

both_backends!(
    a_connect_link_connects_an_account_for_its_owner_without_an_api_key,
    a_replayed_forged_or_expired_link_is_refused,
    a_link_grants_nothing_beyond_its_one_connection,
);

/// `GET` or `POST` on the link's page, as a browser does: no API key, no redirects followed.
async fn browse(api: &Api, method: Method, url: &str, form: &str) -> Reply {
    let path = url.strip_prefix(&api.base).unwrap_or(url);
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .request(method, format!("{}{path}", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .expect("the page answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Reply { status, headers, text }
}

async fn make_link(api: &Api, key: &str, integration: &str, body: Value) -> Reply {
    api.request(Method::POST, &format!("/api/v1/integrations/{integration}/connect-links"), Some(key), Some(body)).await
}

async fn a_connect_link_connects_an_account_for_its_owner_without_an_api_key(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({"name": "crm", "scopes": ["read", "write"]})).await;
    let (_, alice) = api.member_key("alice").await;
    let (bob_id, bob) = api.member_key("bob").await;
    let (_, carol) = api.member_key("carol").await;

    let created = make_link(
        &api,
        &alice,
        &integration,
        json!({"name": "alice-crm", "allowed_keys": [bob_id], "expires_in": 600}),
    )
    .await
    .expect(201);
    let url = created["url"].as_str().expect("the URL, once").to_string();
    assert!(url.starts_with(&format!("{}/connect/kwl_", api.base)), "{created}");
    assert_eq!(created["status"], "open", "{created}");
    let link = created["id"].as_str().unwrap().to_string();
    let token = url.rsplit('/').next().unwrap();
    let polled =
        api.request(Method::GET, &format!("/api/v1/connect-links/{link}"), Some(&alice), None).await.expect(200);
    assert!(!polled.to_string().contains(token), "the token is not shown again: {polled}");
    let stored = api.service.store().get_connect_link(&link).await.unwrap().expect("the stored link");
    assert_eq!(stored.token_hash, hex::encode(Sha256::digest(token.as_bytes())), "only the token's hash is stored");

    // The page names the app and its scopes, and opening it spends nothing.
    for _ in 0..2 {
        let shown = browse(&api, Method::GET, &url, "").await;
        assert_eq!(shown.status, 200, "{}", shown.text);
        assert!(shown.text.contains("Connect crm") && shown.text.contains("<code>write</code>"), "{}", shown.text);
        assert!(shown.text.contains("belong to <strong>alice</strong>"), "who will use the account: {}", shown.text);
        assert_eq!(shown.header("referrer-policy"), Some("no-referrer"));
    }
    let sent = browse(&api, Method::POST, &url, "").await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    let authorize_url = sent.header("location").expect("to the app's authorize page").to_string();
    assert!(authorize_url.starts_with(&api.mock.base_url()), "{authorize_url}");
    let callback = api.authorize(&authorize_url).await;
    let page = api.callback(&callback).await;
    assert!(page.status == 200 && page.text.contains("Connected"), "{}", page.text);

    let polled =
        api.request(Method::GET, &format!("/api/v1/connect-links/{link}"), Some(&alice), None).await.expect(200);
    assert_eq!(polled["status"], "used", "{polled}");
    let connection = polled["connection_id"].as_str().expect("the connection it made").to_string();
    let view =
        api.request(Method::GET, &format!("/api/v1/connections/{connection}"), Some(&alice), None).await.expect(200);
    assert_eq!((view["name"].as_str(), view["status"].as_str()), (Some("alice-crm"), Some("active")), "{view}");
    api.request(Method::GET, &format!("/api/v1/connections/{connection}"), Some(&bob), None).await.expect(200);
    let other = api.request(Method::GET, &format!("/api/v1/connections/{connection}"), Some(&carol), None).await;
    assert_eq!(other.status, 404, "a key the link did not allow cannot use it");
    let not_hers = api.request(Method::GET, &format!("/api/v1/connect-links/{link}"), Some(&carol), None).await;
    assert_eq!(not_hers.status, 404, "only its creator (or an admin) polls a link");
}

async fn a_replayed_forged_or_expired_link_is_refused(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let key = api.admin_key.clone();
    let url = make_link(&api, &key, &integration, json!({})).await.expect(201)["url"].as_str().unwrap().to_string();
    assert_eq!(browse(&api, Method::POST, &url, "").await.status, 303);

    for method in [Method::GET, Method::POST] {
        let replayed = browse(&api, method.clone(), &url, "").await;
        assert_eq!(replayed.status, 410, "{method} on a used link: {}", replayed.text);
        assert!(replayed.text.contains("already been used"), "{}", replayed.text);
    }
    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    for forged in [tampered, format!("{}/connect/kwl_forged", api.base)] {
        let refused = browse(&api, Method::POST, &forged, "").await;
        assert_eq!(refused.status, 404, "{forged}: {}", refused.text);
        assert!(refused.text.contains("not valid"), "{}", refused.text);
    }

    // A link past its expiry, as the clock would leave one.
    let token = "kwl_expired-test-token";
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let record = ConnectLinkRecord {
        id: "lnk_expired".into(),
        token_hash: hex::encode(Sha256::digest(token.as_bytes())),
        integration_id: integration.clone(),
        name: None,
        inputs: vec![],
        owner_key_id: api.get("/api/v1/keys").await["items"][0]["id"].as_str().unwrap().to_string(),
        allowed_keys: vec![],
        created_by: "key_test".into(),
        created_at: at - 120,
        expires_at: at - 60,
        used_at: None,
        connection_id: None,
    };
    api.service.store().insert_connect_link(&record).await.unwrap();
    let expired = browse(&api, Method::POST, &format!("{}/connect/{token}", api.base), "").await;
    assert_eq!(expired.status, 410, "{}", expired.text);
    assert!(expired.text.contains("expired"), "{}", expired.text);
    let connections = api.get("/api/v1/connections").await;
    assert_eq!(connections["items"].as_array().map(Vec::len), Some(1), "only the first use made a connection");
}

async fn a_link_grants_nothing_beyond_its_one_connection(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let (_, alice) = api.member_key("alice").await;
    let (bob_id, _) = api.member_key("bob").await;

    // A member makes links for herself only, and only for browser integrations.
    let refused = make_link(&api, &alice, &integration, json!({"owner_key_id": bob_id})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let site = api.mock.base_url();
    let tokens = api
        .admin(
            Method::POST,
            "/api/v1/integrations",
            Some(json!({"name": "tokens", "auth_method": "token", "site": site, "client_secret": null})),
        )
        .await
        .expect(201);
    let (_, _, message) = make_link(&api, &alice, tokens["id"].as_str().unwrap(), json!({})).await.error(400);
    assert!(message.contains("not in the browser"), "{message}");
    let (_, field, _) = make_link(&api, &alice, &integration, json!({"expires_in": 30})).await.error(400);
    assert_eq!(field.as_deref(), Some("expires_in"));

    let url = make_link(&api, &alice, &integration, json!({})).await.expect(201)["url"].as_str().unwrap().to_string();
    let token = url.rsplit('/').next().unwrap().to_string();
    let as_key = api.request(Method::GET, "/api/v1/connections", Some(&token), None).await;
    assert_eq!(as_key.status, 401, "the link's token is no API key");
    // An input the plugin does not declare is refused, and the link stays usable to correct.
    let smuggled = browse(&api, Method::POST, &url, "owner_key_id=key_x&tenant=evil").await;
    assert_eq!(smuggled.status, 400, "{}", smuggled.text);
    assert!(smuggled.text.contains("declares no input"), "{}", smuggled.text);
    assert_eq!(browse(&api, Method::POST, &url, "").await.status, 303, "still usable once corrected");
    let mine = api.request(Method::GET, "/api/v1/connections", Some(&alice), None).await.expect(200);
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one connection: {mine}");
    assert_eq!(items[0]["status"], "pending", "it waits for the app's consent, owned by alice: {mine}");
}
