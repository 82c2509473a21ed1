//! What operators scrape and probe: `/metrics` on its own listener and `/readyz`, against the
//! real `keyway serve` binary.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Backend, Client, Process, ProcessConfig, series, tail};
use keyway_mock_provider::{MockConfig, MockProvider};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_refreshes_and_actions_without_connection_ids() {
    let db = Backend::Sqlite.database().await.expect("SQLite is always there");
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let mut config = ProcessConfig::for_database(&db, Backend::Sqlite);
    config.metrics_listen = Some("127.0.0.1:0".into());
    let process = Process::start(&config, db.dir.path().join("keyway.log")).await;
    let client = Client::new(&process.url, &config.admin_key);
    let metrics_url = format!("{}/metrics", process.metrics_url());

    let integration =
        client.create_integration(&mock, json!({"name": "acme"})).await["id"].as_str().unwrap().to_string();
    let id = client.connect(&config.admin_key, &integration).await;
    client.me(&id).await;
    client.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
    let action = json!({
        "name": "whoami",
        "description": "Reads the signed-in user",
        "steps": [{"name": "me", "method": "GET", "path": "/api/me"}]
    });
    client.admin(Method::POST, &format!("/api/v1/integrations/{integration}/actions"), Some(action)).await.expect(201);
    client
        .admin(Method::POST, &format!("/api/v1/connections/{id}/actions/whoami"), Some(json!({"input": {}})))
        .await
        .expect(200);
    // A second lookup of the same key and connection comes from the cache.
    client.me(&id).await;

    let response = reqwest::get(&metrics_url).await.expect("the metrics listener answers");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let has = |series_name: &str| {
        assert!(series(&text, series_name).is_some_and(|v| v >= 1.0), "no `{series_name}` in:\n{text}");
    };
    has(r#"keyway_http_requests_total{route="/api/v1/connections/{id}/request",status="200"}"#);
    has(r#"keyway_http_requests_total{route="/api/v1/connections/{id}/refresh",status="200"}"#);
    has(r#"keyway_web_api_requests_total{integration="acme",status="200"}"#);
    has(r#"keyway_refreshes_total{integration="acme",outcome="ok"}"#);
    has(r#"keyway_plugin_calls_total{plugin="standard-oauth2",hook="token-request",outcome="ok"}"#);
    has(r#"keyway_action_runs_total{integration="acme",action="whoami",outcome="ok"}"#);
    has(r#"keyway_action_api_calls_total{integration="acme",status="200"}"#);
    has(r#"keyway_cache_hits_total{cache="api_keys"}"#);
    has(r#"keyway_cache_misses_total{cache="connections"}"#);
    assert!(text.contains("keyway_http_request_duration_seconds_bucket{"), "durations are histograms:\n{text}");
    assert!(!text.contains(&id), "a connection id is a label nowhere:\n{text}");
    assert!(!text.contains(&integration), "integrations are labelled by name, not id:\n{text}");

    let public = client.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(public.status, 404, "/metrics stays off the public listener: {}", public.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_200_when_ready_and_503_with_the_fix_when_migrations_are_behind() {
    let db = Backend::Sqlite.database().await.expect("SQLite is always there");
    let config = ProcessConfig::for_database(&db, Backend::Sqlite);
    let process = Process::start(&config, db.dir.path().join("keyway.log")).await;
    let client = Client::new(&process.url, &config.admin_key);

    let ready = client.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let body: Value = ready.json();
    assert_eq!(body["status"], "ready");
    let names: Vec<&str> = body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["database", "migrations", "builtin_plugins"]);
    assert!(body["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{body}");

    // Someone rolled the schema back under the running server: it must leave rotation.
    let mut conn: sqlx::SqliteConnection =
        sqlx::Connection::connect(&format!("sqlite:{}", config.data_dir.join("keyway.db").display())).await.unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(&mut conn)
        .await
        .unwrap();
    let behind = client.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(behind.status, 503, "{}", behind.text);
    let body: Value = behind.json();
    assert_eq!(body["status"], "not_ready");
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("migrations: the database lacks 1 of "), "{message}");
    assert!(message.contains("restart `keyway serve`"), "{message}");
    let failing: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["migrations"]);
    let health = client.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, 200, "/healthz stays pure liveness");
}

/// The database stops taking connections under a running server (its existing ones are ended):
/// `/readyz` turns 503 and says to check the database, and 200 again once it is back, with no
/// restart. PostgreSQL, where "unreachable" can be made real without touching the network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_the_database_is_unreachable_and_200_once_it_is_back() {
    let Some(db) = Backend::Postgres.database().await else { return };
    let config = ProcessConfig::for_database(&db, Backend::Postgres);
    let process = Process::start(&config, db.dir.path().join("keyway.log")).await;
    let client = Client::new(&process.url, &config.admin_key);
    assert_eq!(client.request(Method::GET, "/readyz", None, None).await.status, 200);

    // From the server's maintenance database, which stays reachable and lets the others back in.
    let mut probe: sqlx::PgConnection = sqlx::Connection::connect(&db.url).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut probe).await.unwrap();
    sqlx::Connection::close(probe).await.unwrap();
    let admin_url = db.url.replacen(&format!("/{name}"), "/postgres", 1);
    assert_ne!(admin_url, db.url, "the database name is in the URL's path");
    let mut admin: sqlx::PgConnection = sqlx::Connection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false")).execute(&mut admin).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();

    let down = client.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(down.status, 503, "{}", down.text);
    let body: Value = down.json();
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("database: the database cannot be reached"), "{message}");
    assert!(message.contains("database_url"), "says what to check: {message}");
    assert!(!message.contains(&db.url), "the URL stays in the log: {message}");

    sqlx::query(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true")).execute(&mut admin).await.unwrap();
    let back = client.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(back.status, 200, "ready again once the database is back: {}\n{}", back.text, tail(&process.log));
}
