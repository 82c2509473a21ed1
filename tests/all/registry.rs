//! The plugin registry over the REST API: install, versions, hot reload, refusals that say
//! what is wrong, and removal only when unused. On both backends.

use keyway_tests::components::{GUEST_RENAME, GUEST_WRONG_WORLD, STANDARD_OAUTH2};
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Backend, both_backends};

both_backends!(
    an_installed_plugin_serves_new_integrations_without_a_restart,
    bad_uploads_get_a_4xx_that_says_what_is_wrong,
    versions_resolve_newest_first_and_pins_hold,
    a_plugin_in_use_cannot_be_removed,
);

/// POSTs raw component bytes.
async fn upload(api: &Api, bytes: &[u8]) -> (u16, Value) {
    let response = keyway_tests::http::client()
        .post(format!("{}/api/v1/plugins", api.base))
        .bearer_auth(&api.admin_key)
        .header("content-type", "application/wasm")
        .body(bytes.to_vec())
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    let text = response.text().await.expect("an answer");
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

/// The same component under another manifest version: the version string is the crate
/// version the SDK embeds, and a different one makes a different, valid build.
fn with_version(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut i = 0;
    let mut patched = 0;
    while let Some(pos) = out[i..].windows(from.len()).position(|w| w == from.as_bytes()) {
        let at = i + pos;
        // Interface names carry the API version after `@`; leave those alone.
        if at == 0 || out[at - 1] != b'@' {
            out[at..at + from.len()].copy_from_slice(to.as_bytes());
            patched += 1;
        }
        i = at + from.len();
    }
    assert!(patched > 0, "no version string to patch");
    out
}

async fn an_installed_plugin_serves_new_integrations_without_a_restart(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (status, installed) = upload(&api, GUEST_RENAME).await;
    assert_eq!(status, 201, "{installed}");
    assert_eq!(installed["name"], "guest-rename");
    assert_eq!(installed["api_version"], "0.1.0");
    assert_eq!(installed["builtin"], false);
    // Installing the same bytes again changes nothing.
    assert_eq!(upload(&api, GUEST_RENAME).await.0, 201);
    let listed = api.get("/api/v1/plugins").await;
    let names: Vec<&str> = listed["items"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["standard-oauth2", "guest-rename"]);

    let integration = api.integration(json!({"plugin": "guest-rename"})).await;
    let created = api
        .admin(Method::POST, &format!("/api/v1/integrations/{integration}/connections"), Some(json!({})))
        .await
        .expect(201);
    let authorize_url = created["authorize_url"].as_str().unwrap();
    assert!(authorize_url.contains("client_key="), "the installed plugin formats the request: {authorize_url}");
    assert!(!authorize_url.contains("client_id="), "{authorize_url}");
}

async fn bad_uploads_get_a_4xx_that_says_what_is_wrong(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (status, body) = upload(&api, b"MZ this is not wasm").await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("magic bytes"), "{body}");

    let (status, body) = upload(&api, GUEST_WRONG_WORLD).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("keyway:plugin/auth-flow@0.1.0"), "{body}");

    let future = crate::with_api_version(STANDARD_OAUTH2, "0.9.0");
    let (status, body) = upload(&api, &future).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("keyway:plugin@0.9.0"), "{body}");

    let (status, body) = upload(&api, STANDARD_OAUTH2).await;
    assert_eq!(status, 409, "the built-in name is taken: {body}");

    let (status, body) = upload(&api, b"").await;
    assert_eq!(status, 400, "{body}");
}

async fn versions_resolve_newest_first_and_pins_hold(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    assert_eq!(upload(&api, GUEST_RENAME).await.0, 201);
    let newer = with_version(GUEST_RENAME, "0.1.0", "0.2.0");
    let (status, body) = upload(&api, &newer).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["version"], "0.2.0");

    // A different (valid) build under an installed version is refused.
    let clash = with_version(&newer, "Test guest", "Test Guest");
    let (status, body) = upload(&api, &clash).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("bump the version"), "{body}");

    let pinned = api.integration(json!({"name": "pinned", "plugin": "guest-rename@0.1.0"})).await;
    let latest = api.integration(json!({"name": "latest", "plugin": "guest-rename"})).await;
    assert_eq!(api.get(&format!("/api/v1/integrations/{pinned}")).await["plugin"], "guest-rename@0.1.0");
    assert_eq!(api.get(&format!("/api/v1/integrations/{latest}")).await["plugin"], "guest-rename");

    let unknown = api
        .admin(
            Method::POST,
            "/api/v1/integrations",
            Some(crate::api::integration_body(&api.mock, json!({"name": "x", "plugin": "guest-rename@9.9.9"}))),
        )
        .await;
    let (code, field, message) = unknown.error(400);
    assert_eq!((code.as_str(), field.as_deref()), ("invalid_field", Some("plugin")));
    assert!(message.contains("guest-rename@9.9.9"), "{message}");

    // Removing 0.1.0 is refused while `pinned` uses it; moving `pinned` frees it.
    api.admin(Method::DELETE, "/api/v1/plugins/guest-rename@0.1.0", None).await.error(409);
    api.admin(Method::PATCH, &format!("/api/v1/integrations/{pinned}"), Some(json!({"plugin": "guest-rename@0.2.0"})))
        .await
        .expect(200);
    let reply = api.admin(Method::DELETE, "/api/v1/plugins/guest-rename@0.1.0", None).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    let listed = api.get("/api/v1/plugins").await;
    let versions: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "guest-rename")
        .filter_map(|p| p["version"].as_str())
        .collect();
    assert_eq!(versions, ["0.2.0"]);
}

async fn a_plugin_in_use_cannot_be_removed(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    assert_eq!(upload(&api, GUEST_RENAME).await.0, 201);
    let integration = api.integration(json!({"plugin": "guest-rename"})).await;
    let (_, _, message) = api.admin(Method::DELETE, "/api/v1/plugins/guest-rename@0.1.0", None).await.error(409);
    assert!(message.contains("Mock App") || message.contains("integrations"), "{message}");
    api.admin(Method::DELETE, "/api/v1/plugins/standard-oauth2@0.1.0", None).await.error(409);
    assert_eq!(api.admin(Method::DELETE, &format!("/api/v1/integrations/{integration}"), None).await.status, 204);
    assert_eq!(api.admin(Method::DELETE, "/api/v1/plugins/guest-rename@0.1.0", None).await.status, 204);
    api.admin(Method::DELETE, "/api/v1/plugins/guest-rename@0.1.0", None).await.error(404);
}

/// `keyway plugin install|list|remove` against a running server, and `inspect` offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_cli_installs_lists_inspects_and_removes() {
    use keyway::cli::plugin::{PluginArgs, PluginCommand};
    use keyway::cli::{ClientArgs, Command, run};

    let Some(api) = Api::start(Backend::Sqlite).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("guest_rename.wasm");
    std::fs::write(&file, GUEST_RENAME).unwrap();
    let client = || ClientArgs { url: api.base.clone(), api_key: Some(api.admin_key.as_str().into()) };
    let cli = |command| async move {
        let mut out = Vec::new();
        let result = run(Command::Plugin(PluginArgs { command }), &mut out).await;
        (result, String::from_utf8(out).unwrap())
    };

    let (result, out) = cli(PluginCommand::Install { client: client(), file: file.clone() }).await;
    result.unwrap();
    assert!(out.contains("installed guest-rename 0.1.0"), "{out}");
    let (result, out) = cli(PluginCommand::List { client: client() }).await;
    result.unwrap();
    assert!(out.contains("standard-oauth2") && out.contains("guest-rename"), "{out}");
    let (result, out) = cli(PluginCommand::Inspect { file: file.clone() }).await;
    result.unwrap();
    assert!(out.contains("\"name\": \"guest-rename\"") && out.contains("plugin API 0.1.0"), "{out}");
    let (result, _) = cli(PluginCommand::Remove { client: client(), spec: "guest-rename@0.1.0".into() }).await;
    result.unwrap();

    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"not wasm").unwrap();
    let (result, _) = cli(PluginCommand::Install { client: client(), file: garbage }).await;
    let message = format!("{:#}", result.unwrap_err());
    assert!(message.contains("magic bytes"), "the server's reason reaches the user: {message}");
}
