//! The real `keyway serve` binary: a connection survives `kill -9`; two processes on one
//! PostgreSQL act as one service (a flow started on one completes on the other, and a burst
//! of requests split between them refreshes once), and two on one SQLite file stop using what
//! the other removed. Both run at TRACE level, and no secret
//! appears in their output or in any response.

use std::path::{Path, PathBuf};

use keyway_mock_provider::{MockConfig, MockProvider};
use reqwest::Method;
use serde_json::json;

use super::refresh::twenty_at_once;
use super::{Backend, Client, Database, Process, ProcessConfig, assert_no_secrets, both_backends, metric, secrets};

both_backends!(a_connection_survives_kill_9);

/// Checks that `logs` were written at TRACE level and hold no secret, nor did any response.
fn assert_nothing_leaked(logs: &[&Path], client: &Client, mock: &MockProvider, api_keys: &[&str]) {
    let secrets = secrets(mock, api_keys);
    let mut texts = Vec::new();
    for log in logs {
        let text = std::fs::read_to_string(log).expect("the process log");
        assert!(text.contains("TRACE"), "{} was not written at TRACE level:\n{}", log.display(), super::tail(log));
        texts.push((log.display().to_string(), text));
    }
    assert_no_secrets(texts.iter().map(|(place, text)| (place.as_str(), text.as_str())), &secrets);
    let exchanges = client.exchanges();
    assert_no_secrets(exchanges.iter().map(|e| (e.request.as_str(), e.body.as_str())), &secrets);
}

async fn a_connection_survives_kill_9(backend: Backend) {
    let Some(db) = backend.database().await else { return };
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let config = ProcessConfig::for_database(&db, backend);
    let log = db.dir.path().join("keyway.log");

    let mut first = Process::start(&config, log.clone()).await;
    let client = Client::new(&first.url, &config.admin_key);
    let integration = client.create_integration(&mock, json!({})).await["id"].as_str().unwrap().to_string();
    let id = client.connect(&config.admin_key, &integration).await;
    client.me(&id).await;
    first.kill();

    if backend == Backend::Sqlite {
        let key_file = config.data_dir.join("master.key");
        assert!(key_file.is_file(), "SQLite keeps a generated master key in the data directory");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key_file).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "the master key file is private");
    }

    let second = Process::start(&config, log.clone()).await;
    let client = client.on(&second.url);
    client.me(&id).await;
    assert_eq!(client.get(&format!("/api/v1/connections/{id}")).await["status"], "active");
    // The stored refresh token and client secret decrypt too.
    client.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
    assert_eq!(mock.token_requests_by_grant("refresh_token"), 1);
    client.me(&id).await;
    assert_eq!(client.get("/api/v1/integrations").await["items"].as_array().unwrap().len(), 1);
    drop(second);

    assert_nothing_leaked(&[&log], &client, &mock, &[&config.admin_key]);
}

/// Two `keyway serve` processes on one database, with metrics on. They start one after the
/// other: A creates the database (and on SQLite the master key file) that B then opens. Both
/// send browsers back to A.
struct Pair {
    a: Process,
    b: Process,
    on_a: Client,
    on_b: Client,
    /// B's metrics listener, read from its log once.
    b_metrics: String,
    admin_key: String,
    logs: [PathBuf; 2],
}

impl Pair {
    async fn start(db: &Database, backend: Backend) -> Self {
        let mut config = ProcessConfig::for_database(db, backend);
        config.metrics_listen = Some("127.0.0.1:0".into());
        let logs = [db.dir.path().join("a.log"), db.dir.path().join("b.log")];
        let a = Process::start(&config, logs[0].clone()).await;
        config.public_url = Some(a.url.clone());
        let b = Process::start(&config, logs[1].clone()).await;
        let on_a = Client::new(&a.url, &config.admin_key);
        let on_b = on_a.on(&b.url);
        let b_metrics = b.metrics_url();
        Self { a, b, on_a, on_b, b_metrics, admin_key: config.admin_key, logs }
    }

    /// A connection started on A and completed on B; the callback replayed on A is refused,
    /// since the state was used, whichever process used it. Returns the connection's id.
    async fn connect_across(&self, mock: &MockProvider) -> String {
        let (on_a, on_b) = (&self.on_a, &self.on_b);
        let integration = on_a.create_integration(mock, json!({})).await["id"].as_str().unwrap().to_string();
        let (id, authorize_url) = on_a.start_connection(&self.admin_key, &integration, json!({})).await;
        let callback = on_a.authorize(&authorize_url).await;
        let page = on_b.callback(&callback).await;
        assert_eq!(page.status, 200, "the callback completes on the other process: {}", page.text);
        assert_eq!(on_a.get(&format!("/api/v1/connections/{id}")).await["status"], "active");
        assert_eq!(on_b.get(&format!("/api/v1/connections/{id}")).await["status"], "active");
        assert_eq!(on_a.callback(&callback).await.status, 400);
        id
    }

    /// The hot-path cache across processes. B serves a member key and `connection` from its
    /// cache (its metrics count the hits), A revokes the key and deletes the connection, and A
    /// refuses them at once; B refuses them once A's change notification reaches it.
    async fn b_stops_using_what_a_removes(&self, connection: &str) {
        let (on_a, on_b, admin_key) = (&self.on_a, &self.on_b, self.admin_key.as_str());
        let (member_id, member) = on_a.member_key("cached").await;
        let me = || json!({"method": "GET", "path": "/api/me"});
        // Repeated until B counts a hit: B's cache also empties whenever it sees any commit of A's.
        eventually(|| async {
            on_b.request(Method::GET, "/api/v1/connections", Some(&member), None).await.expect(200);
            on_b.web(admin_key, connection, me()).await.expect(200);
            metric(&self.b_metrics, r#"keyway_cache_hits_total{cache="connections"}"#)
                .await
                .is_some_and(|hits| hits >= 1.0)
        })
        .await;

        on_a.admin(Method::DELETE, &format!("/api/v1/keys/{member_id}"), None).await.expect(204);
        on_a.request(Method::GET, "/api/v1/connections", Some(&member), None).await.error(401);
        eventually(|| async {
            on_b.request(Method::GET, "/api/v1/connections", Some(&member), None).await.status == 401
        })
        .await;
        on_a.admin(Method::DELETE, &format!("/api/v1/connections/{connection}?force=true"), None).await.expect(204);
        on_a.web(admin_key, connection, me()).await.error(404);
        eventually(|| async { on_b.web(admin_key, connection, me()).await.status == 404 }).await;
    }

    /// Stops both, then checks their logs and every response for secrets.
    fn finish(self, mock: &MockProvider) {
        let Self { a, b, on_a, admin_key, logs, .. } = self;
        drop((a, b));
        assert_nothing_leaked(&[&logs[0], &logs[1]], &on_a, mock, &[&admin_key]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgres() {
    let Some(db) = Backend::Postgres.database().await else { return };
    // Tokens that expire within the refresh margin until the provider switches to hour-long ones.
    let mock = MockProvider::start(MockConfig { access_token_ttl: Some(60), ..MockConfig::default() })
        .await
        .expect("mock provider");
    let pair = Pair::start(&db, Backend::Postgres).await;
    let id = pair.connect_across(&mock).await;
    let both = [pair.on_a.clone(), pair.on_b.clone()];

    // Expiring within the margin: 20 requests split between A and B refresh once.
    mock.set_config(MockConfig::default());
    twenty_at_once(&both, &id).await;
    assert_eq!(mock.token_requests_by_grant("refresh_token"), 1, "exactly one refresh across both replicas");

    // Refused by the app (401): again one refresh.
    mock.expire_access_tokens();
    twenty_at_once(&both, &id).await;
    assert_eq!(mock.token_requests_by_grant("refresh_token"), 2, "exactly one more refresh across both replicas");

    pair.b_stops_using_what_a_removes(&id).await;
    pair.finish(&mock);
}

/// Two processes on one SQLite file, as when an operator runs a second `keyway serve` on the
/// same data directory: each notices the other's commits through `PRAGMA data_version`, so
/// neither keeps serving a key or a connection the other removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_sqlite_file() {
    let db = Backend::Sqlite.database().await.expect("SQLite is always available");
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let pair = Pair::start(&db, Backend::Sqlite).await;
    let id = pair.connect_across(&mock).await;
    pair.b_stops_using_what_a_removes(&id).await;
    pair.finish(&mock);
}

/// A refresh that hangs on its token endpoint holds the connection's lease. At SIGTERM the
/// process gives it up after its grace and releases the lease, so the other replica refreshes
/// at once instead of waiting out the lease (the 60 s it waits would fail its refresh).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_holding_its_lease_at_sigterm_releases_it() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    let Some(db) = Backend::Postgres.database().await else { return };
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let config = ProcessConfig::for_database(&db, Backend::Postgres);
    let (log_a, log_b) = (db.dir.path().join("a.log"), db.dir.path().join("b.log"));
    let mut a = Process::start(&config, log_a.clone()).await;
    let b = Process::start(&config, log_b.clone()).await;
    let on_a = Client::new(&a.url, &config.admin_key);
    let on_b = on_a.on(&b.url);
    let integration = on_a.create_integration(&mock, json!({})).await["id"].as_str().unwrap().to_string();
    let id = on_a.connect(&config.admin_key, &integration).await;

    // A token endpoint that accepts and never answers.
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging_site = format!("http://{}", hanging.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    let patch = |site: String| json!({"site": site});
    on_a.admin(Method::PATCH, &format!("/api/v1/integrations/{integration}"), Some(patch(hanging_site)))
        .await
        .expect(200);

    let refresh_path = format!("/api/v1/connections/{id}/refresh");
    let stuck = {
        let on_a = on_a.clone();
        let path = refresh_path.clone();
        tokio::spawn(async move { on_a.admin(Method::POST, &path, None).await })
    };
    let asked = Instant::now();
    while accepted.load(Ordering::SeqCst) == 0 {
        assert!(asked.elapsed() < Duration::from_secs(30), "A never sent the token request:\n{}", super::tail(&log_a));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Stopped while the refresh holds the lease: A gives it up after its 5 s grace.
    let took = a.terminate(Duration::from_secs(30)).await;
    assert!(took < Duration::from_secs(12), "A took {took:?} to stop:\n{}", super::tail(&log_a));
    let answer = stuck.await.unwrap();
    assert_eq!(answer.status, 503, "the refresh A gave up says to retry: {}", answer.text);
    assert!(answer.text.contains("shutting down"), "{}", answer.text);
    let log = std::fs::read_to_string(&log_a).unwrap();
    assert!(log.contains("its lease is released"), "A says it gave the refresh up:\n{}", super::tail(&log_a));

    // B refreshes at once: the lease is free.
    on_b.admin(Method::PATCH, &format!("/api/v1/integrations/{integration}"), Some(patch(mock.base_url())))
        .await
        .expect(200);
    let started = Instant::now();
    on_b.admin(Method::POST, &refresh_path, None).await.expect(200);
    assert!(started.elapsed() < Duration::from_secs(10), "B waited {:?} for the lease", started.elapsed());
    assert_eq!(mock.token_requests_by_grant("refresh_token"), 1, "only B's refresh reached the provider");
    drop(b);
    assert_nothing_leaked(&[&log_a, &log_b], &on_a, &mock, &[&config.admin_key]);
}

/// Polls `done` until it holds. The bound is a hang guard, not a timing claim: the change
/// notification normally arrives in milliseconds, and the bench reports how many.
async fn eventually<F: std::future::Future<Output = bool>>(mut done: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "the other replica never saw the change");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Replicas started at the same moment on a fresh database (migrations, built-in plugin,
/// admin key) both come up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_both_come_up() {
    let Some(db) = Backend::Postgres.database().await else { return };
    let config = ProcessConfig::for_database(&db, Backend::Postgres);
    let (log_a, log_b) = (db.dir.path().join("a.log"), db.dir.path().join("b.log"));
    let (a, b) = tokio::join!(Process::start(&config, log_a), Process::start(&config, log_b));
    for replica in [&a, &b] {
        Client::new(&replica.url, &config.admin_key).get("/api/v1/keys").await;
    }
}

/// Replicas that start at once on a fresh database all register `KEYWAY_ADMIN_KEY`: each must
/// start, whichever registered it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_registering_the_same_admin_key_at_once_all_start() {
    let Some(api) = super::Api::start(Backend::Postgres).await else { return };
    // The race is narrow: try it a few times.
    for _ in 0..10 {
        let key = keyway::keys::ApiKey::generate();
        let (a, b) = tokio::join!(
            api.service.bootstrap_admin_key(Some(key.clone())),
            api.service.bootstrap_admin_key(Some(key.clone()))
        );
        a.expect("the first replica starts");
        b.expect("the second replica starts");
        let keys = api.get("/api/v1/keys").await;
        let admins = keys["items"].as_array().unwrap().iter().filter(|k| k["role"] == "admin").count();
        assert!(admins >= 2, "{keys}");
    }
}

/// `keyway serve --listen 127.0.0.1:0` advertises the port it bound, not port 0, in the redirect URI its
/// authorize URLs carry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_port_0_advertises_the_port_it_bound() {
    let db = Backend::Sqlite.database().await.expect("SQLite is always available");
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let admin_key = keyway::keys::ApiKey::generate().secret().to_string();
    let log = db.dir.path().join("keyway.log");
    let out = std::fs::File::create(&log).expect("log file");
    let mut command = std::process::Command::new(super::keyway_binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KEYWAY_") {
            command.env_remove(name);
        }
    }
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(db.dir.path().join("data"))
        .env("KEYWAY_ADMIN_KEY", &admin_key)
        .env("KEYWAY_LOG", "keyway=info")
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    for network in keyway_tests::allow_network_args(&[keyway_tests::MOCK_IP]) {
        command.arg("--allow-network").arg(network);
    }
    let mut child = command.spawn().expect("keyway serve starts");
    // The one place the bound address is told: the "serving" log line.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let listen = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("keyway is serving")) {
            let addr = line.split("listen=").nth(1).and_then(|rest| rest.split_whitespace().next());
            break addr.expect("the serving line names the address").to_string();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("keyway serve exited ({status}):\n{text}");
        }
        assert!(std::time::Instant::now() < deadline, "keyway serve did not start:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(!listen.ends_with(":0"), "{listen}");
    let base = format!("http://{listen}");
    let client = Client::new(&base, &admin_key);
    client.wait_healthy(|| Ok(())).await;
    let integration = client.create_integration(&mock, json!({})).await["id"].as_str().unwrap().to_string();
    let (_, authorize_url) = client.start_connection(&admin_key, &integration, json!({"name": "mine"})).await;
    let url = url::Url::parse(&authorize_url).unwrap();
    let redirect_uri = url.query_pairs().find(|(k, _)| k == "redirect_uri").map(|(_, v)| v.into_owned());
    assert_eq!(redirect_uri.as_deref(), Some(format!("{base}/oauth").as_str()), "{authorize_url}");
    // And the flow completes there.
    let callback = client.authorize(&authorize_url).await;
    assert_eq!(client.callback(&callback).await.status, 200);
    let _ = child.kill();
    let _ = child.wait();
}
