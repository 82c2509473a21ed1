//! Row 7: how long a change made on one replica takes to stop the other replica's hot-path
//! cache from using the old row. Two in-process servers share one database (and its master
//! and admin keys, as replicas do). Each trial caches a connection on replica B with one
//! `/request`, deletes it on A, and then has B ask again until it refuses: the time from A's
//! answer to B's first refusal is the propagation latency. The baseline is the same on A
//! itself, which drops the row as it commits the change (written through), so its figure is
//! one refused request.
//!
//! There is no target: the issue asks for this figure to be reported, never asserted. On
//! SQLite it is bounded by the watcher's `data_version` poll (200 ms); on PostgreSQL by
//! `NOTIFY` delivery.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;

use super::{summary, unique};
use crate::bench::keyway::{Api, KeywayServer};
use crate::bench::load::Sample;
use crate::bench::upstream::Upstream;
use crate::bench::{Measure, Plan, Row, Target};
use crate::crypto::MasterKey;
use crate::keys::ApiKey;

/// Past this, B is taken never to have noticed: the bench fails rather than wait forever.
const GIVE_UP: Duration = Duration::from_secs(10);

fn name(backend: &str) -> (String, String) {
    (
        format!("propagation_p50_{}", backend.to_lowercase()),
        format!("cache invalidation across replicas, p50 ({backend})"),
    )
}

/// The row of `backend`, skipped for `why`.
pub fn skipped(backend: &str, why: &str) -> Row {
    let (id, benchmark) = name(backend);
    Row::skipped(&id, &benchmark, Target::Reported, why)
}

/// Measures propagation between two replicas on `database_url`, keeping compiled plugins in
/// `data_dir`.
pub async fn run(
    plan: &Plan,
    upstream: &Upstream,
    data_dir: &Path,
    database_url: &str,
    backend: &str,
) -> anyhow::Result<Row> {
    let (master, admin) = (MasterKey::generate(), ApiKey::generate());
    let a = KeywayServer::start_replica(data_dir, Some(database_url), master.clone(), admin.clone())
        .await
        .context("starting replica A")?;
    let b =
        KeywayServer::start_replica(data_dir, Some(database_url), master, admin).await.context("starting replica B")?;
    let (integration, _) = a.api.token_connection(&unique("bench-propagation"), &upstream.base_url()).await?;

    let (mut across, mut local) = (Sample::default(), Sample::default());
    let started = Instant::now();
    for _ in 0..plan.propagation_trials {
        across.record(trial(&a.api, &b.api, &integration).await.context("replica B")?);
        local.record(trial(&a.api, &a.api, &integration).await.context("replica A")?);
    }
    let (id, benchmark) = name(backend);
    Ok(Row::measured(&id, &benchmark, Measure::latency(across.p50()), Measure::latency(local.p50()), Target::Reported)
        .note(format!(
            "{backend}: from the DELETE's answer on replica A to replica B's first refusal; baseline: A's own \
             refusal. {}",
            if backend == "SQLite" {
                "SQLite's watcher polls `data_version` every 200 ms, which bounds it"
            } else {
                "carried by LISTEN/NOTIFY"
            }
        ))
        .details(json!({
            "across_replicas": summary(&across),
            "same_replica": summary(&local),
            "max_us": across.quantile(1.0).as_secs_f64() * 1e6,
            "trials": plan.propagation_trials,
            "seconds": started.elapsed().as_secs_f64(),
        })))
}

/// One trial: a connection is created on `writer`, cached on `reader` by a first request,
/// deleted on `writer`; returns how long `reader` went on serving it.
async fn trial(writer: &Api, reader: &Api, integration: &str) -> anyhow::Result<Duration> {
    let created = writer
        .post(
            &format!("/api/v1/integrations/{integration}/connections"),
            json!({"credentials": {"token": crate::bench::upstream::UPSTREAM_TOKEN}}),
            201,
        )
        .await?;
    let connection = crate::bench::keyway::id_of(&created)?;
    let path = format!("/api/v1/connections/{connection}/request");
    let body = json!({"method": "GET", "path": "/wait/0"});
    reader.post(&path, body.clone(), 200).await.context("the first request, which caches the connection")?;
    writer.delete(&format!("/api/v1/connections/{connection}"), 204).await?;
    let deleted = Instant::now();
    loop {
        let status = reader
            .http
            .post(format!("{}{path}", reader.base))
            .bearer_auth(&reader.key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .with_context(|| format!("POST {path}"))?
            .status()
            .as_u16();
        match status {
            404 => return Ok(deleted.elapsed()),
            200 if deleted.elapsed() < GIVE_UP => continue,
            200 => bail!("still served the deleted connection {GIVE_UP:?} after the delete: the change never arrived"),
            other => bail!("POST {path} answered {other}, neither the cached 200 nor the 404 of a deleted connection"),
        }
    }
}
