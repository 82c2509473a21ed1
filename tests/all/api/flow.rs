//! The full oauth2 flow through the REST API: register, connect in the browser, call the
//! app's Web API, refresh, disconnect. Nothing secret comes back in any response.

use std::time::{Duration, SystemTime};

use keyway_mock_provider::{ClientAuthRule, MockConfig, MockProvider};
use reqwest::Method;
use serde_json::json;

use super::{Api, Backend, assert_no_secrets, both_backends, secrets};

both_backends!(
    full_oauth2_flow,
    web_requests_send_json_and_text_bodies_and_drop_the_callers_authorization,
    a_pending_connection_cannot_be_used_and_reconnect_keeps_the_old_tokens_until_done,
    a_failed_revocation_keeps_the_connection_unless_forced,
    an_integration_in_use_cannot_be_deleted,
);

async fn full_oauth2_flow(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };

    // Register: 201, the secret is stored but never shown.
    let created = api.create_integration(&api.mock, json!({})).await;
    assert_eq!(created["name"], "mock-app");
    assert_eq!(created["plugin"], "standard-oauth2");
    assert_eq!(created["has_client_secret"], true);
    assert!(created.get("client_secret").is_none(), "the secret came back: {created}");
    assert_eq!(created["scopes"], json!(["read", "write"]));
    let integration = created["id"].as_str().unwrap().to_string();
    let listed = api.get("/api/v1/integrations").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    // Connect: pending, with an authorize URL at the provider carrying our redirect URI.
    let (id, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({"name": "work"})).await;
    assert!(authorize_url.starts_with(&api.mock.authorization_url()), "{authorize_url}");
    let query: Vec<(String, String)> = url::Url::parse(&authorize_url).unwrap().query_pairs().into_owned().collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(param("redirect_uri"), Some(format!("{}/oauth", api.base).as_str()));
    assert_eq!(param("code_challenge_method"), Some("S256"));
    assert_eq!(api.get(&format!("/api/v1/connections/{id}")).await["status"], "pending");

    // The browser comes back: a success page that neither leaks through Referer nor caches.
    let callback = api.authorize(&authorize_url).await;
    let page = api.callback(&callback).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{:?}", page.headers);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.text.contains("work") && page.text.contains("mock-app"), "{}", page.text);

    // The connection is active, with the granted scopes and an RFC 3339 expiry an hour out.
    let view = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(view["status"], "active", "{view}");
    assert_eq!(view["integration_id"], integration.as_str());
    assert_eq!(view["name"], "work");
    assert_eq!(view["scopes"], json!(["read", "write"]));
    assert!(view["last_error"].is_null(), "{view}");
    let expires_at = view["expires_at"].as_str().expect("expires_at");
    let expires_at = humantime::parse_rfc3339(expires_at).unwrap_or_else(|e| panic!("`{expires_at}`: {e}"));
    let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
    let skew = expires_at.duration_since(in_an_hour).or_else(|_| in_an_hour.duration_since(expires_at)).unwrap();
    assert!(skew < Duration::from_secs(120), "expires_at is {skew:?} away from an hour from now");
    let connections = api.get("/api/v1/connections").await;
    assert_eq!(connections["items"].as_array().unwrap().len(), 1, "{connections}");

    // A Web API request through the connection: the upstream's answer, wrapped.
    let answer = api.web(&api.admin_key, &id, json!({"method": "GET", "path": "/api/me"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["id"], "mock-user", "the body is parsed JSON: {answer}");
    let headers = answer["headers"].as_object().expect("headers object");
    assert!(headers.keys().all(|k| *k == k.to_ascii_lowercase()), "header names are lowercase: {headers:?}");
    assert!(headers.get("content-type").is_some_and(|c| c.as_str().unwrap().contains("json")), "{headers:?}");
    let sent = api.mock.requests_to("/api/me");
    assert_eq!(sent.len(), 1);
    let bearer = sent[0].header("authorization").expect("the host attached the token").to_string();
    assert!(bearer.starts_with("Bearer mock-at-"), "{bearer}");

    // Refresh on demand: one refresh at the provider, a new access token in use afterwards.
    let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
    assert_eq!(refreshed["status"], "active", "{refreshed}");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 1);
    let refresh_token = api.mock.requests_to(MockProvider::TOKEN_PATH)
        [api.mock.requests_to(MockProvider::TOKEN_PATH).len() - 1]
        .form_param("refresh_token")
        .expect("the refresh sent the refresh token");
    api.me(&id).await;
    let sent = api.mock.requests_to("/api/me");
    let new_bearer = sent.last().unwrap().header("authorization").unwrap();
    assert_ne!(new_bearer, bearer, "the refreshed access token is used");

    // Disconnect: the refresh token is revoked at the provider, then the connection is gone.
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
    let revokes = api.mock.requests_to(MockProvider::REVOKE_PATH);
    assert_eq!(revokes.len(), 1, "one revocation");
    assert_eq!(revokes[0].form_param("token").as_deref(), Some(refresh_token.as_str()));
    assert!(api.mock.is_revoked(&refresh_token));
    let (code, _, _) = api.admin(Method::GET, &format!("/api/v1/connections/{id}"), None).await.error(404);
    assert_eq!(code, "not_found");
    assert_eq!(api.get("/api/v1/connections").await["items"], json!([]));

    // Not one response of the whole flow carried a secret.
    let exchanges = api.exchanges();
    let secrets = secrets(&api.mock, &[&api.admin_key]);
    assert!(secrets.iter().any(|s| s.len() > 40), "the verifier is among the secrets searched for");
    assert_no_secrets(exchanges.iter().map(|e| (e.request.as_str(), e.body.as_str())), &secrets);
}

async fn web_requests_send_json_and_text_bodies_and_drop_the_callers_authorization(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;

    // A JSON body is sent as JSON.
    let answer = api
        .web(
            &api.admin_key,
            &id,
            json!({"method": "post", "path": "/api/items", "query": {"q": "a b"}, "body": {"title": "x", "n": 1}}),
        )
        .await
        .expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["method"], "POST");
    assert_eq!(answer["body"]["query"], json!({"q": "a b"}));
    assert_eq!(answer["body"]["body"], json!({"title": "x", "n": 1}), "the app got JSON: {answer}");
    let sent = api.mock.requests_to("/api/items");
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&sent[0].body).unwrap(), json!({"title": "x", "n": 1}));

    // A string body is sent as text.
    let answer =
        api.web(&api.admin_key, &id, json!({"method": "PUT", "path": "/api/notes", "body": "hello {not json}"})).await;
    let answer = answer.expect(200);
    assert_eq!(answer["body"]["body"], "hello {not json}", "{answer}");
    let sent = api.mock.requests_to("/api/notes");
    assert!(sent[0].header("content-type").is_some_and(|c| c.starts_with("text/plain")), "{:?}", sent[0].headers);
    assert_eq!(sent[0].body_text(), "hello {not json}");

    // The caller's Authorization header is dropped: the app sees only the connection's token.
    let answer = api
        .web(
            &api.admin_key,
            &id,
            json!({"method": "GET", "path": "/api/whoami", "headers": {"Authorization": "Bearer stolen", "X-Trace": "t1"}}),
        )
        .await
        .expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    let sent = api.mock.requests_to("/api/whoami");
    let authorizations: Vec<&str> = sent[0]
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(authorizations.len(), 1, "{authorizations:?}");
    assert!(authorizations[0].starts_with("Bearer mock-at-"), "{authorizations:?}");
    assert_eq!(sent[0].header("x-trace"), Some("t1"), "other caller headers pass through");

    // An absolute URL outside the allowlist is refused before anything is sent.
    let reply = api.web(&api.admin_key, &id, json!({"method": "GET", "path": "http://127.0.0.2:9/elsewhere"})).await;
    assert!(matches!(reply.status, 400 | 502), "a host outside the allowlist is refused: {}", reply.text);
    let (_, _, message) = reply.error(reply.status);
    assert!(message.contains("127.0.0.2"), "the refusal names the host: {message}");
    // An absolute URL within it is fine.
    let answer = api
        .web(&api.admin_key, &id, json!({"method": "GET", "path": format!("{}/api/absolute", api.mock.base_url())}))
        .await
        .expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["path"], "/api/absolute");
    // Not a method: a field error.
    let reply = api.web(&api.admin_key, &id, json!({"method": "GET /x", "path": "/api/me"})).await;
    assert_eq!(reply.error(400).1.as_deref(), Some("method"));
}

async fn a_pending_connection_cannot_be_used_and_reconnect_keeps_the_old_tokens_until_done(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let (pending, _) = api.start_connection(&api.admin_key, &integration, json!({})).await;
    let reply = api.web(&api.admin_key, &pending, json!({"method": "GET", "path": "/api/me"})).await;
    let (code, _, message) = reply.error(409);
    assert_eq!(code, "conflict");
    assert!(message.contains("browser authorization"), "{message}");

    let id = api.connect(&api.admin_key, &integration).await;
    let first_token = {
        api.me(&id).await;
        api.mock.requests_to("/api/me").last().unwrap().header("authorization").unwrap().to_string()
    };
    let again = api.admin(Method::POST, &format!("/api/v1/connections/{id}/reconnect"), None).await.expect(200);
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["status"], "active", "still usable while the user re-authorizes: {again}");
    api.me(&id).await;
    assert_eq!(api.mock.requests_to("/api/me").last().unwrap().header("authorization"), Some(first_token.as_str()));
    let callback = api.authorize(again["authorize_url"].as_str().unwrap()).await;
    assert_eq!(api.callback(&callback).await.status, 200);
    api.me(&id).await;
    let now_used = api.mock.requests_to("/api/me").last().unwrap().header("authorization").unwrap().to_string();
    assert_ne!(now_used, first_token, "the new authorization's token is used");
    assert_eq!(api.get("/api/v1/connections").await["items"].as_array().unwrap().len(), 2);
    let exchanges = api.exchanges();
    assert_no_secrets(exchanges.iter().map(|e| (e.request.as_str(), e.body.as_str())), &secrets(&api.mock, &[]));
}

async fn a_failed_revocation_keeps_the_connection_unless_forced(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;
    // The provider now refuses the client's authentication at the revoke endpoint.
    api.mock.set_config(MockConfig { client_auth: ClientAuthRule::Post, ..MockConfig::default() });

    let reply = api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await;
    let (code, _, message) = reply.error(502);
    assert_eq!(code, "upstream_error");
    assert!(message.contains("force=true"), "the message says how to delete anyway: {message}");
    assert_eq!(api.get(&format!("/api/v1/connections/{id}")).await["status"], "active", "still there");

    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}?force=true"), None).await.expect(204);
    api.admin(Method::GET, &format!("/api/v1/connections/{id}"), None).await.error(404);
    assert_eq!(api.mock.requests_to(MockProvider::REVOKE_PATH).len(), 2, "the forced delete tried to revoke too");

    // Deleting a pending connection has nothing to revoke.
    let (pending, _) = api.start_connection(&api.admin_key, &integration, json!({})).await;
    api.admin(Method::DELETE, &format!("/api/v1/connections/{pending}"), None).await.expect(204);
    assert_eq!(api.mock.requests_to(MockProvider::REVOKE_PATH).len(), 2);

    // An integration can be deleted once no connection uses it.
    api.admin(Method::DELETE, &format!("/api/v1/integrations/{integration}"), None).await.expect(204);
    api.admin(Method::GET, &format!("/api/v1/integrations/{integration}"), None).await.error(404);
}

async fn an_integration_in_use_cannot_be_deleted(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;
    let (code, _, message) =
        api.admin(Method::DELETE, &format!("/api/v1/integrations/{integration}"), None).await.error(409);
    assert_eq!(code, "conflict", "{message}");
    api.me(&id).await;
    api.admin(Method::DELETE, "/api/v1/integrations/int_nope", None).await.error(404);
    let path = "/api/v1/integrations/int_nope/connections";
    api.admin(Method::POST, path, Some(json!({}))).await.error(404);
}
