//! Declaring actions in the manifest, and reading their input and writing their output.
//!
//! The host validates an action's input against its input schema before the plugin runs (a 400
//! that names the field), and its output against the output schema after, so action code can
//! read its input into a struct and trust its shape:
//!
//! ```no_run
//! use keyway_sdk::action;
//! use keyway_sdk::prelude::*;
//! use keyway_sdk::serde_json::{Value, json};
//!
//! #[derive(serde::Deserialize)]
//! struct Greeting {
//!     name: String,
//! }
//!
//! fn spec() -> ActionSpec {
//!     ActionSpec::new(
//!         "greet",
//!         "Says hello",
//!         json!({
//!             "type": "object",
//!             "properties": { "name": { "type": "string", "minLength": 1 } },
//!             "required": ["name"],
//!             "additionalProperties": false,
//!         }),
//!         json!({ "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] }),
//!     )
//! }
//!
//! fn greet(input: Value) -> Result<Value, ActionError> {
//!     let input: Greeting = action::input(input)?;
//!     Ok(json!({ "text": format!("Hello, {}", input.name) }))
//! }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ActionError, ActionSpec};

impl ActionSpec {
    /// An action for the manifest's `actions`: its name (what workflows call, in kebab-case by
    /// convention: `create-issue-with-labels`), a one-line description, and the JSON Schemas of
    /// its input and output, written with `serde_json::json!`.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        output_schema: Value,
    ) -> Self {
        ActionSpec {
            name: name.into(),
            description: description.into(),
            input_schema: input_schema.to_string(),
            output_schema: output_schema.to_string(),
        }
    }
}

/// Reads an action's input into `T`. The host has checked it against the input schema already,
/// so this fails only when `T` and the schema disagree, which [`ActionError::InvalidInput`]
/// reports with serde's words (`missing field `title``).
pub fn input<T: DeserializeOwned>(input: Value) -> Result<T, ActionError> {
    serde_json::from_value(input).map_err(|e| ActionError::InvalidInput(e.to_string()))
}

/// Writes an action's output as JSON. Fails only for a value JSON cannot hold (a map with
/// non-string keys): [`ActionError::Plugin`].
pub fn output<T: Serialize>(output: &T) -> Result<Value, ActionError> {
    serde_json::to_value(output).map_err(|e| ActionError::Plugin(format!("the output cannot be written as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_writes_the_schemas_as_json_text() {
        let spec = ActionSpec::new("a", "does a", json!({"type": "object"}), json!({"type": "null"}));
        assert_eq!((spec.name.as_str(), spec.description.as_str()), ("a", "does a"));
        assert_eq!(serde_json::from_str::<Value>(&spec.input_schema).unwrap(), json!({"type": "object"}));
        assert_eq!(spec.output_schema, r#"{"type":"null"}"#);
    }

    #[test]
    fn input_names_the_field_that_does_not_fit() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Issue {
            title: String,
        }
        assert_eq!(input::<Issue>(json!({"title": "t"})).unwrap().title, "t");
        assert_eq!(input::<Issue>(json!({})).unwrap_err(), ActionError::InvalidInput("missing field `title`".into()));
    }

    #[test]
    fn output_serialises_or_reports_a_plugin_error() {
        assert_eq!(output(&vec![1, 2]).unwrap(), json!([1, 2]));
        let mut keys = std::collections::HashMap::new();
        keys.insert(vec![1u8], 1);
        assert!(matches!(output(&keys), Err(ActionError::Plugin(_))));
    }
}
