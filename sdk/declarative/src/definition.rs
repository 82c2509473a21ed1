//! The definition format and its validation.

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "openapi")]
use crate::openapi;
use crate::paths::{self, Segment};
use crate::template::{self, Kind};

/// The most steps a definition may have. Each step is one API call, and the host's default cap
/// on calls per invocation is also 50, so a longer definition could never finish.
pub const MAX_STEPS: usize = 50;

/// The longest action name.
pub const MAX_NAME_LEN: usize = 64;

/// The HTTP methods a step may use.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// The parts of a step's result that later templates can read as `steps.NAME.<part>`.
const STEP_PARTS: &[&str] = &["status", "headers", "body"];

/// A declarative action: a named series of API calls with templating, stored per integration.
///
/// Unknown fields are refused, so a misspelt `bdy` is an error rather than a step without a
/// body. Build one with [`Definition::parse`] (which also validates and normalises it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "A declarative action: a named series of API calls with templates. Unknown fields are refused."
    )
)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The action's name: 1 to 64 lowercase letters, digits and dashes (`create-issue`).
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9-]{1,64}$"))]
    pub name: String,
    /// What the action does, for whoever lists the actions.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the input; the host validates the input against it before running.
    #[serde(default = "default_input_schema")]
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::json_schema))]
    pub input_schema: Value,
    /// JSON Schema of the output, when the action promises one; the host validates the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::optional_json_schema))]
    pub output_schema: Option<Value>,
    /// The API calls, run in order; each one's response is visible to the ones after it.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 50))]
    pub steps: Vec<Step>,
    /// The action's output, templated once every step has run. `None` (absent or `null`)
    /// returns the last step's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub output: Option<Value>,
}

/// One API call of a definition. Every string in it except the names may be a template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// How later templates refer to this step (`steps.lookup.body.id`): letters, digits and
    /// underscores, not starting with a digit, unique in the definition.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"))]
    pub name: String,
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `HEAD`; any case, stored uppercase.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^([Gg][Ee][Tt]|[Pp][Oo][Ss][Tt]|[Pp][Uu][Tt]|[Pp][Aa][Tt][Cc][Hh]|[Dd][Ee][Ll][Ee][Tt][Ee]|[Hh][Ee][Aa][Dd])$"
        )
    )]
    pub method: String,
    /// Relative to the connection's API base (`/repos/{{ input.owner }}/{{ input.repo }}`), or
    /// an absolute URL the integration may call.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^(/|\{\{|\{%|[Hh][Tt][Tt][Pp][Ss]?://)"))]
    pub path: String,
    /// Query parameters, in order, as a JSON object of name to value (a string, maybe a
    /// template, or a number or boolean).
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::params))]
    pub query: Params,
    /// Request headers, in order, as a JSON object of name to value, like `query`.
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::params))]
    pub headers: Params,
    /// The JSON body, templated; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub body: Option<Value>,
}

/// Name/value pairs written as a JSON object, kept in the order written (the order a query
/// string or header list is sent in).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params(pub Vec<(String, Value)>);

impl Params {
    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;

        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Params;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of names to values, such as {\"per_page\": 100}")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
                let mut pairs = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    pairs.push((name, value));
                }
                Ok(Params(pairs))
            }
        }

        deserializer.deserialize_map(PairsVisitor)
    }
}

impl Serialize for Params {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

fn default_input_schema() -> Value {
    serde_json::json!({"type": "object"})
}

/// Which part of a definition an error is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The step, when the error is inside one.
    pub step: Option<StepRef>,
    /// The field within the step (`body.labels[1]`, `query.per_page`, `path`), or within the
    /// definition when there is no step (`name`, `steps`, `output.url`).
    pub field: String,
}

/// A step, by position and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRef {
    /// 0-based position in `steps`.
    pub index: usize,
    /// The step's `name`.
    pub name: String,
}

impl Location {
    /// A field of the definition itself (`name`, `output.url`).
    pub fn top(field: impl Into<String>) -> Self {
        Location { step: None, field: field.into() }
    }

    /// A field of step `index`.
    pub fn step(index: usize, name: &str, field: impl Into<String>) -> Self {
        Location { step: Some(StepRef { index, name: name.to_string() }), field: field.into() }
    }

    /// The path from the definition's root, as it reads in the JSON:
    /// `steps[1].body.labels[1]`, `output.url`, `name`.
    pub fn json_path(&self) -> String {
        match &self.step {
            Some(step) => format!("steps[{}].{}", step.index, self.field),
            None => self.field.clone(),
        }
    }
}

/// `step "create", body.title` or `output.url`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => write!(f, "step {}, {}", Value::from(step.name.as_str()), self.field),
            None => f.write_str(&self.field),
        }
    }
}

/// Why a definition was refused. The message says what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    /// The text is not JSON, or does not have the definition's shape: a missing or unknown
    /// field, or a value of the wrong type.
    #[error("the definition is not valid: {message}{}", position(*.line, *.column))]
    Json {
        /// serde's message, naming the field: ``unknown field `bdy`, expected one of ...``.
        message: String,
        /// 1-based line in the JSON text, 0 when parsed from a value.
        line: usize,
        /// 1-based column in the JSON text, 0 when parsed from a value.
        column: usize,
    },
    /// A field holds a value the definition cannot use.
    #[error("{at}: {message}")]
    Invalid {
        /// The field.
        at: Location,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A template does not compile.
    #[error("{at}: the template has an error at line {line}, column {column}: {message}")]
    Template {
        /// The string holding the template.
        at: Location,
        /// 1-based line within that string.
        line: usize,
        /// 1-based column (in characters) within that line.
        column: usize,
        /// minijinja's description of the error.
        message: String,
    },
}

fn position(line: usize, column: usize) -> String {
    if line == 0 { String::new() } else { format!(" (line {line}, column {column})") }
}

impl DefinitionError {
    /// The offending field as a path from the definition's root (`steps[1].method`,
    /// `output.url`), for an API error's `field`; `None` for malformed JSON.
    pub fn field(&self) -> Option<String> {
        match self {
            DefinitionError::Json { .. } => None,
            DefinitionError::Invalid { at, .. } | DefinitionError::Template { at, .. } => Some(at.json_path()),
        }
    }

    fn invalid(at: Location, message: impl Into<String>) -> Self {
        DefinitionError::Invalid { at, message: message.into() }
    }
}

impl Definition {
    /// Parses a stored or submitted definition, validates it ([`Definition::validate`]), and
    /// normalises it (methods uppercase).
    pub fn parse(json: &str) -> Result<Definition, DefinitionError> {
        let definition = serde_json::from_str(json).map_err(|e| json_error(&e))?;
        Self::checked(definition)
    }

    /// Like [`Definition::parse`], from an already parsed JSON value (a REST request's body).
    pub fn from_value(value: Value) -> Result<Definition, DefinitionError> {
        let definition = serde_json::from_value(value).map_err(|e| json_error(&e))?;
        Self::checked(definition)
    }

    fn checked(mut definition: Definition) -> Result<Definition, DefinitionError> {
        definition.validate()?;
        for step in &mut definition.steps {
            step.method.make_ascii_uppercase();
        }
        Ok(definition)
    }

    /// Checks everything that can be checked before running: the name, the number of steps,
    /// step names, methods, paths, schemas, that every template compiles, and that templates
    /// read only `steps.NAME.status`, `.headers` or `.body` of steps that run before them.
    /// Returns the first problem found.
    pub fn validate(&self) -> Result<(), DefinitionError> {
        check_action_name(&self.name)?;
        for (field, schema) in
            [("input_schema", Some(&self.input_schema)), ("output_schema", self.output_schema.as_ref())]
        {
            if let Some(schema) = schema
                && !(schema.is_object() || schema.is_boolean())
            {
                return Err(DefinitionError::invalid(
                    Location::top(field),
                    "a JSON Schema is an object (such as {\"type\": \"object\"}) or a boolean",
                ));
            }
        }
        if self.steps.is_empty() {
            return Err(DefinitionError::invalid(
                Location::top("steps"),
                "a definition needs at least one step: add an API call to `steps`",
            ));
        }
        if self.steps.len() > MAX_STEPS {
            return Err(DefinitionError::invalid(
                Location::top("steps"),
                format!("{} steps is too many: a definition may have at most {MAX_STEPS}", self.steps.len()),
            ));
        }
        let env = template::environment();
        let mut earlier: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        for (index, step) in self.steps.iter().enumerate() {
            let at = |field: &str| Location::step(index, &step.name, field);
            check_step_name(&step.name, index)?;
            if !seen.insert(step.name.as_str()) {
                let first = self.steps.iter().position(|s| s.name == step.name).unwrap_or(0);
                return Err(DefinitionError::invalid(
                    at("name"),
                    format!("steps[{first}] is also named `{}`; step names must be unique, so rename one", step.name),
                ));
            }
            if !METHODS.iter().any(|m| m.eq_ignore_ascii_case(&step.method)) {
                return Err(DefinitionError::invalid(
                    at("method"),
                    format!(
                        "{} is not a method a step can use; use one of {}",
                        Value::from(step.method.as_str()),
                        METHODS.join(", ")
                    ),
                ));
            }
            check_path(&step.path).map_err(|message| DefinitionError::invalid(at("path"), message))?;
            check_string(&env, &step.path, "path", &earlier, &at)?;
            for (part, params) in [("query", &step.query), ("headers", &step.headers)] {
                for (name, value) in params.iter() {
                    let field = template::child(part, name);
                    if name.is_empty() {
                        return Err(DefinitionError::invalid(at(&field), format!("a {part} name cannot be empty")));
                    }
                    if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                        return Err(DefinitionError::invalid(
                            at(&field),
                            "use a string (maybe a template), a number or a boolean; to send a list or object, \
                             write a template that renders it",
                        ));
                    }
                    check_templates(&env, value, &field, &earlier, &at)?;
                }
            }
            if let Some(body) = &step.body {
                check_templates(&env, body, "body", &earlier, &at)?;
            }
            earlier.push(&step.name);
        }
        if let Some(output) = &self.output {
            check_templates(&env, output, "output", &earlier, &|field| Location::top(field))?;
        }
        Ok(())
    }
}

/// A serde_json error as a [`DefinitionError::Json`], its position kept apart from the message.
fn json_error(e: &serde_json::Error) -> DefinitionError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    DefinitionError::Json { message, line: e.line(), column: e.column() }
}

fn check_action_name(name: &str) -> Result<(), DefinitionError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        return Ok(());
    }
    Err(DefinitionError::invalid(
        Location::top("name"),
        format!(
            "{} is not a valid action name: use 1 to {MAX_NAME_LEN} lowercase letters, digits and dashes, \
             such as \"create-issue\"",
            Value::from(name)
        ),
    ))
}

fn check_step_name(name: &str, index: usize) -> Result<(), DefinitionError> {
    if paths::is_identifier(name) && name.len() <= MAX_NAME_LEN {
        return Ok(());
    }
    Err(DefinitionError::invalid(
        Location::step(index, name, "name"),
        format!(
            "{} cannot be a step name: templates read it as `steps.NAME`, so use letters, digits and \
             underscores, not starting with a digit (at most {MAX_NAME_LEN}), such as \"create_issue\"",
            Value::from(name)
        ),
    ))
}

/// A path must be relative to the API base (starting with `/`) or an absolute http(s) URL.
/// With a template in it, only the text before the first template can be checked now; the
/// runner checks the rendered path.
fn check_path(path: &str) -> Result<(), String> {
    let prefix = match path.find("{{").into_iter().chain(path.find("{%")).min() {
        Some(start) => &path[..start],
        None => path,
    };
    let templated = prefix.len() < path.len();
    let fits = |scheme: &str| {
        let lower = prefix.to_ascii_lowercase();
        lower.starts_with(scheme) || (templated && scheme.starts_with(lower.as_str()))
    };
    if prefix.starts_with('/') || (templated && prefix.is_empty()) || fits("https://") || fits("http://") {
        return Ok(());
    }
    Err(format!(
        "{} must start with `/` (relative to the connection's API base, such as \"/repos/{{{{ input.owner }}}}\") \
         or be an absolute https:// URL",
        Value::from(path)
    ))
}

/// Compiles every template in `value` (recursively), and checks the steps they read.
fn check_templates<'a>(
    env: &minijinja::Environment<'a>,
    value: &'a Value,
    field: &str,
    earlier: &[&str],
    at: &dyn Fn(&str) -> Location,
) -> Result<(), DefinitionError> {
    match value {
        Value::String(s) => check_string(env, s, field, earlier, at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_templates(env, item, &format!("{field}[{i}]"), earlier, at)),
        Value::Object(map) => {
            map.iter().try_for_each(|(key, item)| check_templates(env, item, &template::child(field, key), earlier, at))
        }
        _ => Ok(()),
    }
}

/// Compiles the template in one string, and checks the steps it reads.
fn check_string<'a>(
    env: &minijinja::Environment<'a>,
    s: &'a str,
    field: &str,
    earlier: &[&str],
    at: &dyn Fn(&str) -> Location,
) -> Result<(), DefinitionError> {
    template::check(env, s).map_err(|e| DefinitionError::Template {
        at: at(field),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    check_step_refs(s, earlier).map_err(|message| DefinitionError::invalid(at(field), message))
}

/// Refuses `steps.X` where X has not run yet (or does not exist), and `steps.X.Y` where Y is
/// not `status`, `headers` or `body`: both could only fail at run time.
fn check_step_refs(s: &str, earlier: &[&str]) -> Result<(), String> {
    let (code, exact) = match template::classify(s) {
        Kind::Literal => return Ok(()),
        Kind::Exact { expression, .. } => (expression, true),
        Kind::Text => (s, false),
    };
    for path in paths::path_refs(code, exact) {
        if path.root != "steps" {
            continue;
        }
        let Some(Segment::Name(step)) = path.segments.first() else { continue };
        if !earlier.contains(&step.as_str()) {
            let available = if earlier.is_empty() {
                "no step runs before this one, so only `input` can be used here".to_string()
            } else {
                format!("the steps that run before this one are: {}", earlier.join(", "))
            };
            return Err(format!("the template reads `steps.{step}`, but {available}"));
        }
        if let Some(part) = path.segments.get(1) {
            let known = matches!(part, Segment::Name(name) if STEP_PARTS.contains(&name.as_str()));
            if !known {
                return Err(format!(
                    "the template reads `{}`, but a step's result has only `status`, `headers` and `body`",
                    paths::display("steps", &path.segments[..2])
                ));
            }
        }
    }
    Ok(())
}
