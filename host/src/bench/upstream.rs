//! The app's Web API the benchmarks call: `GET|POST /wait/{ms}` answers a static JSON body
//! after `ms` milliseconds, to callers that present [`UPSTREAM_TOKEN`], and counts how many
//! requests it holds at once (the memory row checks that its runs really were in flight together).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::any;
use tokio::task::JoinHandle;

/// The token both Keyway's connection and the pass-through attach.
pub const UPSTREAM_TOKEN: &str = "bench-upstream-token";

/// The answer: a small object like a typical "get item" call returns.
const BODY: &str = r#"{"id":"item-4711","name":"A benchmark item","tags":["alpha","beta"],"count":3,"active":true}"#;

/// Requests held now, and the most held at once.
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl InFlight {
    /// The most requests held at once since the last [`InFlight::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts counting the peak afresh.
    pub fn reset_peak(&self) {
        self.peak.store(self.now.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// A running upstream; stops when dropped.
#[derive(Debug)]
pub struct Upstream {
    addr: SocketAddr,
    in_flight: Arc<InFlight>,
    task: JoinHandle<()>,
}

impl Upstream {
    /// Binds 127.0.0.1 port 0 and serves.
    pub async fn start() -> anyhow::Result<Self> {
        let in_flight = Arc::new(InFlight::default());
        let app = Router::new().route("/wait/{ms}", any(wait)).with_state(in_flight.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("the bench upstream stopped: {e}");
            }
        });
        Ok(Self { addr, in_flight, task })
    }

    /// `http://127.0.0.1:<port>`: an integration's `site`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The in-flight counter.
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn wait(State(in_flight): State<Arc<InFlight>>, Path(ms): Path<u64>, headers: HeaderMap) -> impl IntoResponse {
    // Both sides must really attach the credential: a bench of requests that skip it would
    // flatter whichever side forgot.
    let expected = format!("Bearer {UPSTREAM_TOKEN}");
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "application/json")], r#"{"error":"unauthorized"}"#);
    }
    let now = in_flight.now.fetch_add(1, Ordering::Relaxed) + 1;
    in_flight.peak.fetch_max(now, Ordering::Relaxed);
    keyway_mock_provider::delay::sleep(Duration::from_millis(ms)).await;
    in_flight.now.fetch_sub(1, Ordering::Relaxed);
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], BODY)
}
