//! Keyway under test: an in-process server assembled from the library exactly as `keyway
//! serve` assembles it (settings, store, engine with its compiled-artifact cache, the router),
//! and [`Api`], the admin's REST client the rows set it up with.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::config::{ServeArgs, Settings};
use crate::crypto::MasterKey;
use crate::keys::ApiKey;
use crate::serve::{Bootstrap, assemble};
use crate::server::{AppState, app};

use super::upstream::UPSTREAM_TOKEN;

/// The admin's client of one Keyway server's REST API.
#[derive(Debug, Clone)]
pub struct Api {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The admin key.
    pub key: String,
    /// A pooled client that never follows redirects (the callback rows read `Location`).
    pub http: reqwest::Client,
}

impl Api {
    /// A client of the server at `base`.
    pub fn new(base: String, key: String) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
        Self { base, key, http }
    }

    /// Sends `body` as JSON to `path` with the admin key; the answer must have status `expect`.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> anyhow::Result<Value> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.with_context(|| format!("{method} {path}: reading the answer"))?;
        if status != expect {
            bail!("{method} {path} answered {status}, not {expect}: {}", keyway_policy::text::clip(&text, 300));
        }
        if text.is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON"))
        }
    }

    /// `DELETE` with the admin key.
    pub async fn delete(&self, path: &str, expect: u16) -> anyhow::Result<Value> {
        self.send(reqwest::Method::DELETE, path, None, expect).await
    }

    /// `POST` with the admin key.
    pub async fn post(&self, path: &str, body: Value, expect: u16) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body), expect).await
    }

    /// A `token` integration whose site is `site` and a connection on it holding
    /// [`UPSTREAM_TOKEN`]; returns the integration's id and the connection's.
    pub async fn token_connection(&self, name: &str, site: &str) -> anyhow::Result<(String, String)> {
        let integration =
            self.post("/api/v1/integrations", json!({"name": name, "auth_method": "token", "site": site}), 201).await?;
        let integration = id_of(&integration)?;
        let connection = self
            .post(
                &format!("/api/v1/integrations/{integration}/connections"),
                json!({"credentials": {"token": UPSTREAM_TOKEN}}),
                201,
            )
            .await?;
        Ok((integration, id_of(&connection)?))
    }

    /// Stores the declarative action `name` on `integration`: `paths.len()` GET calls, in order.
    pub async fn save_action(&self, integration: &str, name: &str, paths: &[&str]) -> anyhow::Result<()> {
        let steps: Vec<Value> = paths
            .iter()
            .enumerate()
            .map(|(i, path)| json!({"name": format!("s{i}"), "method": "GET", "path": path}))
            .collect();
        self.post(&format!("/api/v1/integrations/{integration}/actions"), json!({"name": name, "steps": steps}), 201)
            .await?;
        Ok(())
    }
}

/// The `id` of a created resource.
pub fn id_of(created: &Value) -> anyhow::Result<String> {
    created["id"].as_str().map(str::to_string).with_context(|| format!("no `id` in {created}"))
}

/// An in-process Keyway server; stops when dropped.
#[derive(Debug)]
pub struct KeywayServer {
    /// Its admin client.
    pub api: Api,
    /// The OAuth redirect URI it advertises.
    pub redirect_uri: String,
    task: JoinHandle<()>,
}

impl KeywayServer {
    /// Assembles a server on `database_url` (SQLite in `data_dir` when `None`), keeping
    /// compiled plugins in `data_dir/compiled` as `serve` does: servers sharing a data
    /// directory compile the built-in components once. Egress may reach 127.0.0.1 only,
    /// as an operator opens a local app with `--allow-network 127.0.0.1`.
    pub async fn start(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Self> {
        Self::start_replica(data_dir, database_url, MasterKey::generate(), ApiKey::generate()).await
    }

    /// [`KeywayServer::start`] with the master key and admin key given: servers started with
    /// the same keys on one database are replicas of one deployment.
    pub async fn start_replica(
        data_dir: &Path,
        database_url: Option<&str>,
        master_key: MasterKey,
        admin: ApiKey,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let settings = Settings::load(&ServeArgs {
            public_url: Some(base.clone()),
            data_dir: Some(data_dir.to_path_buf()),
            database_url: database_url.map(str::to_string),
            allowed_networks: vec!["127.0.0.1".into()],
            ..ServeArgs::default()
        })?;
        let bootstrap = Bootstrap { master_key: Some(master_key), admin_key: Some(admin.clone()) };
        let running = assemble(&settings, bootstrap).await?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app(AppState { service: running.service })).await {
                tracing::error!("the bench's Keyway server stopped: {e}");
            }
        });
        Ok(Self { api: Api::new(base, admin.secret().to_string()), redirect_uri: settings.redirect_uri(), task })
    }
}

impl Drop for KeywayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
