//! Row 4: a stored declarative action making three API calls to the upstream, against a
//! workflow making the same three calls itself through the pass-through, one after another.

use std::time::Instant;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::{post_forwarded, summary, unique};
use crate::bench::keyway::KeywayServer;
use crate::bench::load::Sample;
use crate::bench::passthrough::{PASSTHROUGH_KEY, Passthrough};
use crate::bench::upstream::Upstream;
use crate::bench::{Measure, Plan, Row, Target};

const CALL: &str = "/wait/0";

/// Times `plan.action_rounds` rounds of each, interleaved round by round, after a tenth as
/// many untimed.
pub async fn run(
    plan: &Plan,
    upstream: &Upstream,
    passthrough: &Passthrough,
    keyway: &KeywayServer,
) -> anyhow::Result<Vec<Row>> {
    let api = &keyway.api;
    let (integration, connection) = api.token_connection(&unique("bench-action"), &upstream.base_url()).await?;
    api.save_action(&integration, "three", &[CALL, CALL, CALL]).await?;
    let run_url = format!("{}/api/v1/connections/{connection}/actions/three", api.base);
    let pass_url = passthrough.request_url();
    let pass_body = json!({"method": "GET", "path": CALL}).to_string();
    let (keyway_client, pass_client) = (reqwest::Client::new(), reqwest::Client::new());

    let (mut action, mut three) = (Sample::default(), Sample::default());
    let warmup = plan.action_rounds / 10;
    for round in 0..warmup + plan.action_rounds {
        let started = Instant::now();
        let response = keyway_client
            .post(&run_url)
            .bearer_auth(&api.key)
            .header("content-type", "application/json")
            .body(r#"{"input":{}}"#)
            .send()
            .await
            .context("running the action")?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.context("the action's answer")?;
        let outcome: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let took = started.elapsed();
        if status != 200 || outcome["calls"].as_array().map(Vec::len) != Some(3) {
            bail!("the action answered {status}, not three calls: {outcome}");
        }

        let started = Instant::now();
        for _ in 0..3 {
            post_forwarded(&pass_client, &pass_url, PASSTHROUGH_KEY, &pass_body).await?;
        }
        let three_took = started.elapsed();
        if round >= warmup {
            action.record(took);
            three.record(three_took);
        }
    }
    Ok(vec![
        Row::measured(
            "action_3_calls_p50",
            "3-call declarative action p50 (vs 3 pass-through calls)",
            Measure::latency(action.p50()),
            Measure::latency(three.p50()),
            Target::RatioAtMost(1.3),
        )
        .details(json!({"keyway": summary(&action), "baseline": summary(&three), "rounds": plan.action_rounds})),
    ])
}
