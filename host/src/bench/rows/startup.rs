//! Row 5: start-up with installed plugins, the compiled-artifact cache warm against cold:
//! the time to build the engine and open the plugin registry (which loads the two built-in
//! components and every installed plugin), as `keyway serve` does at start.
//!
//! The plugins are the standard component, each with one distinct custom section appended (a
//! component-level custom section is valid and changes nothing it does), so each has its own
//! hash and is compiled on its own. `PluginRegistry::install` would refuse them, since their
//! manifests all say `standard-oauth2`, so the bench stores them as `install` would have, each
//! under its own name, and the registry loads them by hash like any installed plugin.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use keyway_store::PluginRecord;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::bench::{Measure, Plan, Row, Target};
use crate::builtin::STANDARD_OAUTH2_WASM;
use crate::egress::{EgressClient, EgressConfig};
use crate::engine::{Limits, PluginEngine};
use crate::registry::PluginRegistry;

/// Timed warm starts; the median counts.
const WARM_STARTS: usize = 3;

/// `bytes` with a custom section `name` holding `payload` appended.
fn with_custom_section(bytes: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut content = Vec::new();
    leb128(name.len(), &mut content);
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);
    let mut out = bytes.to_vec();
    out.push(0); // the custom section's id
    leb128(content.len(), &mut out);
    out.extend_from_slice(&content);
    out
}

/// Builds the engine with its cache in `cache`, opens the registry and checks that every
/// plugin loaded; returns how long that took.
async fn start(
    store: &std::sync::Arc<dyn keyway_store::Store>,
    cache: &std::path::Path,
    plugins: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let engine = std::sync::Arc::new(
        PluginEngine::new(Limits::default())?.with_cache_dir(crate::serve::open_private_dir(cache)?),
    );
    let egress = EgressClient::new(EgressConfig::default())?;
    let registry = PluginRegistry::open(engine, egress, store.clone()).await?;
    let took = started.elapsed();
    let loaded = registry.entries().iter().filter(|e| registry.loaded(&e.hash).is_some()).count();
    if loaded != plugins + 1 {
        bail!("the registry loaded {loaded} of the {} plugins it lists", plugins + 1);
    }
    Ok(took)
}

/// Times one cold start (an empty cache directory) and the median of warm ones (the same
/// directory, filled by the cold start).
pub async fn run(plan: &Plan) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let store = keyway_store::connect(&format!("sqlite:{}", dir.path().join("plugins.db").display()))
        .await
        .context("opening the start-up row's SQLite store")?;
    let n = plan.startup_plugins;
    for i in 0..n {
        let bytes = with_custom_section(STANDARD_OAUTH2_WASM, "keyway-bench", format!("copy {i}").as_bytes());
        store
            .put_plugin(&PluginRecord {
                hash: hex::encode(Sha256::digest(&bytes)),
                name: format!("bench-plugin-{i:02}"),
                version: "1.0.0".into(),
                bytes,
                created_at: 0,
            })
            .await?;
    }
    let cache = dir.path().join("compiled");
    let cold = start(&store, &cache, n).await.context("the cold start")?;
    let mut warm = Vec::with_capacity(WARM_STARTS);
    for _ in 0..WARM_STARTS {
        warm.push(start(&store, &cache, n).await.context("a warm start")?);
    }
    warm.sort();
    let median = warm[warm.len() / 2];
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    Ok(vec![
        Row::measured(
            "startup_warm_vs_cold",
            &format!("start-up, {n} installed plugins: warm cache vs cold"),
            Measure::millis(median),
            Measure::millis(cold),
            Target::RatioAtMost(0.10),
        )
        .note(format!(
            "engine + registry open, {n} plugins + the 2 built-in components; the plugins are the standard \
             component with distinct custom sections, stored directly (install refuses a second `standard-oauth2`); \
             baseline = the cold start; median of {WARM_STARTS} warm starts"
        ))
        .details(json!({"plugins": n, "cold_ms": ms(&cold), "warm_ms": warm.iter().map(ms).collect::<Vec<_>>()})),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_section_keeps_the_component_well_formed_and_changes_its_hash() {
        // The bench itself loads the copies through the engine; this checks the encoding.
        let copy = with_custom_section(STANDARD_OAUTH2_WASM, "keyway-bench", b"copy 1");
        assert_ne!(Sha256::digest(&copy), Sha256::digest(STANDARD_OAUTH2_WASM));
        let payloads: Vec<wasmparser::Payload> =
            wasmparser::Parser::new(0).parse_all(&copy).collect::<Result<_, _>>().expect("well-formed");
        let sections: Vec<String> = payloads
            .iter()
            .filter_map(|p| match p {
                wasmparser::Payload::CustomSection(c) => Some(c.name().to_string()),
                _ => None,
            })
            .collect();
        assert!(sections.contains(&"keyway-bench".to_string()), "{sections:?}");
    }
}
