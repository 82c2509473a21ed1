//! The CLI companions against a real `keyway serve` (in this process, on loopback, SQLite) and
//! the strict mock provider. Every command goes over HTTP, as a user's would.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyway::cli::connect::ConnectArgs;
use keyway::cli::integration::{IntegrationArgs, IntegrationCommand};
use keyway::cli::keys::{KeysArgs, KeysCommand, Role};
use keyway::cli::request::RequestArgs;
use keyway::cli::{ClientArgs, Command};
use keyway_mock_provider::MockProvider;

use crate::api::{Api, Backend};

/// A `Write` the test can read while a command is still running.
#[derive(Clone, Default)]
struct SharedOut(Arc<Mutex<Vec<u8>>>);

impl SharedOut {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn run(command: Command) -> (anyhow::Result<()>, String) {
    let mut out = SharedOut::default();
    let result = keyway::cli::run(command, &mut out).await;
    (result, out.text())
}

fn client(url: &str, key: &str) -> ClientArgs {
    ClientArgs { url: url.to_string(), api_key: Some(key.into()) }
}

fn connect_args(client: ClientArgs, integration: &str) -> ConnectArgs {
    ConnectArgs {
        client,
        integration: integration.to_string(),
        name: None,
        inputs: Vec::new(),
        username: None,
        password: None,
        token: None,
        allowed_keys: Vec::new(),
        timeout: Duration::from_secs(60),
        no_wait: false,
    }
}

fn request_args(client: ClientArgs, connection: &str, path: &str) -> RequestArgs {
    RequestArgs {
        client,
        connection: connection.to_string(),
        method: "get".to_string(),
        path: path.to_string(),
        query: Vec::new(),
        headers: Vec::new(),
        data: None,
        include: false,
        fail: true,
    }
}

/// Plays the user's browser: waits for `connect` to print the authorize URL, approves at the
/// provider, and follows the redirect to keyway's callback.
async fn browser(out: SharedOut) {
    let authorize_url = loop {
        let text = out.text();
        if let Some(url) = text.lines().map(str::trim).find(|l| l.starts_with("http")) {
            break url.to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let http = keyway_tests::http::client();
    let redirect = http.get(&authorize_url).send().await.expect("authorize request");
    assert_eq!(redirect.status().as_u16(), 302, "the provider answered {}", redirect.status());
    let callback = redirect.headers()["location"].to_str().unwrap().to_string();
    let page = http.get(&callback).send().await.expect("callback request");
    assert!(page.status().is_success(), "the callback answered {}: {}", page.status(), page.text().await.unwrap());
}

#[tokio::test]
async fn the_companions_drive_a_whole_connection_through_the_api() {
    let api = Api::start(Backend::Sqlite).await.expect("SQLite is always available");
    let (url, provider) = (api.client.base.clone(), &api.mock);
    let admin = client(&url, &api.client.admin_key);
    let config = provider.config();
    let dir = tempfile::tempdir().unwrap();

    // A token path with the domain gets the server's fix-it message, rendered as one line.
    let file = dir.path().join("mock-app.toml");
    let write_file = |token_path: &str| {
        let text = format!(
            "name = \"mock-app\"\nauth_method = \"oauth2\"\nclient_id = {:?}\nclient_secret = {:?}\nsite = {:?}\n\
             authorization_url = {:?}\ntoken_path = {token_path:?}\nrevoke_path = {:?}\n\
             scopes = \"\"\"\nread\n\nwrite\n\"\"\"\n",
            config.client_id,
            config.client_secret,
            provider.base_url(),
            provider.authorization_url(),
            MockProvider::REVOKE_PATH,
        );
        std::fs::write(&file, text).unwrap();
    };
    let create = || {
        Command::Integration(IntegrationArgs {
            client: admin.clone(),
            command: IntegrationCommand::Create { file: file.clone() },
        })
    };
    write_file(&provider.token_url());
    let (result, _) = run(create()).await;
    let message = result.unwrap_err().to_string();
    assert!(message.starts_with("invalid_field (token_path): "), "{message}");
    assert!(message.contains(&format!("use `{}`", MockProvider::TOKEN_PATH)), "{message}");

    write_file(MockProvider::TOKEN_PATH);
    let (result, printed) = run(create()).await;
    result.unwrap();
    assert!(printed.starts_with("created integration int_"), "{printed}");
    let (result, _) = run(create()).await;
    assert!(result.unwrap_err().to_string().starts_with("conflict: "), "a second `mock-app` is refused");

    let list = Command::Integration(IntegrationArgs { client: admin.clone(), command: IntegrationCommand::List });
    let (result, printed) = run(list).await;
    result.unwrap();
    assert!(printed.lines().any(|l| l.contains("mock-app") && l.contains("standard-oauth2")), "{printed}");

    // connect: print the URL, wait while the "browser" completes the flow, report `active`.
    let out = SharedOut::default();
    let mut connect_out = out.clone();
    let connect = keyway::cli::run(Command::Connect(connect_args(admin.clone(), "mock-app")), &mut connect_out);
    let (result, ()) = tokio::join!(connect, browser(out.clone()));
    let printed = out.text();
    result.unwrap_or_else(|e| panic!("connect failed: {e:#}\n{printed}"));
    assert!(printed.contains("Open this URL in your browser"), "{printed}");
    assert!(printed.contains(" is active"), "{printed}");

    // request, by the connection's name: the server attaches the token.
    let (result, printed) = run(Command::Request(request_args(admin.clone(), "mock-app", "/api/me"))).await;
    result.unwrap_or_else(|e| panic!("request failed: {e:#}\n{printed}"));
    assert!(printed.starts_with("HTTP 200\n"), "{printed}");
    assert!(printed.contains("\"name\": \"Mock User\""), "{printed}");

    // keys: create a member key, see it listed, revoke it by name, and it stops working.
    let create_key = KeysCommand::Create { role: Role::Member, name: Some("ci".into()) };
    let (result, printed) = run(Command::Keys(KeysArgs { client: admin.clone(), command: create_key })).await;
    result.unwrap();
    assert!(printed.contains("not shown again"), "{printed}");
    let member_key =
        printed.lines().map(str::trim).find(|l| l.starts_with("kw_")).expect("the key is printed").to_string();
    let (result, printed) = run(Command::Keys(KeysArgs { client: admin.clone(), command: KeysCommand::List })).await;
    result.unwrap();
    assert!(printed.lines().any(|l| l.contains(" ci ") && l.contains("member")), "{printed}");
    assert!(!printed.contains(&member_key), "a listed key never shows the key itself");

    // The member may not use the admin's connection: it is not even found by name.
    let (result, _) = run(Command::Request(request_args(client(&url, &member_key), "mock-app", "/api/me"))).await;
    assert!(result.unwrap_err().to_string().contains("no connection has the id or name `mock-app`"));

    let revoke = KeysCommand::Revoke { key: "ci".into() };
    let (result, printed) = run(Command::Keys(KeysArgs { client: admin.clone(), command: revoke })).await;
    result.unwrap();
    assert!(printed.starts_with("revoked key key_"), "{printed}");
    let (result, _) =
        run(Command::Keys(KeysArgs { client: client(&url, &member_key), command: KeysCommand::List })).await;
    let message = result.unwrap_err().to_string();
    assert!(message.contains("check KEYWAY_API_KEY or --api-key"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_commands_save_list_run_and_delete_a_declarative_action() {
    use keyway::cli::action::{ActionArgs, ActionCommand};

    let Some(api) = Api::start(Backend::Sqlite).await else { return };
    let integration = api.integration(serde_json::json!({"name": "cli-actions"})).await;
    let key = api.admin_key.clone();
    let connection = api.connect(&key, &integration).await;
    let c = || client(&api.base, &api.admin_key);
    let action = |command| Command::Action(ActionArgs { command });

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("greet.json");
    let definition = serde_json::json!({
        "name": "greet",
        "description": "Posts a greeting and reads it back",
        "input_schema": {"type": "object", "required": ["who"], "properties": {"who": {"type": "string"}, "loud": {}}},
        "steps": [
            {"name": "post", "method": "POST", "path": "/api/greetings", "body": {"text": "hello {{ input.who }}"}},
            {"name": "read", "method": "GET", "path": "{{ steps.post.body.path }}"}
        ],
        "output": {"text": "{{ steps.post.body.body.text }}"}
    });
    std::fs::write(&file, definition.to_string()).unwrap();

    let (result, out) = run(action(ActionCommand::Save { client: c(), integration: "cli-actions".into(), file })).await;
    result.unwrap();
    assert!(out.contains("saved action `greet`"), "{out}");

    let (result, out) =
        run(action(ActionCommand::List { client: c(), integration: "cli-actions".into(), json: false })).await;
    result.unwrap();
    let row = out.lines().find(|l| l.starts_with("greet")).unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("declarative") && row.contains("loud, who*"), "{out}");

    let run_greet = |input: &str| {
        action(ActionCommand::Run {
            client: c(),
            connection: connection.clone(),
            name: "greet".into(),
            input: input.into(),
        })
    };
    let (result, out) = run(run_greet(r#"{"who": "world"}"#)).await;
    result.unwrap();
    assert!(out.contains("POST /api/greetings -> 200 in "), "{out}");
    assert!(out.contains("GET /api/greetings -> 200 in "), "{out}");
    assert!(out.contains(r#""text": "hello world""#), "{out}");

    let (result, _) = run(run_greet("{}")).await;
    let error = result.unwrap_err().to_string();
    assert!(error.contains("\"who\" is a required property"), "the server's message reaches the user: {error}");
    let (result, _) = run(run_greet("not json")).await;
    assert!(result.unwrap_err().to_string().starts_with("--input is not JSON"));

    let (result, out) =
        run(action(ActionCommand::Delete { client: c(), integration: integration.clone(), name: "greet".into() }))
            .await;
    result.unwrap();
    assert!(out.contains("deleted action `greet`"), "{out}");
    let (result, out) =
        run(action(ActionCommand::List { client: c(), integration: integration.clone(), json: false })).await;
    result.unwrap();
    assert!(out.starts_with("no actions;"), "{out}");
}
