//! Row 1: `POST /api/v1/connections/{id}/request` on a `token` integration, against the
//! pass-through, with the upstream answering at once and after 2 ms: throughput at c=64 and
//! the median at c=1.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{interleaved, post_forwarded, summary, unique};
use crate::bench::keyway::KeywayServer;
use crate::bench::passthrough::{PASSTHROUGH_KEY, Passthrough};
use crate::bench::upstream::Upstream;
use crate::bench::{Measure, Plan, Row, Target};

/// The upstream's delays, in ms.
const DELAYS: [u64; 2] = [0, 2];
/// The throughput row's concurrency.
const CONCURRENCY: usize = 64;

fn rps_target() -> Target {
    Target::RatioAtLeast(0.8)
}

fn p50_target() -> Target {
    Target::AddedAtMost(Duration::from_micros(50))
}

fn names(delay: u64, backend: &str) -> [(String, String); 2] {
    let id = backend.to_lowercase();
    [
        (format!("request_rps_c64_{delay}ms_{id}"), format!("/request rps c=64, upstream {delay} ms ({backend})")),
        (format!("request_p50_c1_{delay}ms_{id}"), format!("/request p50 c=1, upstream {delay} ms ({backend})")),
    ]
}

/// The rows of `backend`, skipped for `why`.
pub fn skipped(backend: &str, why: &str) -> Vec<Row> {
    DELAYS
        .iter()
        .flat_map(|&delay| {
            let [(rps_id, rps_name), (p50_id, p50_name)] = names(delay, backend);
            [Row::skipped(&rps_id, &rps_name, rps_target(), why), Row::skipped(&p50_id, &p50_name, p50_target(), why)]
        })
        .collect()
}

/// Measures `keyway` (on `backend`) against `passthrough`, both calling `upstream`.
pub async fn run(
    plan: &Plan,
    upstream: &Upstream,
    passthrough: &Passthrough,
    keyway: &KeywayServer,
    backend: &str,
) -> anyhow::Result<Vec<Row>> {
    let (_, connection) = keyway.api.token_connection(&unique("bench-request"), &upstream.base_url()).await?;
    let keyway_url: Arc<str> = format!("{}/api/v1/connections/{connection}/request", keyway.api.base).into();
    let keyway_key: Arc<str> = keyway.api.key.clone().into();
    let pass_url: Arc<str> = passthrough.request_url().into();
    // Each side its own pooled client, as each would have in production.
    let (keyway_client, pass_client) = (reqwest::Client::new(), reqwest::Client::new());

    let mut rows = Vec::new();
    for delay in DELAYS {
        let body: Arc<str> = json!({"method": "GET", "path": format!("/wait/{delay}")}).to_string().into();
        let keyway_op = {
            let (client, url, key, body) =
                (keyway_client.clone(), keyway_url.clone(), keyway_key.clone(), body.clone());
            move || {
                let (client, url, key, body) = (client.clone(), url.clone(), key.clone(), body.clone());
                async move { post_forwarded(&client, &url, &key, &body).await }
            }
        };
        let pass_op = {
            let (client, url, body) = (pass_client.clone(), pass_url.clone(), body.clone());
            move || {
                let (client, url, body) = (client.clone(), url.clone(), body.clone());
                async move { post_forwarded(&client, &url, PASSTHROUGH_KEY, &body).await }
            }
        };
        let [(rps_id, rps_name), (p50_id, p50_name)] = names(delay, backend);

        let (k, b) = interleaved(plan, CONCURRENCY, keyway_op.clone(), pass_op.clone()).await?;
        rows.push(
            Row::measured(&rps_id, &rps_name, Measure::rps(k.rps()), Measure::rps(b.rps()), rps_target())
                .details(json!({"keyway": summary(&k), "baseline": summary(&b), "concurrency": CONCURRENCY})),
        );
        let (k, b) = interleaved(plan, 1, keyway_op, pass_op).await?;
        rows.push(
            Row::measured(&p50_id, &p50_name, Measure::latency(k.p50()), Measure::latency(b.p50()), p50_target())
                .details(json!({"keyway": summary(&k), "baseline": summary(&b), "concurrency": 1})),
        );
    }
    Ok(rows)
}
