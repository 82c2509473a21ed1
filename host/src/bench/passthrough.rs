//! The baseline of the `/request` and action rows: the least a pass-through can do. It reads
//! the same JSON request body Keyway's `POST /api/v1/connections/{id}/request` takes, checks
//! one bearer key, adds `Authorization`, forwards on a pooled client, and wraps the answer in
//! the same JSON shape. No store, no plugin, no egress policy: what Keyway adds on top of this
//! is what the ratio shows.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::upstream::UPSTREAM_TOKEN;

/// The bearer key callers present.
pub const PASSTHROUGH_KEY: &str = "bench-passthrough-key";

#[derive(serde::Deserialize)]
struct Forward {
    method: String,
    path: String,
}

struct Pass {
    upstream: String,
    client: reqwest::Client,
}

async fn forward(State(pass): State<Arc<Pass>>, headers: HeaderMap, body: Bytes) -> Response {
    let key = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if key.and_then(|k| k.strip_prefix("Bearer ")) != Some(PASSTHROUGH_KEY) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(req) = serde_json::from_slice::<Forward>(&body) else { return StatusCode::BAD_REQUEST.into_response() };
    let Ok(method) = reqwest::Method::from_bytes(req.method.as_bytes()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let sent = pass.client.request(method, format!("{}{}", pass.upstream, req.path)).bearer_auth(UPSTREAM_TOKEN).send();
    let Ok(answer) = sent.await else { return StatusCode::BAD_GATEWAY.into_response() };
    let status = answer.status().as_u16();
    let headers: BTreeMap<String, String> =
        answer.headers().iter().filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string()))).collect();
    let Ok(bytes) = answer.bytes().await else { return StatusCode::BAD_GATEWAY.into_response() };
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Json(json!({"status": status, "headers": headers, "body": body})).into_response()
}

/// A running pass-through; stops when dropped.
#[derive(Debug)]
pub struct Passthrough {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Passthrough {
    /// Binds 127.0.0.1 port 0 and forwards to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: String) -> anyhow::Result<Self> {
        let pass = Arc::new(Pass { upstream, client: reqwest::Client::new() });
        let app = Router::new().route("/request", post(forward)).with_state(pass);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("the bench pass-through stopped: {e}");
            }
        });
        Ok(Self { addr, task })
    }

    /// Its `POST /request` URL.
    pub fn request_url(&self) -> String {
        format!("http://{}/request", self.addr)
    }
}

impl Drop for Passthrough {
    fn drop(&mut self) {
        self.task.abort();
    }
}
