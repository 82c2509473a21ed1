//! Keyway's declarative actions: a named series of Web API calls, written as JSON, with
//! templating from the action's input and from earlier steps' responses.
//!
//! The host uses this crate natively to refuse a bad definition when an admin saves it
//! ([`Definition::parse`]); the built-in `declarative` guest component uses it to run one
//! ([`run`]) through the host's `api.call`, under the same sandbox, credentials and limits as
//! plugin actions.
//!
//! ```
//! use keyway_declarative::{Definition, StepResponse, run};
//! use serde_json::json;
//!
//! let definition = Definition::parse(r#"{
//!     "name": "star-count",
//!     "steps": [{"name": "repo", "method": "get", "path": "/repos/{{ input.owner }}/{{ input.repo }}"}],
//!     "output": {"stars": "{{ steps.repo.body.stargazers_count }}"}
//! }"#)?;
//! let output = run(&definition, &json!({"owner": "o", "repo": "r"}), |request| {
//!     assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/repos/o/r"));
//!     Ok(StepResponse { status: 200, headers: vec![], body: br#"{"stargazers_count": 42}"#.to_vec() })
//! })?;
//! // An exact template keeps the value's JSON type: 42, not "42".
//! assert_eq!(output, json!({"stars": 42}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Templating (minijinja syntax): a string that is exactly one `{{ expression }}` keeps the
//! expression's JSON type; a longer string with `{{ }}` or `{% %}` in it renders as text; any
//! other string is sent as written. Templates see `input` and `steps.NAME.status`,
//! `steps.NAME.headers` and `steps.NAME.body`. A missing value is an error that names the step,
//! the field and the path, never an empty string.
#![warn(missing_docs)]

mod definition;
#[cfg(feature = "openapi")]
pub mod openapi;
mod paths;
mod run;
mod template;

pub use definition::{Definition, DefinitionError, Location, MAX_NAME_LEN, MAX_STEPS, METHODS, Params, Step, StepRef};
pub use run::{RunError, StepRequest, StepResponse, run};

#[cfg(test)]
mod tests;
