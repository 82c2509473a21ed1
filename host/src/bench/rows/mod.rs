//! One module per benchmark of issue #11; each returns its rows. [`run_all`] starts what
//! several share (the upstream, the pass-through, the SQLite server) once, and runs them in
//! the table's order.

pub mod action;
pub mod exchange;
pub mod hook;
pub mod memory;
pub mod propagation;
pub mod request;
pub mod startup;

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use super::keyway::KeywayServer;
use super::load::{self, Sample};
use super::passthrough::Passthrough;
use super::upstream::Upstream;
use super::{Plan, Row};

/// The benchmarks `--only` can pick, in the table's order.
pub const GROUPS: [&str; 7] = ["request", "hook", "exchange", "action", "startup", "memory", "propagation"];

/// Runs every benchmark in `only` (all of them when it is empty), saying on `out` which one runs
/// now (a full run takes minutes).
pub async fn run_all(
    plan: &Plan,
    only: &[String],
    postgres: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<Vec<Row>> {
    let mut progress = |what: &str| -> std::io::Result<()> {
        writeln!(out, "  running: {what}")?;
        out.flush()
    };
    let wanted = |group: &str| only.is_empty() || only.iter().any(|g| g == group);
    let upstream = Upstream::start().await.context("starting the bench upstream")?;
    let passthrough = Passthrough::start(upstream.base_url()).await.context("starting the pass-through")?;
    // One data directory for every in-process server: they share its compiled-plugin cache.
    let data = tempfile::tempdir().context("creating the bench's temporary data directory")?;
    let sqlite = KeywayServer::start(data.path(), None).await.context("assembling Keyway on SQLite")?;

    let mut rows = Vec::new();
    if wanted("request") {
        progress("/request on SQLite")?;
        rows.extend(request::run(plan, &upstream, &passthrough, &sqlite, "SQLite").await?);
        match postgres {
            Some(url) => {
                progress("/request on PostgreSQL")?;
                let server = KeywayServer::start(data.path(), Some(url)).await.context(
                    "--postgres: cannot run Keyway on that database; check that PostgreSQL is up at that address and that \
                     the URL (postgres://user:password@host/db) names a database its user may create tables in",
                )?;
                rows.extend(request::run(plan, &upstream, &passthrough, &server, "PostgreSQL").await?);
            }
            None => rows.extend(request::skipped("PostgreSQL", "no --postgres")),
        }
    }
    if wanted("hook") {
        progress("hook call")?;
        rows.extend(hook::run(plan).await?);
    }
    if wanted("exchange") {
        progress("code exchange")?;
        rows.extend(exchange::run(plan, &sqlite).await?);
    }
    if wanted("action") {
        progress("composite action")?;
        rows.extend(action::run(plan, &upstream, &passthrough, &sqlite).await?);
    }
    if wanted("startup") {
        progress("start-up")?;
        rows.extend(startup::run(plan).await?);
    }
    if wanted("memory") {
        progress("in-flight action runs (a `keyway serve` child)")?;
        rows.extend(memory::run(plan, &upstream, data.path()).await?);
    }
    if wanted("propagation") {
        progress("cache invalidation across two replicas on SQLite")?;
        let replicas = data.path().join("replicas.db");
        let replicas = format!("sqlite:{}", replicas.to_str().context("the temporary directory's path is not UTF-8")?);
        rows.push(propagation::run(plan, &upstream, data.path(), &replicas, "SQLite").await?);
        match postgres {
            Some(url) => {
                progress("cache invalidation across two replicas on PostgreSQL")?;
                rows.push(propagation::run(plan, &upstream, data.path(), url, "PostgreSQL").await?);
            }
            None => rows.push(propagation::skipped("PostgreSQL", "no --postgres")),
        }
    }
    Ok(rows)
}

/// A name no earlier run used, for integrations in a `--postgres` database that outlives us.
pub(crate) fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{prefix}-{nanos:x}")
}

/// Runs `keyway_op` and `baseline_op` at `concurrency` for the plan's rounds of segments,
/// alternating which goes first, after an untimed warm-up of each: drift in the shared
/// machine's load then hits both sides alike. Each segment is [marked](super::marker), so a
/// callgrind run can count its calls' instructions apart from everything else.
pub(crate) async fn interleaved<K, KF, B, BF>(
    plan: &Plan,
    concurrency: usize,
    keyway_op: K,
    baseline_op: B,
) -> anyhow::Result<(Sample, Sample)>
where
    K: Fn() -> KF + Clone + Send + Sync + 'static,
    KF: Future<Output = anyhow::Result<()>> + Send,
    B: Fn() -> BF + Clone + Send + Sync + 'static,
    BF: Future<Output = anyhow::Result<()>> + Send,
{
    load::for_duration(concurrency, plan.warmup, baseline_op.clone()).await.context("baseline warm-up")?;
    load::for_duration(concurrency, plan.warmup, keyway_op.clone()).await.context("Keyway warm-up")?;
    let (mut keyway, mut baseline) = (Sample::default(), Sample::default());
    for round in 0..plan.rounds {
        for keyway_turn in [round % 2 == 1, round % 2 == 0] {
            if keyway_turn {
                let segment = load::for_duration_marked(concurrency, plan.segment, keyway_op.clone()).await;
                keyway.merge(&segment.context("Keyway")?);
            } else {
                let segment = load::for_duration_marked(concurrency, plan.segment, baseline_op.clone()).await;
                baseline.merge(&segment.context("baseline")?);
            }
        }
    }
    Ok((keyway, baseline))
}

/// `p50`, `p99`, the call count and the CPU time per call of a sample, and its marked
/// segments if it has any, for a row's JSON details.
pub(crate) fn summary(sample: &Sample) -> serde_json::Value {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut summary = serde_json::json!({
        "p50_us": us(sample.p50()),
        "p99_us": us(sample.p99()),
        "rps": (!sample.elapsed().is_zero()).then(|| sample.rps()),
        "calls": sample.count(),
        "cpu_us_per_call": sample.cpu_per_call().map(us),
    });
    if !sample.segments().is_empty() {
        summary["segments"] = serde_json::json!(sample.segments());
    }
    summary
}

/// POSTs `body` to `url` with `key` and checks that the answer is a 200 wrapping the
/// upstream's 200: the same check on both sides of a row, so neither counts a refusal.
pub(crate) async fn post_forwarded(client: &reqwest::Client, url: &str, key: &str, body: &str) -> anyhow::Result<()> {
    let response = client
        .post(url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.with_context(|| format!("POST {url}: reading the answer"))?;
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if status != 200 || answer["status"] != 200 {
        anyhow::bail!("POST {url} answered {status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(300)]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn each_side_names_the_marked_segment_of_every_call_it_counts() {
        let plan =
            Plan { rounds: 2, segment: Duration::from_millis(20), warmup: Duration::from_millis(5), ..Plan::new(true) };
        let op = || async {
            tokio::task::yield_now().await;
            anyhow::Ok(())
        };
        let (keyway, baseline) = interleaved(&plan, 2, op, op).await.unwrap();

        for side in [&keyway, &baseline] {
            assert_eq!(side.segments().len(), plan.rounds);
            assert_eq!(side.segments().iter().map(|s| s.calls).sum::<u64>(), side.count());
            assert!(side.segments().iter().all(|s| s.calls > 0));
        }
        let mut profiles: Vec<u64> = keyway.segments().iter().chain(baseline.segments()).map(|s| s.profile).collect();
        profiles.sort_unstable();
        profiles.dedup();
        assert_eq!(profiles.len(), 2 * plan.rounds, "every segment ends at a mark of its own");
        // Round 0 runs the baseline first, round 1 Keyway first: the middle two are Keyway's.
        let (k, b) = (keyway.segments(), baseline.segments());
        assert!(b[0].profile < k[0].profile && k[0].profile < k[1].profile && k[1].profile < b[1].profile);
        assert_eq!(summary(&keyway)["segments"][1]["profile"], k[1].profile);
        assert!(summary(&Sample::default()).get("segments").is_none(), "unmarked samples say nothing of segments");
    }
}
