//! What running a composite action costs over making its calls one by one.
//!
//! `cargo bench -p keyway-tests --bench actions` starts the mock provider and an in-process
//! `keyway serve` on SQLite, connects once, then times, interleaved round by round:
//!
//! - **baseline**: a workflow making three Web API calls itself (`POST .../request` three times);
//! - **declarative**: one run of a stored three-step declarative action making the same calls;
//! - **plugin**: one run of a plugin action (`guest-token-hunt`'s `spin-calls`) making them.
//!
//! It prints the median of each and the ratio to the baseline measured in the same run: the
//! machine is shared, so only ratios are comparable between runs.

use std::time::{Duration, Instant};

use keyway::config::{ServeArgs, Settings};
use keyway::crypto::MasterKey;
use keyway::keys::ApiKey;
use keyway::serve::{Bootstrap, assemble};
use keyway::server::{AppState, app};
use keyway_mock_provider::{MockConfig, MockProvider};
use serde_json::{Value, json};

const ROUNDS: usize = 40;
const WARMUP: usize = 3;

struct Bench {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Bench {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>, expect: u16) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(status, expect, "{path}: {text}");
        if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") }
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mock = MockProvider::start(MockConfig { access_token_ttl: None, ..MockConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings::load(&ServeArgs {
        public_url: Some(base.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        allowed_networks: keyway_tests::allow_network_args(&[mock.local_addr().ip()]),
        ..ServeArgs::default()
    })
    .unwrap();
    let admin = ApiKey::generate();
    let bootstrap = Bootstrap { master_key: Some(MasterKey::generate()), admin_key: Some(admin.clone()) };
    let running = assemble(&settings, bootstrap).await.unwrap();
    tokio::spawn(axum::serve(listener, app(AppState { service: running.service })).into_future());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let bench = Bench { http, base, key: admin.secret().to_string() };

    let installed = bench
        .http
        .post(format!("{}/api/v1/plugins", bench.base))
        .bearer_auth(&bench.key)
        .body(keyway_tests::components::GUEST_TOKEN_HUNT.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(installed.status().as_u16(), 201);
    let config = mock.config();
    let integration = bench
        .send(
            reqwest::Method::POST,
            "/api/v1/integrations",
            Some(json!({
                "name": "bench", "plugin": "guest-token-hunt",
                "client_id": config.client_id, "client_secret": config.client_secret,
                "site": mock.base_url(), "authorization_url": mock.authorization_url(),
                "token_path": MockProvider::TOKEN_PATH, "scopes": ["read"],
            })),
            201,
        )
        .await;
    let integration = integration["id"].as_str().unwrap().to_string();
    let created = bench
        .send(reqwest::Method::POST, &format!("/api/v1/integrations/{integration}/connections"), Some(json!({})), 201)
        .await;
    let connection = created["id"].as_str().unwrap().to_string();
    let authorize = bench.http.get(created["authorize_url"].as_str().unwrap()).send().await.unwrap();
    let callback = authorize.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(bench.http.get(&callback).send().await.unwrap().status().as_u16(), 200);

    let steps: Vec<Value> =
        (1..=3).map(|i| json!({"name": format!("s{i}"), "method": "GET", "path": "/api/item"})).collect();
    bench
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/integrations/{integration}/actions"),
            Some(json!({"name": "three", "steps": steps})),
            201,
        )
        .await;

    let request = format!("/api/v1/connections/{connection}/request");
    let declarative = format!("/api/v1/connections/{connection}/actions/three");
    let plugin = format!("/api/v1/connections/{connection}/actions/spin-calls");
    let (mut baseline_times, mut declarative_times, mut plugin_times) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..WARMUP + ROUNDS {
        let started = Instant::now();
        for _ in 0..3 {
            bench.send(reqwest::Method::POST, &request, Some(json!({"method": "GET", "path": "/api/item"})), 200).await;
        }
        let baseline = started.elapsed();

        let started = Instant::now();
        let outcome = bench.send(reqwest::Method::POST, &declarative, Some(json!({"input": {}})), 200).await;
        let declarative_time = started.elapsed();
        assert_eq!(outcome["calls"].as_array().unwrap().len(), 3);

        let started = Instant::now();
        let input = json!({"input": {"path": "/api/item", "count": 3}});
        let outcome = bench.send(reqwest::Method::POST, &plugin, Some(input), 200).await;
        let plugin_time = started.elapsed();
        assert_eq!(outcome["output"]["succeeded"], 3);

        if round >= WARMUP {
            baseline_times.push(baseline);
            declarative_times.push(declarative_time);
            plugin_times.push(plugin_time);
        }
    }
    let baseline = median(&mut baseline_times);
    let declarative = median(&mut declarative_times);
    let plugin = median(&mut plugin_times);
    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64();
    println!("three API calls, median of {ROUNDS} interleaved rounds (debug or release as built):");
    println!("  baseline: 3 x POST /request        {:>8.2} ms   1.00", baseline.as_secs_f64() * 1e3);
    println!(
        "  declarative action, 3 steps        {:>8.2} ms   {:.2}",
        declarative.as_secs_f64() * 1e3,
        ratio(declarative)
    );
    println!("  plugin action (spin-calls, 3)      {:>8.2} ms   {:.2}", plugin.as_secs_f64() * 1e3, ratio(plugin));
}
