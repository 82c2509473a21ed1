//! `keyway connect <integration>`: start a connection, print the authorize URL, and wait for
//! the browser flow to land on the server's callback.

use keyway_store::ConnectionStatus;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use super::client::{ApiClient, ApiError, ClientArgs, Kind, Listed, SecretArg};
use super::integration::IntegrationSummary;
use crate::service::model::{ConnectionCreated, ConnectionView, List};

/// `keyway connect <integration> [--name N] [--input k=v ...]`
#[derive(clap::Args, Debug)]
pub struct ConnectArgs {
    /// The server and key.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The integration's id or unique name.
    pub integration: String,
    /// A name for the connection [default: the integration's name].
    #[arg(long)]
    pub name: Option<String>,
    /// A connection input the plugin asks for, e.g. `--input subdomain=acme`. Repeatable.
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = super::parse_key_value)]
    pub inputs: Vec<(String, String)>,
    /// For a `basic` integration: the user name (the password comes from --password).
    #[arg(long)]
    pub username: Option<String>,
    /// For a `basic` integration: the password. Prefer the environment variable: flags show
    /// up in the process list.
    #[arg(long, env = "KEYWAY_CONNECT_PASSWORD", hide_env_values = true)]
    pub password: Option<SecretArg>,
    /// For a `token` integration: the token. Prefer the environment variable.
    #[arg(long, env = "KEYWAY_CONNECT_TOKEN", hide_env_values = true)]
    pub token: Option<SecretArg>,
    /// Another API key (by id) that may use this connection. Repeatable.
    #[arg(long = "allow-key", value_name = "KEY_ID")]
    pub allowed_keys: Vec<String>,
    /// How long to wait for the browser flow, e.g. `10m`.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Print the authorize URL and return without waiting.
    #[arg(long)]
    pub no_wait: bool,
}

impl Listed for ConnectionView {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> Option<&str> {
        Some(&self.name)
    }
}

/// The body of `POST /api/v1/integrations/{id}/connections`.
fn connection_body(args: &ConnectArgs, default_name: &str) -> anyhow::Result<serde_json::Value> {
    let mut inputs = BTreeMap::new();
    for (key, value) in &args.inputs {
        if inputs.insert(key.as_str(), value.as_str()).is_some() {
            anyhow::bail!("--input `{key}` is given twice; keep one");
        }
    }
    let mut body = json!({ "name": args.name.as_deref().unwrap_or(default_name) });
    if !inputs.is_empty() {
        body["inputs"] = json!(inputs);
    }
    match (&args.username, &args.password, &args.token) {
        (None, None, None) => {}
        (Some(username), Some(password), None) => {
            body["credentials"] = json!({"username": username, "password": password.secret()});
        }
        (None, None, Some(token)) => body["credentials"] = json!({"token": token.secret()}),
        (_, _, Some(_)) => anyhow::bail!("pass either --token or --username with --password, not both"),
        (Some(_), None, None) => {
            anyhow::bail!("--username needs a password: set KEYWAY_CONNECT_PASSWORD or pass --password")
        }
        (None, Some(_), None) => anyhow::bail!("a password needs --username"),
    }
    if !args.allowed_keys.is_empty() {
        body["allowed_keys"] = json!(args.allowed_keys);
    }
    Ok(body)
}

/// Runs `keyway connect`.
pub async fn run(args: ConnectArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.client)?;
    let integration: IntegrationSummary = if Kind::Integration.looks_like_id(&args.integration) {
        client.get(&["integrations", &args.integration]).await?
    } else {
        let list: List<IntegrationSummary> = client.get(&["integrations"]).await?;
        super::client::pick_by_id_or_name(Kind::Integration, &args.integration, &list.items)?.clone()
    };
    let body = connection_body(&args, &integration.name)?;
    let created: ConnectionCreated = client.post(&["integrations", &integration.id, "connections"], &body).await?;

    let Some(authorize_url) =
        created.authorize_url.filter(|_| ConnectionStatus::parse(&created.status) == Some(ConnectionStatus::Pending))
    else {
        writeln!(out, "connection {} to {} is {}", created.id, integration.name, created.status)?;
        return Ok(());
    };
    writeln!(out, "Open this URL in your browser to connect {}:", integration.name)?;
    writeln!(out)?;
    writeln!(out, "  {authorize_url}")?;
    writeln!(out)?;
    if args.no_wait {
        writeln!(out, "connection {} is pending; `keyway connect` again to restart the flow", created.id)?;
        return Ok(());
    }
    write!(out, "waiting for the callback (up to {})", humantime::format_duration(args.timeout))?;
    out.flush()?;
    let result = wait_for_connection(&client, &created.id, Duration::from_secs(1), args.timeout, out).await;
    writeln!(out)?;
    let connection = result?;
    writeln!(out, "connection {} is {}", connection.id, connection.status)?;
    if let Some(expires_at) = &connection.expires_at {
        writeln!(out, "token expires at {expires_at}")?;
    }
    if let Some(scopes) = &connection.scopes {
        writeln!(out, "scopes: {}", json!(scopes))?;
    }
    Ok(())
}

/// Polls the connection every `interval` until it leaves `pending`, printing a dot per poll.
/// `active` is success; `failed`, `needs_reauth` and the timeout are errors carrying
/// `last_error`. A poll the network drops is retried; a refusal is final.
pub async fn wait_for_connection(
    client: &ApiClient,
    id: &str,
    interval: Duration,
    timeout: Duration,
    out: &mut impl Write,
) -> anyhow::Result<ConnectionView> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_seen: Option<ConnectionView> = None;
    let mut last_transport_error: Option<String> = None;
    loop {
        match client.get::<ConnectionView>(&["connections", id]).await {
            Ok(connection) => {
                let reason = connection.last_error.as_deref().unwrap_or("the server gave no reason");
                match ConnectionStatus::parse(&connection.status) {
                    Some(ConnectionStatus::Pending) => last_seen = Some(connection),
                    Some(ConnectionStatus::Active) => return Ok(connection),
                    Some(ConnectionStatus::Failed) => anyhow::bail!("connection {id} failed: {reason}"),
                    Some(ConnectionStatus::NeedsReauth) => {
                        anyhow::bail!("connection {id} needs to be authorized again: {reason}")
                    }
                    None => anyhow::bail!("connection {id} is {}: {reason}", connection.status),
                }
            }
            Err(ApiError::Unreachable { reason, .. }) => last_transport_error = Some(reason),
            Err(refused) => {
                return Err(refused).with_context(|| format!("cannot read the status of connection {id}"));
            }
        }
        if tokio::time::Instant::now() + interval > deadline {
            let mut message = format!(
                "connection {id} is still pending after {}: the browser flow did not reach the callback. \
                 Check that the app's redirect URI is this server's public URL plus `/oauth`, then run \
                 `keyway connect` again",
                humantime::format_duration(timeout)
            );
            if let Some(error) = last_seen.and_then(|c| c.last_error) {
                message.push_str(&format!("; last error: {error}"));
            }
            if let Some(error) = last_transport_error {
                message.push_str(&format!("; last poll failed: {error}"));
            }
            anyhow::bail!(message);
        }
        tokio::time::sleep(interval).await;
        write!(out, ".")?;
        out.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::client::tests::{client_for, stub_server};
    use axum::Router;
    use axum::extract::State;
    use axum::routing::get;
    use clap::Parser;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        connect: ConnectArgs,
    }

    fn parse(args: &[&str]) -> ConnectArgs {
        let argv = ["keyway", "--url", "http://127.0.0.1:1", "--api-key", "k"].iter().chain(args);
        Wrapper::try_parse_from(argv).unwrap().connect
    }

    #[test]
    fn the_body_carries_name_inputs_and_allowed_keys() {
        let args = parse(&["zendesk", "--input", "subdomain=acme", "--input", "region=eu", "--allow-key", "key_2"]);
        assert_eq!(
            connection_body(&args, "zendesk").unwrap(),
            json!({"name": "zendesk", "inputs": {"subdomain": "acme", "region": "eu"}, "allowed_keys": ["key_2"]})
        );
        let args = parse(&["zendesk", "--name", "support", "--input", "subdomain=a", "--input", "subdomain=b"]);
        assert_eq!(
            connection_body(&args, "zendesk").unwrap_err().to_string(),
            "--input `subdomain` is given twice; keep one"
        );
        let args = parse(&["zendesk", "--name", "support"]);
        assert_eq!(connection_body(&args, "zendesk").unwrap(), json!({"name": "support"}));
    }

    #[test]
    fn credentials_are_a_pair_or_a_token() {
        let mut args = parse(&["jira", "--username", "ann"]);
        args.password = Some("pw".into());
        assert_eq!(
            connection_body(&args, "jira").unwrap()["credentials"],
            json!({"username": "ann", "password": "pw"})
        );
        args.token = Some("t".into());
        assert!(connection_body(&args, "jira").is_err());
        let mut args = parse(&["jira"]);
        args.token = Some("t".into());
        assert_eq!(connection_body(&args, "jira").unwrap()["credentials"], json!({"token": "t"}));
        let mut args = parse(&["jira", "--username", "ann"]);
        args.password = None;
        let message = connection_body(&args, "jira").unwrap_err().to_string();
        assert!(message.contains("KEYWAY_CONNECT_PASSWORD"), "{message}");
        assert!(!format!("{:?}", parse(&["jira", "--password", "hunter2"])).contains("hunter2"));
    }

    /// `con_1` as the server shows it, with `status`, changed by `edit`.
    fn connection_json(status: &str, edit: impl FnOnce(&mut ConnectionView)) -> serde_json::Value {
        let mut view = ConnectionView {
            id: "con_1".into(),
            integration_id: "int_1".into(),
            name: "gh".into(),
            status: status.into(),
            scopes: None,
            expires_at: None,
            refresh_expires_at: None,
            metadata: BTreeMap::new(),
            inputs: BTreeMap::new(),
            last_error: None,
            next_retry_at: None,
            owner_key_id: "key_1".into(),
            allowed_keys: vec![],
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        };
        edit(&mut view);
        serde_json::to_value(view).unwrap()
    }

    /// A connection that answers `pending` `pending_polls` times, then `final_body`.
    async fn stub_connection(pending_polls: usize, final_body: serde_json::Value) -> (String, Arc<AtomicUsize>) {
        #[derive(Clone)]
        struct Stub {
            polls: Arc<AtomicUsize>,
            pending_polls: usize,
            final_body: serde_json::Value,
        }
        async fn connection(State(stub): State<Stub>) -> axum::Json<serde_json::Value> {
            let n = stub.polls.fetch_add(1, Ordering::SeqCst);
            if n < stub.pending_polls {
                axum::Json(connection_json("pending", |_| {}))
            } else {
                axum::Json(stub.final_body.clone())
            }
        }
        let polls = Arc::new(AtomicUsize::new(0));
        let stub = Stub { polls: polls.clone(), pending_polls, final_body };
        let router = Router::new().route("/api/v1/connections/con_1", get(connection)).with_state(stub);
        (stub_server(router).await, polls)
    }

    #[tokio::test]
    async fn waiting_ends_when_the_callback_activates_the_connection() {
        let active = connection_json("active", |c| {
            c.scopes = Some(vec!["repo".into()]);
            c.expires_at = Some("2030-01-01T00:00:00Z".into());
        });
        let (url, polls) = stub_connection(2, active).await;
        let mut out = Vec::new();
        let connection = wait_for_connection(
            &client_for(&url),
            "con_1",
            Duration::from_millis(5),
            Duration::from_secs(30),
            &mut out,
        )
        .await
        .unwrap();
        assert_eq!(connection.status, "active");
        assert_eq!(connection.expires_at.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(polls.load(Ordering::SeqCst), 3);
        assert_eq!(String::from_utf8(out).unwrap(), "..", "one progress dot per wait");
    }

    #[tokio::test]
    async fn a_failed_connection_is_an_error_with_its_last_error() {
        let failed = connection_json("failed", |c| {
            c.last_error = Some("the provider answered access_denied: the user declined".into());
        });
        let (url, _) = stub_connection(1, failed).await;
        let error = wait_for_connection(
            &client_for(&url),
            "con_1",
            Duration::from_millis(5),
            Duration::from_secs(30),
            &mut Vec::new(),
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "connection con_1 failed: the provider answered access_denied: the user declined"
        );
    }

    #[tokio::test]
    async fn waiting_gives_up_at_the_timeout_and_says_what_to_check() {
        let (url, polls) = stub_connection(usize::MAX, json!(null)).await;
        let error = wait_for_connection(
            &client_for(&url),
            "con_1",
            Duration::from_millis(5),
            Duration::from_millis(60),
            &mut Vec::new(),
        )
        .await
        .unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("connection con_1 is still pending after 60ms"), "{message}");
        assert!(message.contains("redirect URI"), "{message}");
        assert!(polls.load(Ordering::SeqCst) >= 2);
    }

    #[tokio::test]
    async fn a_refused_poll_stops_the_wait() {
        let (url, _) = stub_connection(0, json!(null)).await;
        let error = wait_for_connection(
            &client_for(&url),
            "con_404",
            Duration::from_millis(5),
            Duration::from_secs(30),
            &mut Vec::new(),
        )
        .await
        .unwrap_err();
        assert!(format!("{error:#}").starts_with("cannot read the status of connection con_404: unexpected answer"));
    }
}
