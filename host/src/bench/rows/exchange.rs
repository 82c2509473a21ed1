//! Row 3: the code exchange. Keyway's callback (`GET /oauth`: state check, `parse-callback`,
//! `token-request`, the token call to the provider, `parse-token-response`, sealing, storing)
//! against a direct exchange with reqwest (POST the same token request to the same provider
//! and parse its JSON). The provider is the mock (`keyway-mock-provider`) on loopback, its
//! token endpoint answering at once and after 2 ms; each side's codes are minted before its
//! clock starts, so only the exchange is timed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use keyway_mock_provider::{MockConfig, MockProvider};
use oauth2::PkceCodeChallenge;
use serde_json::json;

use super::{summary, unique};
use crate::bench::keyway::{Api, KeywayServer, id_of};
use crate::bench::load::{self, Sample};
use crate::bench::{Measure, Plan, Row, Target};

/// What a direct client parses out of the token response.
#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[allow(dead_code, reason = "parsed as a client would, to check the answer's shape")]
    token_type: String,
    #[allow(dead_code, reason = "parsed as a client would, to check the answer's shape")]
    refresh_token: Option<String>,
}

/// A code minted for the direct client, with its PKCE verifier.
struct DirectCode {
    code: String,
    verifier: String,
}

/// The `Location` an authorize URL redirects to (the mock approves at once).
async fn follow_authorize(http: &reqwest::Client, authorize_url: &str) -> anyhow::Result<String> {
    let response = http.get(authorize_url).send().await.context("the mock's authorize endpoint")?;
    let location = response.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_string);
    location.with_context(|| format!("the mock's authorize endpoint answered {} without a redirect", response.status()))
}

/// A pending Keyway connection's callback URL, with the mock's code and Keyway's state.
async fn keyway_callback(api: &Api, integration: &str) -> anyhow::Result<String> {
    let created = api.post(&format!("/api/v1/integrations/{integration}/connections"), json!({}), 201).await?;
    let authorize = created["authorize_url"].as_str().context("no authorize_url for an oauth2 connection")?;
    follow_authorize(&api.http, authorize).await
}

async fn direct_code(http: &reqwest::Client, mock: &MockProvider, redirect_uri: &str) -> anyhow::Result<DirectCode> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let config = mock.config();
    let mut url = url::Url::parse(&mock.authorization_url())?;
    url.query_pairs_mut()
        .append_pair("scope", "read")
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", "bench")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let location = url::Url::parse(&follow_authorize(http, url.as_str()).await?)?;
    let code = location.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
    Ok(DirectCode { code: code.context("the mock redirected without a code")?, verifier: verifier.secret().clone() })
}

/// The direct exchange: what a bare client does with a code.
async fn direct_exchange(
    http: &reqwest::Client,
    token_url: &str,
    basic: &str,
    redirect_uri: &str,
    code: DirectCode,
) -> anyhow::Result<()> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code.code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", &code.verifier),
    ];
    let response = http
        .post(token_url)
        .header("authorization", basic)
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    let parsed: TokenResponse = serde_json::from_slice(&bytes)
        .with_context(|| format!("the token endpoint answered {status}: {}", String::from_utf8_lossy(&bytes)))?;
    if !status.is_success() || parsed.access_token.is_empty() {
        bail!("the token endpoint answered {status}");
    }
    Ok(())
}

async fn keyway_exchange(http: &reqwest::Client, callback: String) -> anyhow::Result<()> {
    let response = http.get(&callback).send().await.context("GET /oauth")?;
    let status = response.status();
    if status != 200 {
        bail!("Keyway's callback answered {status}: {}", response.text().await.unwrap_or_default());
    }
    Ok(())
}

/// Runs the prepared inputs of both sides at `concurrency`, half of each, then the rest in
/// the other order (Keyway, baseline, baseline, Keyway).
async fn alternate(
    concurrency: usize,
    mut callbacks: Vec<String>,
    mut codes: Vec<DirectCode>,
    keyway: impl Fn(String) -> load::BoxedOp + Clone + Send + Sync + 'static,
    direct: impl Fn(DirectCode) -> load::BoxedOp + Clone + Send + Sync + 'static,
) -> anyhow::Result<(Sample, Sample)> {
    let (late_callbacks, late_codes) = (callbacks.split_off(callbacks.len() / 2), codes.split_off(codes.len() / 2));
    let mut k = load::for_each(callbacks, concurrency, keyway.clone()).await.context("Keyway's callback")?;
    let mut b = load::for_each(codes, concurrency, direct.clone()).await.context("the direct exchange")?;
    b.merge(&load::for_each(late_codes, concurrency, direct).await.context("the direct exchange")?);
    k.merge(&load::for_each(late_callbacks, concurrency, keyway).await.context("Keyway's callback")?);
    Ok((k, b))
}

/// The token endpoint's latencies, in ms: at once, and after 2 ms as a real provider might.
const LATENCIES: [u64; 2] = [0, 2];

/// Measures the median at c=1 and the throughput at the plan's concurrency, with the
/// provider answering at once and after 2 ms.
pub async fn run(plan: &Plan, keyway: &KeywayServer) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for latency in LATENCIES {
        rows.extend(run_at(plan, keyway, Duration::from_millis(latency)).await?);
    }
    Ok(rows)
}

/// The two rows with a provider whose token endpoint answers after `latency`.
async fn run_at(plan: &Plan, keyway: &KeywayServer, latency: Duration) -> anyhow::Result<Vec<Row>> {
    // Tokens that never expire: no refresh may run while the bench does.
    let mock =
        MockProvider::start(MockConfig { access_token_ttl: None, token_latency: latency, ..MockConfig::default() })
            .await
            .context("starting the mock provider")?;
    let config = mock.config();
    let api = &keyway.api;
    let integration = api
        .post(
            "/api/v1/integrations",
            json!({
                "name": unique("bench-exchange"),
                "client_id": config.client_id, "client_secret": config.client_secret,
                "site": mock.base_url(), "authorization_url": mock.authorization_url(),
                "token_path": MockProvider::TOKEN_PATH, "scopes": ["read"],
            }),
            201,
        )
        .await?;
    let integration = id_of(&integration)?;
    let direct_http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let redirect_uri: Arc<str> = keyway.redirect_uri.clone().into();
    let token_url: Arc<str> = mock.token_url().into();
    let basic: Arc<str> = keyway_sdk::basic_auth(&config.client_id, &config.client_secret).into();

    let keyway_op = {
        let http = api.http.clone();
        move |callback: String| -> load::BoxedOp {
            let http = http.clone();
            Box::pin(async move { keyway_exchange(&http, callback).await })
        }
    };
    let direct_op = {
        let (http, token_url, basic, redirect_uri) =
            (direct_http.clone(), token_url.clone(), basic.clone(), redirect_uri.clone());
        move |code: DirectCode| -> load::BoxedOp {
            let (http, token_url, basic, redirect_uri) =
                (http.clone(), token_url.clone(), basic.clone(), redirect_uri.clone());
            Box::pin(async move { direct_exchange(&http, &token_url, &basic, &redirect_uri, code).await })
        }
    };

    let prepare = async |n: usize| -> anyhow::Result<(Vec<String>, Vec<DirectCode>)> {
        let (mut callbacks, mut codes) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            callbacks.push(keyway_callback(api, &integration).await?);
            codes.push(direct_code(&direct_http, &mock, &redirect_uri).await?);
        }
        Ok((callbacks, codes))
    };
    // Warm-up: the first exchanges pay for connections and lazily built state.
    let (callbacks, codes) = prepare(plan.exchanges.div_ceil(10)).await?;
    alternate(1, callbacks, codes, keyway_op.clone(), direct_op.clone()).await?;

    let (callbacks, codes) = prepare(plan.exchanges).await?;
    let (k1, b1) = alternate(1, callbacks, codes, keyway_op.clone(), direct_op.clone()).await?;
    let concurrency = plan.exchange_concurrency;
    let (callbacks, codes) = prepare(plan.exchanges).await?;
    let (kc, bc) = alternate(concurrency, callbacks, codes, keyway_op, direct_op).await?;
    mock.clear_requests();

    let speed = 0.8;
    let ms = latency.as_millis();
    Ok(vec![
        Row::measured(
            &format!("exchange_p50_c1_{ms}ms"),
            &format!("code exchange p50 c=1, provider {ms} ms (callback vs direct)"),
            Measure::latency(k1.p50()),
            Measure::latency(b1.p50()),
            // ≥ 0.8× the direct exchange's speed is ≤ 1/0.8 of its time.
            Target::RatioAtMost(1.0 / speed),
        )
        .note("target ≥ 0.8× direct's speed, i.e. ≤ 1.25× its time")
        .details(json!({"keyway": summary(&k1), "baseline": summary(&b1), "exchanges": plan.exchanges, "latency_ms": ms})),
        Row::measured(
            &format!("exchange_throughput_{ms}ms"),
            &format!("code exchanges/s c={concurrency}, provider {ms} ms (callback vs direct)"),
            Measure::per_second(kc.rps()),
            Measure::per_second(bc.rps()),
            Target::RatioAtLeast(speed),
        )
        .details(json!({"keyway": summary(&kc), "baseline": summary(&bc), "exchanges": plan.exchanges, "concurrency": concurrency, "latency_ms": ms})),
    ])
}
