//! Running a definition: template each step's request, send it, expose its response to the
//! steps after it, then template the output.
//!
//! The transport is a closure, so the same runner works in the built-in guest (over the host's
//! `api.call`) and in native unit tests (over a fake API).

use std::fmt;

use serde_json::{Map, Value};

use crate::definition::{Definition, Location, Params, Step};
use crate::template::{self, EvalError, Jinja, Scope};

/// How much of an error response's body a [`RunError::Status`] keeps.
const MAX_ERROR_BODY_CHARS: usize = 200;

/// One API call, as the runner wants it sent.
#[derive(Clone, PartialEq, Eq)]
pub struct StepRequest {
    /// The step's name, for logs.
    pub step: String,
    /// Uppercase: `GET`, `POST`, ...
    pub method: String,
    /// Relative to the API base (starts with `/`), or an absolute http(s) URL.
    pub path: String,
    /// Query parameters in order, not yet encoded.
    pub query: Vec<(String, String)>,
    /// Headers in order. `Content-Type: application/json` is added when there is a body and
    /// the step sets no content type.
    pub headers: Vec<(String, String)>,
    /// The JSON-encoded body, when the step has one.
    pub body: Option<Vec<u8>>,
}

impl fmt::Debug for StepRequest {
    // The body may be large; its size is enough in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepRequest")
            .field("step", &self.step)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &self.headers)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

/// The answer to a [`StepRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers; names in any case (the runner lowercases them).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// Why a run failed. Each message names the step (or `output`) and says what went wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// A template could not be evaluated: most often a value it reads does not exist.
    #[error("{at}: {message}")]
    Template {
        /// The templated string that failed.
        at: Location,
        /// What failed, naming the template, the missing path and what exists there.
        message: String,
        /// The path that does not exist (`input.title`, `steps.lookup.body.id`), when the
        /// failure is a missing value and the path could be found.
        undefined: Option<String>,
    },
    /// A step's request came out unusable: the path rendered to something that is not a path.
    #[error("{at}: {message}")]
    Request {
        /// The field at fault.
        at: Location,
        /// What is wrong.
        message: String,
    },
    /// The request could not be sent or answered (the transport's own message).
    #[error("step {} failed: {message}", Value::from(.step.as_str()))]
    Transport {
        /// The step's name.
        step: String,
        /// The transport's message, unchanged.
        message: String,
    },
    /// The API answered with a status outside 2xx.
    #[error("step {} got HTTP {status}: {body}", Value::from(.step.as_str()))]
    Status {
        /// The step's name.
        step: String,
        /// The status.
        status: u16,
        /// The start of the response body, as text.
        body: String,
    },
}

impl RunError {
    /// Whether the failure is a value missing from the action's input (`input.title` is
    /// undefined), so the caller should fix the input rather than the definition.
    pub fn concerns_input(&self) -> bool {
        match self {
            RunError::Template { undefined: Some(path), .. } => {
                path == "input" || path.starts_with("input.") || path.starts_with("input[")
            }
            _ => false,
        }
    }
}

/// Runs `definition` with `input`, sending each step's request through `send`.
///
/// Steps run in order, and each step's response is visible to the steps after it as
/// `steps.NAME.status`, `steps.NAME.headers` (lowercase names) and `steps.NAME.body` (parsed JSON
/// when the response is JSON, `null` when it is empty, else the text). The first step that fails
/// (a template error, a transport error, or a status outside 2xx) ends the run. Returns the
/// templated `output`, or the last step's body when the definition has none.
///
/// The input is not validated here: the host checks it against `input_schema` before running.
pub fn run<F>(definition: &Definition, input: &Value, mut send: F) -> Result<Value, RunError>
where
    F: FnMut(StepRequest) -> Result<StepResponse, String>,
{
    let env = template::environment();
    let input_jinja = Jinja::from_serialize(input);
    let mut steps_json = Value::Object(Map::new());
    let mut steps_jinja: Vec<(String, Jinja)> = Vec::new();
    let mut last_body = Value::Null;
    for (index, step) in definition.steps.iter().enumerate() {
        let scope = Scope {
            jinja: Jinja::from_iter([
                ("input", input_jinja.clone()),
                ("steps", Jinja::from_iter(steps_jinja.iter().cloned())),
            ]),
            input,
            steps: &steps_json,
        };
        let request = build_request(&env, index, step, &scope)?;
        let response = send(request).map_err(|message| RunError::Transport { step: step.name.clone(), message })?;
        if !(200..300).contains(&response.status) {
            return Err(RunError::Status {
                step: step.name.clone(),
                status: response.status,
                body: excerpt(&response.body),
            });
        }
        let result = step_result(&response);
        last_body = result["body"].clone();
        steps_jinja.push((step.name.clone(), Jinja::from_serialize(&result)));
        if let Value::Object(map) = &mut steps_json {
            map.insert(step.name.clone(), result);
        }
    }
    let Some(output) = &definition.output else {
        return Ok(last_body);
    };
    let scope = Scope {
        jinja: Jinja::from_iter([("input", input_jinja), ("steps", Jinja::from_iter(steps_jinja))]),
        input,
        steps: &steps_json,
    };
    template::eval_value(&env, output, "output", &scope).map_err(|(field, e)| template_error(Location::top(field), e))
}

/// Templates one step's request.
fn build_request<'a>(
    env: &minijinja::Environment<'a>,
    index: usize,
    step: &'a Step,
    scope: &Scope<'_>,
) -> Result<StepRequest, RunError> {
    let at = |field: &str| Location::step(index, &step.name, field);
    let path = match template::eval_str(env, &step.path, scope).map_err(|e| template_error(at("path"), e))? {
        Value::String(path) => path,
        other => {
            return Err(RunError::Request {
                at: at("path"),
                message: format!("the path must render to a string, not {other}"),
            });
        }
    };
    let lower = path.to_ascii_lowercase();
    if !(path.starts_with('/') || lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(RunError::Request {
            at: at("path"),
            message: format!(
                "the path rendered to {}, which neither starts with `/` nor is an absolute http(s) URL",
                Value::from(path)
            ),
        });
    }
    let params = |part: &str, pairs: &'a Params| -> Result<Vec<(String, String)>, RunError> {
        let mut out = Vec::new();
        for (name, value) in pairs.iter() {
            let field = template::child(part, name);
            let value = template::eval_value(env, value, &field, scope).map_err(|(f, e)| template_error(at(&f), e))?;
            match value {
                // A value that evaluates to null leaves the parameter out: that is how an
                // optional input is sent only when given (`{{ input.since | default(none) }}`).
                Value::Null => {}
                Value::String(s) => out.push((name.to_string(), s)),
                other => out.push((name.to_string(), other.to_string())),
            }
        }
        Ok(out)
    };
    let query = params("query", &step.query)?;
    let mut headers = params("headers", &step.headers)?;
    let body = match &step.body {
        Some(body) => {
            let value = template::eval_value(env, body, "body", scope).map_err(|(f, e)| template_error(at(&f), e))?;
            if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
            }
            Some(serde_json::to_vec(&value).expect("a JSON value always serializes"))
        }
        None => None,
    };
    Ok(StepRequest { step: step.name.clone(), method: step.method.to_ascii_uppercase(), path, query, headers, body })
}

fn template_error(at: Location, e: EvalError) -> RunError {
    RunError::Template { at, message: e.message, undefined: e.missing.map(|m| m.path) }
}

/// What later templates see of a response: `{status, headers, body}`.
fn step_result(response: &StepResponse) -> Value {
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        let name = name.to_ascii_lowercase();
        // Repeated headers combine as HTTP allows, into one comma-separated value.
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.clone()));
            }
        }
    }
    let is_json = headers.get("content-type").and_then(Value::as_str).map(|ct| {
        let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        media == "application/json" || media.ends_with("+json")
    });
    let text = String::from_utf8_lossy(&response.body);
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        // Without a content type, a body that parses as JSON is taken as JSON.
        match is_json {
            Some(false) => Value::String(text.into_owned()),
            _ => serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned())),
        }
    };
    serde_json::json!({"status": response.status, "headers": headers, "body": body})
}

/// The start of an error body, for a message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() <= MAX_ERROR_BODY_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_ERROR_BODY_CHARS).collect();
    format!("{cut}…")
}
