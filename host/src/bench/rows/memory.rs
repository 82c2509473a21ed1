//! Row 6: the peak resident memory of a `keyway serve` process holding many action runs in
//! flight at once. The upstream answers slowly, so every run holds its plugin instance and
//! its upstream call at the same time; the engine's quotas are raised to let them all in.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::{summary, unique};
use crate::bench::child::ServeChild;
use crate::bench::load::{self, BoxedOp};
use crate::bench::upstream::Upstream;
use crate::bench::{Measure, Plan, Row, Target};

/// The child's quotas, stated in the row: each run holds one hook-call slot of its
/// integration for its whole duration, and the defaults (64 in all, 8 per integration) would
/// queue all but a few, then refuse them as busy.
fn settings(plan: &Plan) -> (String, String) {
    let runs = plan.inflight_runs;
    let (integration, total) = (runs + runs / 10, runs + runs / 5);
    let toml = format!(
        "action_deadline = \"60s\"\n\n[limits]\nmax_concurrent_calls = {total}\nintegration_concurrent_calls = {integration}\nquota_wait = \"60s\"\n"
    );
    let stated = format!(
        "limits.max_concurrent_calls = {total}, limits.integration_concurrent_calls = {integration}, \
         limits.quota_wait = 60s, action_deadline = 60s; other limits default (32 MiB per call)"
    );
    (toml, stated)
}

/// Starts the child, warms it up, then runs `plan.inflight_runs` one-call actions at once.
pub async fn run(plan: &Plan, upstream: &Upstream, data_dir: &Path) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let (toml, stated) = settings(plan);
    let child = ServeChild::start(&toml, data_dir, &dir.path().join("memory.db"), dir.path().join("serve.log")).await?;
    let api = &child.api;
    let (integration, connection) = api.token_connection(&unique("bench-memory"), &upstream.base_url()).await?;
    let wait = format!("/wait/{}", plan.slow_upstream.as_millis());
    api.save_action(&integration, "slow", &[&wait]).await?;
    let url = format!("{}/api/v1/connections/{connection}/actions/slow", api.base);

    // Enough sockets for every run at once (the default pool would reuse them anyway).
    let client = reqwest::Client::builder().pool_max_idle_per_host(plan.inflight_runs).build()?;
    let op = {
        let (client, url, key) = (client.clone(), url.clone(), api.key.clone());
        move |_: usize| -> BoxedOp {
            let (client, url, key) = (client.clone(), url.clone(), key.clone());
            Box::pin(async move {
                let response = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(r#"{"input":{}}"#)
                    .send()
                    .await?;
                let status = response.status();
                if status != 200 {
                    bail!("an action run answered {status}: {}", response.text().await.unwrap_or_default());
                }
                Ok(())
            })
        }
    };
    // Warm-up: lazily built state and the first pooled instances are not what is measured.
    load::for_each((0..10).collect(), 2, op.clone()).await.context("warming up the child")?;
    let idle = child.memory()?;
    upstream.in_flight().reset_peak();
    let runs = load::for_each((0..plan.inflight_runs).collect(), plan.inflight_runs, op).await.with_context(|| {
        format!("{} concurrent action runs; the child's output:\n{}", plan.inflight_runs, child.tail())
    })?;
    let after = child.memory()?;
    let held = upstream.in_flight().peak();
    let mib = |kib: u64| kib as f64 / 1024.0;

    Ok(vec![
        Row::measured(
            "inflight_runs_peak_rss",
            &format!("{} in-flight action runs: peak RSS (vs idle)", plan.inflight_runs),
            Measure::mib(mib(after.peak_kib)),
            Measure::mib(mib(idle.rss_kib)),
            Target::AtMost(Measure::mib(1024.0)),
        )
        .note(format!(
            "a `keyway serve` child on SQLite, VmHWM after the runs vs VmRSS before them; upstream answers after \
             {wait_ms} ms; {held} of {n} runs were at the upstream at once; {stated}",
            wait_ms = plan.slow_upstream.as_millis(),
            n = plan.inflight_runs,
        ))
        .details(json!({
            "runs": plan.inflight_runs,
            "held_at_upstream_at_once": held,
            "idle_rss_mib": mib(idle.rss_kib),
            "idle_peak_mib": mib(idle.peak_kib),
            "peak_mib": mib(after.peak_kib),
            "rss_after_mib": mib(after.rss_kib),
            "settings": stated,
            "run_latency": summary(&runs),
        })),
    ])
}
