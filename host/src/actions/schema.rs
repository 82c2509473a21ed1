//! JSON Schema checks of action inputs and outputs.
//!
//! Schemas come from a plugin's manifest or a stored definition; both are compiled when they
//! are accepted (install, save), so a bad schema is refused there rather than at run time.

use serde_json::Value;

/// The most violations one message lists; the rest are counted.
const MAX_LISTED: usize = 5;

/// Checks that `schema` is a JSON Schema this host can apply. The error says what is wrong.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    jsonschema::validator_for(schema).map(|_| ()).map_err(|e| format!("not a valid JSON Schema: {e}"))
}

/// Where a value breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations {
    /// The JSON pointer of the first offending field: for a missing required property, the
    /// property itself (`/title`); empty for the document.
    pub first_field: String,
    /// Every violation, each with its pointer, at most five listed.
    pub message: String,
}

/// Validates `value` against `schema`. The error names each offending field by its JSON
/// pointer (`/labels/1`), or the document itself (`(root)`), and says what the schema wants.
pub fn validate(schema: &Value, value: &Value) -> Result<(), Violations> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| Violations { first_field: String::new(), message: format!("the schema is invalid: {e}") })?;
    let mut first_field = None;
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|e| {
            let at = e.instance_path().as_str().to_string();
            let field = match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    format!("{at}/{}", property.as_str().unwrap_or_default())
                }
                _ => at.clone(),
            };
            first_field.get_or_insert(field);
            format!("{}: {e}", if at.is_empty() { "(root)" } else { &at })
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    let mut message = problems.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>().join("; ");
    if problems.len() > MAX_LISTED {
        message.push_str(&format!("; and {} more", problems.len() - MAX_LISTED));
    }
    Err(Violations { first_field: first_field.unwrap_or_default(), message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["title"],
            "properties": {
                "title": {"type": "string"},
                "labels": {"type": "array", "items": {"type": "string"}}
            },
            "additionalProperties": false
        })
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = validate(&schema(), &json!({"labels": []})).unwrap_err();
        assert_eq!(error.first_field, "/title");
        assert!(error.message.contains("\"title\" is a required property"), "{error:?}");
        assert!(error.message.starts_with("(root)"), "{error:?}");
    }

    #[test]
    fn a_wrong_type_is_named_by_its_pointer() {
        let error = validate(&schema(), &json!({"title": "t", "labels": ["a", 2]})).unwrap_err();
        assert_eq!(error.first_field, "/labels/1");
        assert!(error.message.contains("string"), "{error:?}");
    }

    #[test]
    fn several_problems_are_listed_and_capped() {
        let many: Vec<i32> = (0..9).collect();
        let error = validate(&schema(), &json!({"title": "t", "labels": many})).unwrap_err().message;
        assert!(error.contains("/labels/0") && error.contains("/labels/4"), "{error}");
        assert!(error.ends_with("and 4 more"), "{error}");
    }

    #[test]
    fn a_valid_value_passes() {
        validate(&schema(), &json!({"title": "t", "labels": ["bug"]})).unwrap();
    }

    #[test]
    fn a_bad_schema_is_refused() {
        let error = check_schema(&json!({"type": "nonsense"})).unwrap_err();
        assert!(error.starts_with("not a valid JSON Schema"), "{error}");
    }
}
