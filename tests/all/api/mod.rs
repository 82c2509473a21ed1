//! The REST API end to end, as its users drive it: `keyway serve` on a real loopback socket
//! (in this process, or the real binary for restarts and replicas), the strict mock provider
//! as the app, and a browser played with a client that never follows redirects.
//!
//! Every check is an `async fn check(backend: Backend)` run twice by [`both_backends!`]: on
//! SQLite in a temporary directory, and on a fresh PostgreSQL database
//! ([`keyway_tests::postgres`], which fails under `CI=true` when there is none, and otherwise
//! skips saying why).

mod credentials;
mod docs;
mod egress;
mod flow;
mod permissions;
mod processes;
mod refresh;
mod state;
mod validation;

use std::fmt::Write as _;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use keyway::config::{ServeArgs, Settings};
use keyway::crypto::MasterKey;
use keyway::keys::ApiKey;
use keyway::serve::Bootstrap;
use keyway::server::{AppState, app};
use keyway_mock_provider::{MockConfig, MockProvider};
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

/// Generates one `#[tokio::test]` per backend for each named check: `<module>::sqlite::<check>`
/// and `<module>::postgres::<check>`.
macro_rules! both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check($crate::api::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check($crate::api::Backend::Postgres).await
                }
            )*
        }
    };
}
pub(crate) use both_backends;

/// Where the service keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL.
    Postgres,
}

/// A test's storage; dropping it removes it.
pub struct Database {
    /// The `--database-url`.
    pub url: String,
    /// A private directory: the SQLite file, the master key file, process logs.
    pub dir: TempDir,
    _postgres: Option<keyway_tests::postgres::TestDatabase>,
}

impl Backend {
    /// Fresh storage, or `None` when PostgreSQL is unavailable outside CI (the reason is printed).
    pub async fn database(self) -> Option<Database> {
        let dir = tempfile::tempdir().expect("temp dir");
        match self {
            Backend::Sqlite => {
                let url = format!("sqlite:{}", dir.path().join("keyway.db").display());
                Some(Database { url, dir, _postgres: None })
            }
            Backend::Postgres => {
                let db = keyway_tests::postgres::test_database().await?;
                Some(Database { url: db.url.clone(), dir, _postgres: Some(db) })
            }
        }
    }
}

/// What a test needs different from the defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// The provider's rules.
    pub mock: MockConfig,
    /// `state_ttl`.
    pub state_ttl: Duration,
    /// `refresh_margin`.
    pub refresh_margin: Duration,
    /// The operator's `resolve` rules (`HOST=IP`).
    pub resolve: Vec<String>,
    /// The operator's `insecure_http_hosts`.
    pub insecure_http_hosts: Vec<String>,
    /// The operator's `allowed_networks`: the mock's address unless a test says otherwise.
    pub allowed_networks: Vec<String>,
    /// `action_max_calls` and `action_deadline`.
    pub actions: keyway::actions::ActionLimits,
    /// The `[limits]` table: quotas, caps and budgets of plugin calls.
    pub limits: keyway::engine::Limits,
    /// `console_session_ttl`.
    pub console_session_ttl: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mock: MockConfig::default(),
            state_ttl: Duration::from_secs(600),
            refresh_margin: Duration::from_secs(300),
            resolve: Vec::new(),
            insecure_http_hosts: Vec::new(),
            allowed_networks: keyway_tests::allow_network_args(&[keyway_tests::MOCK_IP]),
            actions: keyway::actions::ActionLimits::default(),
            limits: keyway::engine::Limits::default(),
            console_session_ttl: keyway::config::DEFAULT_CONSOLE_SESSION_TTL,
        }
    }
}

/// One HTTP exchange with Keyway, kept so tests can search every response for secrets.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `POST /api/v1/keys`.
    pub request: String,
    /// The response body.
    pub body: String,
}

/// An answer from Keyway.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub text: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The JSON body, after checking the status.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "expected HTTP {status}, got {}: {}", self.status, self.text);
        if self.text.is_empty() { Value::Null } else { self.json() }
    }

    /// A 4xx/5xx error body's `(code, field, message)`, after checking the status.
    #[track_caller]
    pub fn error(&self, status: u16) -> (String, Option<String>, String) {
        let body = self.expect(status);
        let error = &body["error"];
        let code = error["code"].as_str().unwrap_or_else(|| panic!("no error.code in {body}")).to_string();
        let message = error["message"].as_str().unwrap_or_else(|| panic!("no error.message in {body}")).to_string();
        (code, error["field"].as_str().map(String::from), message)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client of one Keyway base URL, acting as the admin unless told otherwise. Clones share
/// the record of exchanges.
#[derive(Clone)]
pub struct Client {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The bootstrap admin key.
    pub admin_key: String,
    http: reqwest::Client,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl Client {
    /// A client of `base`.
    pub fn new(base: &str, admin_key: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            admin_key: admin_key.to_string(),
            http: keyway_tests::http::client(),
            exchanges: Arc::default(),
        }
    }

    /// The same key and record, another base URL (another replica).
    pub fn on(&self, base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_string(), ..self.clone() }
    }

    /// Sends `method path` with `key` as bearer (none when `None`) and `body` as JSON.
    pub async fn request(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        self.exchanges.lock().unwrap().push(Exchange {
            request: format!("{method} {}", path.split('?').next().unwrap_or(path)),
            body: text.clone(),
        });
        Reply { status, headers, text }
    }

    /// `request` as the admin.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.request(method, path, Some(&self.admin_key.clone()), body).await
    }

    /// `GET path` as the admin, expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        self.admin(Method::GET, path, None).await.expect(200)
    }

    /// Every exchange so far, on every clone.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().unwrap().clone()
    }

    /// An integration of the standard plugin for `mock`, with `overrides` merged in; expects 201.
    pub async fn create_integration(&self, mock: &MockProvider, overrides: Value) -> Value {
        self.admin(Method::POST, "/api/v1/integrations", Some(integration_body(mock, overrides))).await.expect(201)
    }

    /// A new member key: `(id, key)`.
    pub async fn member_key(&self, name: &str) -> (String, String) {
        let created =
            self.admin(Method::POST, "/api/v1/keys", Some(json!({"role": "member", "name": name}))).await.expect(201);
        (created["id"].as_str().unwrap().to_string(), created["key"].as_str().unwrap().to_string())
    }

    /// Creates an oauth2 connection as `key`: `(id, authorize_url)`; checks it is pending.
    pub async fn start_connection(&self, key: &str, integration_id: &str, body: Value) -> (String, String) {
        let path = format!("/api/v1/integrations/{integration_id}/connections");
        let created = self.request(Method::POST, &path, Some(key), Some(body)).await.expect(201);
        assert_eq!(created["status"], "pending", "{created}");
        let id = created["id"].as_str().expect("connection id").to_string();
        let url = created["authorize_url"].as_str().expect("an oauth2 connection has an authorize_url").to_string();
        (id, url)
    }

    /// Plays the browser at the provider: GETs the authorize URL and returns where the provider
    /// sends the user back, which must be this server's redirect URI.
    pub async fn authorize(&self, authorize_url: &str) -> String {
        let response = self.http.get(authorize_url).send().await.expect("authorize request");
        assert_eq!(response.status().as_u16(), 302, "the provider answered {}", response.status());
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(&format!("{}/oauth?", self.base)), "redirected to {location}, not {}", self.base);
        location
    }

    /// The browser arrives at the redirect URI: `callback` is a full URL whose path and query
    /// are sent to this client's base (so a flow can finish on another replica).
    pub async fn callback(&self, callback: &str) -> Reply {
        let url = url::Url::parse(callback).expect("callback URL");
        let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        self.request(Method::GET, &path, None, None).await
    }

    /// Starts a connection as `key`, authorizes at the provider and completes the callback;
    /// checks the success page and that the connection is active. Returns its id.
    pub async fn connect(&self, key: &str, integration_id: &str) -> String {
        let (id, authorize_url) = self.start_connection(key, integration_id, json!({"name": "mine"})).await;
        let callback = self.authorize(&authorize_url).await;
        let page = self.callback(&callback).await;
        assert_eq!(page.status, 200, "callback page: {}", page.text);
        assert!(page.text.contains("Connected"), "{}", page.text);
        let view = self.request(Method::GET, &format!("/api/v1/connections/{id}"), Some(key), None).await.expect(200);
        assert_eq!(view["status"], "active", "{view}");
        id
    }

    /// `POST /api/v1/connections/{id}/request` as `key`.
    pub async fn web(&self, key: &str, connection: &str, body: Value) -> Reply {
        self.request(Method::POST, &format!("/api/v1/connections/{connection}/request"), Some(key), Some(body)).await
    }

    /// `GET /api/me` through the connection as the admin; expects the wrapper 200 and the
    /// upstream 200.
    pub async fn me(&self, connection: &str) -> Value {
        let key = self.admin_key.clone();
        let answer = self.web(&key, connection, json!({"method": "GET", "path": "/api/me"})).await.expect(200);
        assert_eq!(answer["status"], 200, "the upstream answered {answer}");
        answer
    }

    /// Waits until `/healthz` answers 200.
    pub async fn wait_healthy(&self, mut alive: impl FnMut() -> Result<(), String>) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let url = format!("{}/healthz", self.base);
            if self.http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if let Err(why) = alive() {
                panic!("keyway at {} stopped before it was healthy: {why}", self.base);
            }
            assert!(Instant::now() < deadline, "keyway at {} was not healthy within 120 s", self.base);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The standard integration for the mock, with `overrides` merged in (a `null` removes a field).
pub fn integration_body(mock: &MockProvider, overrides: Value) -> Value {
    let config = mock.config();
    let mut body = json!({
        "name": "mock-app",
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "site": mock.base_url(),
        "authorization_url": mock.authorization_url(),
        "token_path": MockProvider::TOKEN_PATH,
        "revoke_path": MockProvider::REVOKE_PATH,
        "scopes": ["read", "write"],
    });
    for (k, v) in overrides.as_object().expect("overrides are an object") {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

/// `keyway serve` in this process, on a loopback port, with its own mock provider.
pub struct Api {
    /// The client, as the admin.
    pub client: Client,
    /// The provider the integrations point at.
    pub mock: MockProvider,
    /// The service behind the server, for what only happens at start (the admin key).
    pub service: Arc<keyway::service::Service>,
    server: tokio::task::JoinHandle<()>,
    db: Database,
}

impl Deref for Api {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Api {
    /// A server with the default options, or `None` when the backend is unavailable.
    pub async fn start(backend: Backend) -> Option<Api> {
        Self::with(backend, Options::default()).await
    }

    /// A server with `options`.
    pub async fn with(backend: Backend, options: Options) -> Option<Api> {
        let db = backend.database().await?;
        let mock = MockProvider::start(options.mock.clone()).await.expect("mock provider starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let args = ServeArgs {
            listen: Some(addr),
            public_url: Some(base.clone()),
            data_dir: Some(db.dir.path().to_path_buf()),
            database_url: Some(db.url.clone()),
            resolve: options.resolve.clone(),
            insecure_http_hosts: options.insecure_http_hosts.clone(),
            allowed_networks: options.allowed_networks.clone(),
            ..ServeArgs::default()
        };
        let mut settings = Settings::load(&args).expect("settings");
        settings.state_ttl = options.state_ttl;
        settings.refresh_margin = options.refresh_margin;
        settings.actions = options.actions.clone();
        settings.limits = options.limits.clone();
        settings.console_session_ttl = options.console_session_ttl;
        assert_eq!(settings.redirect_uri(), format!("{base}/oauth"));
        let admin_key = ApiKey::generate();
        let bootstrap = Bootstrap { master_key: Some(MasterKey::generate()), admin_key: Some(admin_key.clone()) };
        let running = keyway::serve::assemble(&settings, bootstrap).await.expect("the service assembles");
        assert!(running.new_admin_key.is_none(), "KEYWAY_ADMIN_KEY's key is used, not a new one");
        let service = running.service.clone();
        let router = app(AppState { service: running.service });
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serving");
        });
        let client = Client::new(&base, admin_key.secret());
        Some(Api { client, mock, service, server, db })
    }

    /// The server's `--database-url`, for a test that changes a row behind the service's back.
    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    /// The standard integration for this server's mock, with `overrides`; returns its id.
    pub async fn integration(&self, overrides: Value) -> String {
        let created = self.client.create_integration(&self.mock, overrides).await;
        created["id"].as_str().expect("integration id").to_string()
    }
}

/// Values that must never appear in a response or a log line: the client secret in every
/// form it travels in, the API keys, the PKCE verifiers, and anything with the mock's token
/// and code prefixes.
pub fn secrets(mock: &MockProvider, api_keys: &[&str]) -> Vec<String> {
    let config = mock.config();
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(&config.client_id),
        encode(&config.client_secret)
    ));
    let mut secrets =
        vec![config.client_secret.clone(), encode(&config.client_secret), basic, "mock-at-".into(), "mock-rt-".into()];
    secrets.push("mock-code-".into());
    secrets.extend(api_keys.iter().map(|k| k.to_string()));
    for request in mock.requests_to(MockProvider::TOKEN_PATH) {
        secrets.extend(request.form_param("code_verifier"));
    }
    secrets.retain(|s| !s.is_empty());
    secrets
}

/// Panics naming every secret found in `texts` (`(where, text)` pairs).
#[track_caller]
pub fn assert_no_secrets<'a>(texts: impl IntoIterator<Item = (&'a str, &'a str)>, secrets: &[String]) {
    let mut found = String::new();
    for (place, text) in texts {
        for secret in secrets {
            if let Some(at) = text.find(secret.as_str()) {
                let start = text[..at].char_indices().rev().nth(80).map_or(0, |(i, _)| i);
                let end = (at + secret.len() + 40).min(text.len());
                let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
                let _ = writeln!(
                    found,
                    "- a secret ({}…) in {place}: …{}…",
                    &secret[..secret.len().min(12)],
                    &text[start..end]
                );
            }
        }
    }
    assert!(found.is_empty(), "secrets leaked:\n{found}");
}

/// `target/debug/keyway`, next to this test binary's `deps` directory.
pub fn keyway_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target/debug/deps/..");
    let binary = dir.join(format!("keyway{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.is_file(), "{} is missing: build it first: cargo build -p keyway", binary.display());
    binary
}

/// A free port on 127.0.0.1, a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// How to start a `keyway serve` process.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--database-url`, for PostgreSQL.
    pub database_url: Option<String>,
    /// `KEYWAY_MASTER_KEY` (base64), required with PostgreSQL.
    pub master_key: Option<String>,
    /// `KEYWAY_ADMIN_KEY`.
    pub admin_key: String,
    /// `--public-url`; default: its own address.
    pub public_url: Option<String>,
    /// `--refresh-margin`.
    pub refresh_margin: Option<String>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<String>,
    /// `--log-format`; default: text.
    pub log_format: Option<String>,
}

impl ProcessConfig {
    /// For `db`, with a new admin key; PostgreSQL gets a master key and the URL, SQLite uses the
    /// key file it creates.
    pub fn for_database(db: &Database, backend: Backend) -> Self {
        let postgres = backend == Backend::Postgres;
        Self {
            data_dir: db.dir.path().join("data"),
            database_url: postgres.then(|| db.url.clone()),
            master_key: postgres.then(|| MasterKey::generate().to_base64()),
            admin_key: ApiKey::generate().secret().to_string(),
            public_url: None,
            refresh_margin: None,
            metrics_listen: None,
            log_format: None,
        }
    }
}

/// `KEYWAY_LOG` for the processes: TRACE for every target, except the code generator, which
/// sees only Wasm code (never a secret) and writes gigabytes at TRACE while compiling the
/// built-in component at start.
const TRACE_EVERYTHING_THAT_SEES_SECRETS: &str =
    "trace,cranelift_codegen=info,cranelift_frontend=info,wasmtime_internal_cranelift=info,regalloc2=info";

/// A running `keyway serve` process, killed when dropped. stdout and stderr go to `log`.
pub struct Process {
    /// Its base URL.
    pub url: String,
    /// Where its output goes.
    pub log: PathBuf,
    child: Child,
}

impl Process {
    /// Starts `keyway serve` at TRACE level and waits until it is healthy.
    pub async fn start(config: &ProcessConfig, log: PathBuf) -> Process {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("log file");
        let mut command = Command::new(keyway_binary());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KEYWAY_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--public-url")
            .arg(config.public_url.clone().unwrap_or_else(|| url.clone()))
            .arg("--data-dir")
            .arg(&config.data_dir)
            .env("KEYWAY_ADMIN_KEY", &config.admin_key)
            .env("KEYWAY_LOG", TRACE_EVERYTHING_THAT_SEES_SECRETS)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for network in keyway_tests::allow_network_args(&[keyway_tests::MOCK_IP]) {
            command.arg("--allow-network").arg(network);
        }
        if let Some(db) = &config.database_url {
            command.arg("--database-url").arg(db);
        }
        if let Some(margin) = &config.refresh_margin {
            command.arg("--refresh-margin").arg(margin);
        }
        if let Some(addr) = &config.metrics_listen {
            command.arg("--metrics-listen").arg(addr);
        }
        if let Some(format) = &config.log_format {
            command.arg("--log-format").arg(format);
        }
        if let Some(key) = &config.master_key {
            command.env("KEYWAY_MASTER_KEY", key);
        }
        let child = command.spawn().expect("keyway serve starts");
        let mut process = Process { url, log, child };
        let client = Client::new(&process.url, &config.admin_key);
        let log = process.log.clone();
        let child = &mut process.child;
        client
            .wait_healthy(|| match child.try_wait() {
                Ok(None) => Ok(()),
                other => Err(format!("{other:?}; its output:\n{}", tail(&log))),
            })
            .await;
        process
    }

    /// SIGTERM, then waits for it to exit (at most `bound`, a hang guard). Returns how long
    /// the exit took.
    pub async fn terminate(&mut self, bound: std::time::Duration) -> std::time::Duration {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: `kill` only sends a signal, to our own child, which is not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM to {pid}");
        let sent = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for keyway serve") {
                assert!(status.success(), "keyway serve exited with {status} after SIGTERM:\n{}", tail(&self.log));
                return sent.elapsed();
            }
            assert!(sent.elapsed() < bound, "keyway serve still runs {bound:?} after SIGTERM:\n{}", tail(&self.log));
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Its metrics listener's base URL, from the line `keyway serve` logs once it is bound
    /// (start it with `metrics_listen` on port 0).
    pub fn metrics_url(&self) -> String {
        let text = std::fs::read_to_string(&self.log).expect("the process log");
        let line = text.lines().find(|l| l.contains("keyway serves metrics")).unwrap_or_else(|| {
            panic!("no metrics listener was logged:\n{}", tail(&self.log));
        });
        let start = line.find("127.0.0.1:").expect("the bound address on the line");
        let rest = &line[start + "127.0.0.1:".len()..];
        let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
        format!("http://127.0.0.1:{port}")
    }

    /// `kill -9`, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The value of the series `name{labels}` (labels in the order rendered) that the metrics
/// listener at `metrics_url` serves now, if it is there.
pub async fn metric(metrics_url: &str, name_and_labels: &str) -> Option<f64> {
    let text = reqwest::get(format!("{metrics_url}/metrics"))
        .await
        .expect("the metrics listener answers")
        .text()
        .await
        .expect("the metrics text");
    series(&text, name_and_labels)
}

/// The value of the series `name{labels}` (labels in the order rendered) in Prometheus text.
pub fn series(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

/// The end of a log file, for failure messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
