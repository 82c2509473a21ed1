//! Actions for the host's action tests, built with the SDK like any plugin:
//!
//! | action | input | does | output |
//! |---|---|---|---|
//! | `hunt` | `{paths: [string]}` | `GET` each path through the API import | everything the action was given: its name, its input, its whole context, and each answer's status, headers and body (or the error) |
//! | `spin-calls` | `{path, count}` | `GET path` `count` times, carrying on after errors | `{attempted, succeeded, failed, first_error, first_error_kind}` |
//! | `call-url` | `{url}` | `GET url` (an absolute URL) | `{status}` or `{error, kind}` |
//!
//! `hunt` lets a host test search everything action code can see for the connection's tokens; `spin-calls`
//! and `call-url` show what the host's call cap, deadline and allowlist do to action code. All calls use the
//! raw [`api::call`], so every status and host error reaches the output as it came.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::{Value, json};

/// The hunter; its auth hooks are standard.
#[derive(Default)]
struct GuestTokenHunt;

impl Plugin for GuestTokenHunt {
    fn manifest(&self) -> Manifest {
        let object = |properties: Value, required: &[&str]| json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false});
        Manifest {
            actions: vec![
                ActionSpec::new(
                    "hunt",
                    "Calls each path and returns everything the action was given",
                    object(json!({"paths": {"type": "array", "items": {"type": "string"}}}), &["paths"]),
                    json!({"type": "object", "required": ["name", "input", "context", "responses"]}),
                ),
                ActionSpec::new(
                    "spin-calls",
                    "Calls one path `count` times and counts what succeeded",
                    object(
                        json!({"path": {"type": "string"}, "count": {"type": "integer", "minimum": 0, "maximum": 10000}}),
                        &["path", "count"],
                    ),
                    object(
                        json!({
                            "attempted": {"type": "integer"},
                            "succeeded": {"type": "integer"},
                            "failed": {"type": "integer"},
                            "first_error": {"type": ["string", "null"]},
                            "first_error_kind": {"type": ["string", "null"]},
                        }),
                        &["attempted", "succeeded", "failed", "first_error", "first_error_kind"],
                    ),
                ),
                ActionSpec::new(
                    "call-url",
                    "Calls one absolute URL and reports the status or the host's error",
                    object(json!({"url": {"type": "string"}}), &["url"]),
                    json!({"type": "object", "properties": {
                        "status": {"type": "integer"},
                        "error": {"type": "string"},
                        "kind": {"type": "string"},
                    }}),
                ),
            ],
            ..standard::manifest()
        }
    }

    fn invoke(&self, ctx: &ActionContext, name: &str, input: Value) -> Result<Value, ActionError> {
        match name {
            "hunt" => Ok(hunt(ctx, name, input)),
            "spin-calls" => {
                Ok(spin_calls(input["path"].as_str().unwrap_or_default(), input["count"].as_u64().unwrap_or(0)))
            }
            "call-url" => Ok(call_url(input["url"].as_str().unwrap_or_default())),
            _ => standard::invoke(ctx, name, input),
        }
    }
}

/// Pairs as a JSON list of `[name, value]`, keeping order and repeats.
fn pairs(pairs: &[(String, String)]) -> Value {
    json!(pairs.iter().map(|(name, value)| [name, value]).collect::<Vec<_>>())
}

/// The host's error as a short name, so tests need not match on message text.
fn kind(error: &HttpError) -> &'static str {
    match error {
        HttpError::Denied(_) => "denied",
        HttpError::Timeout => "timeout",
        HttpError::TooLarge(_) => "too-large",
        HttpError::Transport(_) => "transport",
    }
}

fn hunt(ctx: &ActionContext, name: &str, input: Value) -> Value {
    let responses: Vec<Value> = input["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|path| match api::call(&ApiRequest::get(path)) {
            Ok(response) => json!({
                "path": path,
                "status": response.status,
                "headers": pairs(&response.headers),
                "body": response.text(),
            }),
            Err(error) => json!({"path": path, "error": error.to_string(), "kind": kind(&error)}),
        })
        .collect();
    json!({
        "name": name,
        "input": input,
        "context": {
            "connection_id": ctx.connection_id,
            "inputs": pairs(&ctx.inputs),
            "metadata": pairs(&ctx.metadata),
            // As received, so nothing the host put there is lost to parsing.
            "settings": ctx.settings,
            "definition": ctx.definition,
            "debug": format!("{ctx:?}"),
        },
        "responses": responses,
    })
}

fn spin_calls(path: &str, count: u64) -> Value {
    let (mut succeeded, mut failed, mut first_error) = (0u64, 0u64, None::<HttpError>);
    // Carry on after an error, so a test can check that no call got through after the cap.
    for _ in 0..count {
        match api::call(&ApiRequest::get(path)) {
            Ok(_) => succeeded += 1,
            Err(error) => {
                failed += 1;
                first_error.get_or_insert(error);
            }
        }
    }
    json!({
        "attempted": count,
        "succeeded": succeeded,
        "failed": failed,
        "first_error": first_error.as_ref().map(HttpError::to_string),
        "first_error_kind": first_error.as_ref().map(kind),
    })
}

fn call_url(url: &str) -> Value {
    match api::call(&ApiRequest::get(url)) {
        Ok(response) => json!({"status": response.status}),
        Err(error) => json!({"error": error.to_string(), "kind": kind(&error)}),
    }
}

keyway_sdk::export!(GuestTokenHunt);
