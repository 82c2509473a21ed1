//! Row 2: one hook call, `authorize-url` in a fresh instance of the built-in standard
//! component (what every new connection costs in the engine), against the same formatting in
//! native Rust: the SDK's `standard::authorize_url`, the very function the component runs.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;

use super::summary;
use crate::bench::load::Sample;
use crate::bench::{Measure, Plan, Row, Target};
use crate::builtin::{STANDARD_OAUTH2_WASM, STANDARD_PLUGIN};
use crate::egress::{EgressClient, EgressConfig};
use crate::engine::bindings::auth_flow::AuthorizeRequest;
use crate::engine::bindings::types::{AuthMethod, ClientAuth, HookContext, Integration};
use crate::engine::{CallEnv, Limits, PluginEngine};

/// A typical integration: the help article's fields, three scopes, PKCE.
fn integration() -> Integration {
    Integration {
        auth_method: AuthMethod::Oauth2,
        client_id: "bench-client-4711".into(),
        client_secret: "bench-secret".into(),
        site: "https://app.example.com".into(),
        authorization_url: "https://app.example.com/oauth/authorize".into(),
        token_path: "/oauth/token".into(),
        revoke_path: Some("/oauth/revoke".into()),
        scopes: vec!["read".into(), "write".into(), "offline_access".into()],
        client_auth: ClientAuth::Basic,
        pkce: true,
        settings: "{}".into(),
    }
}

fn request() -> AuthorizeRequest {
    AuthorizeRequest {
        redirect_uri: "https://keyway.example.com/oauth".into(),
        state: "w2Qx8rT1b5sKpZ3mN7vY0cHjLd4".into(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
    }
}

/// The same inputs as the SDK's types, for the native side.
fn native_inputs() -> (keyway_sdk::HookContext, keyway_sdk::AuthorizeRequest) {
    let i = integration();
    let ctx = keyway_sdk::HookContext {
        integration: keyway_sdk::Integration {
            auth_method: keyway_sdk::AuthMethod::Oauth2,
            client_id: i.client_id,
            client_secret: i.client_secret,
            site: i.site,
            authorization_url: i.authorization_url,
            token_path: i.token_path,
            revoke_path: i.revoke_path,
            scopes: i.scopes,
            client_auth: keyway_sdk::ClientAuth::Basic,
            pkce: i.pkce,
            settings: i.settings,
        },
        inputs: Vec::new(),
        metadata: Vec::new(),
    };
    let r = request();
    let req =
        keyway_sdk::AuthorizeRequest { redirect_uri: r.redirect_uri, state: r.state, code_challenge: r.code_challenge };
    (ctx, req)
}

/// Times `plan.hook_iterations` calls of each, one by one, after a tenth as many untimed.
pub async fn run(plan: &Plan) -> anyhow::Result<Vec<Row>> {
    let engine = PluginEngine::new(Limits::default())?;
    let egress = EgressClient::new(EgressConfig::default())?;
    let plugin = engine.load(STANDARD_OAUTH2_WASM, &egress).await.context("loading the standard component")?;
    let (ctx, req) = (HookContext { integration: integration(), inputs: Vec::new(), metadata: Vec::new() }, request());
    let (native_ctx, native_req) = native_inputs();

    let warmup = plan.hook_iterations / 10;
    let (mut wasm, mut native) = (Sample::default(), Sample::default());
    let mut urls = (String::new(), String::new());
    for i in 0..warmup + plan.hook_iterations {
        // The inputs are cloned before the clock starts: the host builds them in any case.
        let env = CallEnv::sealed(STANDARD_PLUGIN, egress.clone());
        let (ctx, req) = (ctx.clone(), req.clone());
        let started = Instant::now();
        let (result, _env) = engine.authorize_url(&plugin, env, ctx, req).await?;
        let took = started.elapsed();
        urls.0 = result.map_err(|e| anyhow::anyhow!("authorize-url failed: {e:?}"))?;

        let started = Instant::now();
        let url = keyway_sdk::standard::authorize_url(&native_ctx, &native_req);
        let native_took = started.elapsed();
        urls.1 = url.map_err(|e| anyhow::anyhow!("the native authorize_url failed: {e}"))?;
        if i >= warmup {
            wasm.record(took);
            native.record(native_took);
        }
    }
    // Only a like-for-like comparison means anything.
    if urls.0 != urls.1 {
        bail!("the component and the native function formatted different URLs:\n  {}\n  {}", urls.0, urls.1);
    }
    let target = Target::AtMostAndRatio { max: Duration::from_micros(30), ratio: 20.0 };
    Ok(vec![
        Row::measured(
            "hook_authorize_url_p50",
            "hook call: fresh instance + authorize-url, p50",
            Measure::latency(wasm.p50()),
            Measure::latency(native.p50()),
            target,
        )
        .note("baseline: keyway_sdk::standard::authorize_url called natively; both format the same URL")
        .details(json!({"keyway": summary(&wasm), "baseline": summary(&native), "iterations": plan.hook_iterations})),
    ])
}
