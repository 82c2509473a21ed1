//! Probes the sandbox and the egress policy from inside `authorize_url`, driven by the
//! integration's settings `{"mode": "...", "url": "..."}`. The answer (`Ok` or
//! `AuthError::Transport`) tells the host test what the guest could do:
//!
//! | mode | does | answers |
//! |---|---|---|
//! | `outbound` | `GET url` through the host's outbound import | `status=N`, or the `HttpError` |
//! | `api` | `GET url` through the API import (refused to auth hooks) | `status=N`, or the `HttpError` |
//! | `env` | counts environment variables | `env=N` |
//! | `fs` | lists `/` | `fs=ok`, or `fs: <error>` |
//! | `tcp` | opens a TCP connection to `url` (`host:port`) | `tcp=ok`, or `tcp: <error>` |
//! | `sleep` | `std::thread::sleep` for `ms` milliseconds | `slept` |
//! | `clock` | reads the monotonic and wall clocks | `clock=ok`, or what failed |
//! | `flood` | `GET url?pad=<pad bytes>` `count` times, carrying on after errors | `sent=N failed=M` |
//!
//! Its manifest declares one extra host and one input, so the host can test manifest reading.

use keyway_sdk::{
    ApiRequest, AuthError, AuthorizeRequest, HookContext, HttpRequest, HttpResponse, InputSpec, Manifest, Plugin, api,
    http, standard,
};

/// The probe; every hook but `authorize_url` is standard.
#[derive(Default)]
struct GuestProbe;

/// Reports a response's status, or the host's refusal as a transport error.
fn status(result: Result<HttpResponse, keyway_sdk::HttpError>) -> Result<String, AuthError> {
    match result {
        Ok(response) => Ok(format!("status={}", response.status)),
        Err(e) => Err(AuthError::Transport(e.to_string())),
    }
}

impl Plugin for GuestProbe {
    fn manifest(&self) -> Manifest {
        Manifest {
            hosts: vec!["http://declared.test".to_string()],
            inputs: vec![InputSpec {
                name: "tenant".to_string(),
                label: "Tenant".to_string(),
                pattern: Some("^[a-z0-9-]+$".to_string()),
                required: true,
            }],
            ..standard::manifest()
        }
    }

    fn authorize_url(&self, ctx: &HookContext, _req: &AuthorizeRequest) -> Result<String, AuthError> {
        let settings = ctx.settings();
        let mode = settings["mode"].as_str().unwrap_or_default();
        let url = settings["url"].as_str().unwrap_or_default();
        match mode {
            "outbound" => status(http::send(&HttpRequest::get(url))),
            "api" => status(api::call(&ApiRequest::get(url))),
            "env" => Ok(format!("env={}", std::env::vars().count())),
            "fs" => match std::fs::read_dir("/") {
                Ok(_) => Ok("fs=ok".to_string()),
                Err(e) => Err(AuthError::Transport(format!("fs: {e}"))),
            },
            "tcp" => match std::net::TcpStream::connect(url) {
                Ok(_) => Ok("tcp=ok".to_string()),
                Err(e) => Err(AuthError::Transport(format!("tcp: {e}"))),
            },
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_millis(settings["ms"].as_u64().unwrap_or(1000)));
                Ok("slept".to_string())
            }
            "clock" => clock(),
            "flood" => {
                let padded = format!("{url}?pad={}", "a".repeat(settings["pad"].as_u64().unwrap_or(0) as usize));
                let (mut sent, mut failed) = (0, 0);
                // Errors are swallowed: only the host can stop the flood.
                for _ in 0..settings["count"].as_u64().unwrap_or(1) {
                    match http::send(&HttpRequest::get(&padded)) {
                        Ok(_) => sent += 1,
                        Err(_) => failed += 1,
                    }
                }
                Ok(format!("sent={sent} failed={failed}"))
            }
            other => Err(AuthError::InvalidConfig(format!(
                "unknown probe mode `{other}`: use outbound, api, env, fs, tcp, sleep, clock or flood"
            ))),
        }
    }
}

/// The clocks a plugin needs (timestamps, elapsed time) work, even though sleeping does not.
fn clock() -> Result<String, AuthError> {
    let started = std::time::Instant::now();
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| AuthError::Transport(format!("wall clock: {e}")))?;
    if since_epoch.as_secs() < 1_700_000_000 {
        return Err(AuthError::Transport(format!("wall clock reads {since_epoch:?}")));
    }
    if started.elapsed() > std::time::Duration::from_secs(60) {
        return Err(AuthError::Transport("monotonic clock jumped".into()));
    }
    Ok("clock=ok".to_string())
}

keyway_sdk::export!(GuestProbe);
