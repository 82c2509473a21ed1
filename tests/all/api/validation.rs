//! Integration validation: each refusal is a 400 `invalid_field` naming the field, with a
//! message that says what to enter instead. The help article's form fields are accepted as
//! written there.

use keyway_mock_provider::{ClientAuthRule, MockConfig};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Api, Backend, Options, both_backends, integration_body};

both_backends!(
    each_invalid_field_says_what_to_enter,
    the_articles_form_fields_are_accepted,
    a_duplicate_name_conflicts,
    patch_validates_the_whole_integration_again,
    use_body_auth_completes_a_flow_against_a_provider_that_demands_it,
);

/// POSTs the standard integration with `overrides`, expects 400 `invalid_field` on `field`,
/// and returns the message.
async fn refused(api: &Api, overrides: Value, field: &str) -> String {
    let reply = api.admin(Method::POST, "/api/v1/integrations", Some(integration_body(&api.mock, overrides))).await;
    let (code, got_field, message) = reply.error(400);
    assert_eq!(code, "invalid_field", "{message}");
    assert_eq!(got_field.as_deref(), Some(field), "{message}");
    message
}

async fn each_invalid_field_says_what_to_enter(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };

    let message =
        refused(&api, json!({"token_path": "https://yourapp.com/login/oauth/access_token"}), "token_path").await;
    assert!(
        message.contains("use `/login/oauth/access_token`, not `https://yourapp.com/login/oauth/access_token`"),
        "{message}"
    );
    let message = refused(&api, json!({"token_path": "yourapp.com/login/oauth/access_token"}), "token_path").await;
    assert!(message.contains("use `/login/oauth/access_token`"), "{message}");
    let message = refused(&api, json!({"revoke_path": "https://yourapp.com/oauth/revoke"}), "revoke_path").await;
    assert!(message.contains("use `/oauth/revoke`, not `https://yourapp.com/oauth/revoke`"), "{message}");

    let message = refused(&api, json!({"site": "https://yourapp.com/login/oauth"}), "site").await;
    assert!(message.contains("`https://yourapp.com`"), "{message}");
    let message = refused(&api, json!({"site": "yourapp.com"}), "site").await;
    assert!(message.contains("https://yourapp.com"), "{message}");

    let message = refused(&api, json!({"authorization_url": "/login/oauth/authorize"}), "authorization_url").await;
    assert!(message.contains("full URL"), "{message}");

    let message = refused(&api, json!({"plugin": "no-such-plugin"}), "plugin").await;
    assert!(message.contains("no-such-plugin") && message.contains("standard-oauth2"), "{message}");

    let message = refused(&api, json!({"client_secret": null}), "client_secret").await;
    assert!(message.contains("Client Secret"), "{message}");
    refused(&api, json!({"client_secret": ""}), "client_secret").await;

    let message = refused(&api, json!({"name": null}), "name").await;
    assert!(message.contains("name"), "{message}");
    refused(&api, json!({"name": "   "}), "name").await;

    let message = refused(&api, json!({"colour": "blue"}), "colour").await;
    assert!(message.contains("colour"), "{message}");

    let message = refused(&api, json!({"use_body_auth": true, "client_auth": "basic"}), "use_body_auth").await;
    assert!(message.contains("client_auth"), "{message}");

    // A body that is not JSON at all is a 400 too, not a 500.
    let reply = api
        .request(Method::POST, "/api/v1/integrations", Some(&api.admin_key.clone()), Some(json!("not an object")))
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);

    assert_eq!(api.get("/api/v1/integrations").await["items"], json!([]), "nothing was created");
}

async fn the_articles_form_fields_are_accepted(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    // Scopes one per line, blank lines ignored; "use body authentication".
    let created = api
        .create_integration(
            &api.mock,
            json!({"name": "form", "scopes": "repo\n\n read:user \n", "use_body_auth": true, "token_path": "oauth/token"}),
        )
        .await;
    assert_eq!(created["scopes"], json!(["repo", "read:user"]));
    assert_eq!(created["client_auth"], "basic_and_post");
    assert_eq!(created["token_path"], "/oauth/token", "a missing leading slash is added");
    assert_eq!(created["pkce"], true);
    assert_eq!(created["auth_method"], "oauth2");
    let created = api.create_integration(&api.mock, json!({"name": "list", "scopes": ["a", "", "b"]})).await;
    assert_eq!(created["scopes"], json!(["a", "b"]));
    assert_eq!(created["client_auth"], "basic", "the article's default");
    let created =
        api.create_integration(&api.mock, json!({"name": "slash", "site": format!("{}/", api.mock.base_url())})).await;
    assert_eq!(created["site"], api.mock.base_url(), "a trailing slash on the site is harmless");
}

async fn a_duplicate_name_conflicts(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let first = api.integration(json!({"name": "twice"})).await;
    let reply =
        api.admin(Method::POST, "/api/v1/integrations", Some(integration_body(&api.mock, json!({"name": "twice"}))));
    let (code, _, message) = reply.await.error(409);
    assert_eq!(code, "conflict");
    assert!(message.contains("twice"), "{message}");
    // Renaming another one onto it conflicts too.
    let other = api.integration(json!({"name": "other"})).await;
    let reply =
        api.admin(Method::PATCH, &format!("/api/v1/integrations/{other}"), Some(json!({"name": "twice"}))).await;
    reply.error(409);
    let items = api.get("/api/v1/integrations").await["items"].as_array().unwrap().len();
    assert_eq!(items, 2);
    assert_eq!(api.get(&format!("/api/v1/integrations/{first}")).await["name"], "twice");
}

async fn patch_validates_the_whole_integration_again(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let id = api.integration(json!({})).await;
    let path = format!("/api/v1/integrations/{id}");

    let reply = api.admin(Method::PATCH, &path, Some(json!({"token_path": "https://x.example/oauth/token"}))).await;
    let (code, field, message) = reply.error(400);
    assert_eq!((code.as_str(), field.as_deref()), ("invalid_field", Some("token_path")), "{message}");
    assert!(message.contains("use `/oauth/token`"), "{message}");
    let reply = api.admin(Method::PATCH, &path, Some(json!({"site": "https://x.example/api"}))).await;
    assert_eq!(reply.error(400).1.as_deref(), Some("site"));
    let reply = api.admin(Method::PATCH, &path, Some(json!({"client_secret": ""}))).await;
    assert_eq!(reply.error(400).1.as_deref(), Some("client_secret"), "removing the secret of an oauth2 integration");
    let reply = api.admin(Method::PATCH, &path, Some(json!({"plugin": "nope"}))).await;
    assert_eq!(reply.error(400).1.as_deref(), Some("plugin"));
    let reply = api.admin(Method::PATCH, &path, Some(json!({"bogus": 1}))).await;
    assert_eq!(reply.error(400).1.as_deref(), Some("bogus"));

    // Refused changes changed nothing; a valid one changes only what it names.
    let view = api.get(&path).await;
    assert_eq!(view["token_path"], "/oauth/token");
    assert_eq!(view["site"], api.mock.base_url());
    assert_eq!(view["has_client_secret"], true);
    let patched = api.admin(Method::PATCH, &path, Some(json!({"scopes": "x\ny\n"}))).await.expect(200);
    assert_eq!(patched["scopes"], json!(["x", "y"]));
    assert_eq!(patched["token_path"], "/oauth/token");
    assert_eq!(patched["has_client_secret"], true, "{patched}");
    assert!(patched.get("client_secret").is_none(), "{patched}");
    // The secret survives a PATCH that does not name it: a connection still completes.
    api.connect(&api.admin_key, &id).await;
}

async fn use_body_auth_completes_a_flow_against_a_provider_that_demands_it(backend: Backend) {
    let mock = MockConfig { client_auth: ClientAuthRule::BasicAndPost, ..MockConfig::default() };
    let Some(api) = Api::with(backend, Options { mock, ..Options::default() }).await else { return };
    let id = api.integration(json!({"use_body_auth": true})).await;
    let connection = api.connect(&api.admin_key, &id).await;
    let exchange = api.mock.requests_to(keyway_mock_provider::MockProvider::TOKEN_PATH).pop().unwrap();
    assert!(exchange.header("authorization").is_some_and(|a| a.starts_with("Basic ")));
    assert_eq!(exchange.form_param("client_id").as_deref(), Some("demo-client"));
    api.me(&connection).await;
}
