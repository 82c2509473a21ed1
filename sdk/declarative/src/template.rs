//! How the strings of a definition are templated.
//!
//! - A string that is exactly one expression (`"{{ input.labels }}"`, whitespace around it
//!   allowed) is evaluated with minijinja's expression compiler and keeps its JSON type.
//! - Any other string holding `{{` or `{%` is rendered as a minijinja template, to text.
//! - Every other string is used as written.
//!
//! Undefined values are errors (minijinja's semi-strict mode): printing, iterating or looking
//! into a missing value fails, so a typo never sends an empty string to the app. Testing one
//! (`{% if input.draft %}`) is allowed and is false, which is how optional inputs are written.

use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, Output, State, UndefinedBehavior};
use serde_json::Value;

use crate::paths::{self, Missing};

/// A template value as minijinja sees it.
pub(crate) type Jinja = minijinja::Value;

/// How one string of a definition is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    /// No template: the string is used as written.
    Literal,
    /// Exactly one `{{ expression }}`: the expression, and its byte offset in the string.
    Exact { expression: &'a str, offset: usize },
    /// Text with templates inside.
    Text,
}

/// Classifies a string of a definition.
pub(crate) fn classify(s: &str) -> Kind<'_> {
    if !s.contains("{{") && !s.contains("{%") {
        return Kind::Literal;
    }
    let trimmed = s.trim();
    let Some(inner) = trimmed.strip_prefix("{{").and_then(|rest| rest.strip_suffix("}}")) else {
        return Kind::Text;
    };
    // `{{- x -}}` and `{{+ x +}}` are whitespace control, not part of the expression.
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    // `{{ a }} and {{ b }}` also starts with `{{` and ends with `}}`.
    if ["{{", "}}", "{%", "%}", "{#", "#}"].iter().any(|marker| inner.contains(marker)) {
        return Kind::Text;
    }
    // Both are slices of `s`, so the subtraction is the expression's offset in it.
    let offset = inner.as_ptr() as usize - s.as_ptr() as usize;
    Kind::Exact { expression: inner, offset }
}

/// The template environment every definition is checked and run with.
pub(crate) fn environment<'source>() -> Environment<'source> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    // A body string ending in a newline keeps it; minijinja drops one by default.
    env.set_keep_trailing_newline(true);
    env.set_formatter(format_as_json);
    env
}

/// Prints values inside text the way they read in JSON: `null`, `true`, `3`, and lists and
/// objects as compact JSON, rather than minijinja's Python-like `none`, `False` and
/// `{"k": None}`.
fn format_as_json(out: &mut Output, state: &State, value: &Jinja) -> Result<(), Error> {
    if holds_undefined(value) {
        return Err(Error::new(ErrorKind::UndefinedError, "a list or object holds an undefined value"));
    }
    match value.kind() {
        ValueKind::None => out.write_str("null").map_err(Error::from),
        ValueKind::Bool => out.write_str(if value.is_true() { "true" } else { "false" }).map_err(Error::from),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => match serde_json::to_string(value) {
            Ok(json) => out.write_str(&json).map_err(Error::from),
            Err(_) => minijinja::escape_formatter(out, state, value),
        },
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Whether a value is undefined or holds an undefined value (`[input.missing]` builds a list
/// with a hole that would otherwise turn into `null` silently).
fn holds_undefined(value: &Jinja) -> bool {
    if value.is_undefined() {
        return true;
    }
    match value.kind() {
        ValueKind::Seq => value.try_iter().is_ok_and(|mut items| items.any(|item| holds_undefined(&item))),
        ValueKind::Map => value
            .try_iter()
            .is_ok_and(|mut keys| keys.any(|key| value.get_item(&key).is_ok_and(|item| holds_undefined(&item)))),
        _ => false,
    }
}

/// A template that does not compile, positioned within its string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// 1-based line within the string.
    pub line: usize,
    /// 1-based column (in characters) within that line.
    pub column: usize,
    /// minijinja's message: `syntax error: unexpected end of input, expected end of variable block`.
    pub message: String,
}

/// Compiles the template in `s` (if any) without running it.
pub(crate) fn check<'a>(env: &Environment<'a>, s: &'a str) -> Result<(), SyntaxError> {
    let (result, base) = match classify(s) {
        Kind::Literal => return Ok(()),
        Kind::Exact { expression, offset } => (env.compile_expression(expression).map(drop), offset),
        Kind::Text => (env.template_from_str(s).map(drop), 0),
    };
    result.map_err(|err| {
        let (line, column) = match err.range() {
            Some(range) => line_column(s, base + range.start),
            // Without a range minijinja still knows the line; point at its start.
            None => (err.line().unwrap_or(1) + line_column(s, base).0 - 1, 1),
        };
        SyntaxError { line, column, message: describe(&err) }
    })
}

/// The 1-based line and column (in characters) of byte `offset` in `s`.
fn line_column(s: &str, offset: usize) -> (usize, usize) {
    let before = s.get(..offset).unwrap_or(s);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// minijinja's error as a sentence, without its `(in <string>:1)` suffix (we give the position
/// ourselves, relative to the admin's string).
fn describe(err: &Error) -> String {
    match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    }
}

/// Why a template failed at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EvalError {
    /// Says what failed and what to fix, naming the template.
    pub message: String,
    /// The missing value, when one was found.
    pub missing: Option<Missing>,
}

/// The data templates see, in both forms: minijinja's for evaluation and JSON for diagnosing a
/// missing value.
pub(crate) struct Scope<'s> {
    /// `{"input": ..., "steps": {...}}` for minijinja.
    pub jinja: Jinja,
    /// The input, as JSON.
    pub input: &'s Value,
    /// The results of the steps that ran, by name, as a JSON object.
    pub steps: &'s Value,
}

impl Scope<'_> {
    /// The JSON value of a template's root variable, when it is one this module provides.
    fn root(&self, name: &str) -> Option<&Value> {
        match name {
            "input" => Some(self.input),
            "steps" => Some(self.steps),
            _ => None,
        }
    }
}

/// Templates every string in `value`, walking lists and objects (keys are not templated).
/// On failure, returns the field path (under `field`) of the string that failed.
pub(crate) fn eval_value<'a>(
    env: &Environment<'a>,
    value: &'a Value,
    field: &str,
    scope: &Scope<'_>,
) -> Result<Value, (String, EvalError)> {
    match value {
        Value::String(s) => eval_str(env, s, scope).map_err(|e| (field.to_string(), e)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| eval_value(env, item, &format!("{field}[{i}]"), scope))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(key, item)| Ok((key.clone(), eval_value(env, item, &child(field, key), scope)?)))
            .collect::<Result<_, _>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// `field.key`, or `field["odd key"]` when the key is not an identifier.
pub(crate) fn child(field: &str, key: &str) -> String {
    if paths::is_identifier(key) { format!("{field}.{key}") } else { format!("{field}[{}]", Value::from(key)) }
}

/// Templates one string.
pub(crate) fn eval_str<'a>(env: &Environment<'a>, s: &'a str, scope: &Scope<'_>) -> Result<Value, EvalError> {
    match classify(s) {
        Kind::Literal => Ok(Value::String(s.to_string())),
        Kind::Exact { expression, .. } => {
            let result = env.compile_expression(expression).and_then(|compiled| compiled.eval(&scope.jinja));
            match result {
                Ok(value) if holds_undefined(&value) => Err(undefined(s, scope, None)),
                Ok(value) => serde_json::to_value(&value).map_err(|e| EvalError {
                    message: format!("{} cannot be made JSON: {e}", quote(s)),
                    missing: None,
                }),
                Err(err) => Err(failure(s, scope, &err)),
            }
        }
        Kind::Text => env
            .template_from_str(s)
            .and_then(|template| template.render(&scope.jinja))
            .map(Value::String)
            .map_err(|err| failure(s, scope, &err)),
    }
}

/// Turns a minijinja run-time error into one that names the template and, for an undefined
/// value, the missing path.
fn failure(source: &str, scope: &Scope<'_>, err: &Error) -> EvalError {
    if err.kind() == ErrorKind::UndefinedError {
        return undefined(source, scope, Some(err));
    }
    EvalError { message: format!("{} failed: {}", quote(source), describe(err)), missing: None }
}

/// An undefined value: names the first path of the template that does not resolve, and what
/// exists where it stops.
fn undefined(source: &str, scope: &Scope<'_>, err: Option<&Error>) -> EvalError {
    let (code, exact) = match classify(source) {
        Kind::Exact { expression, .. } => (expression, true),
        _ => (source, false),
    };
    // minijinja knows which expression failed, as a byte range of the code it compiled. Look
    // there first: a template may also read an optional input that is missing but only tested
    // (`{% if input.draft %}`), which is not the culprit.
    let failing = err.and_then(Error::range).and_then(|range| failing_code(code, range)).map(str::trim);
    let find = |code: &str, exact: bool| {
        paths::path_refs(code, exact)
            .iter()
            .find_map(|path| scope.root(&path.root).and_then(|root| paths::find_missing(path, root)))
    };
    let missing = failing.and_then(|expression| find(expression, true)).or_else(|| find(code, exact));
    match missing {
        Some(missing) => EvalError {
            message: format!("{{{{ {} }}}} is undefined ({})", missing.path, missing.hint),
            missing: Some(missing),
        },
        None => {
            // Not a path into `input` or `steps` (a loop variable's `x.name`, say): quote the
            // failing expression itself.
            let subject = match failing {
                Some(expression) if !expression.is_empty() && expression != code.trim() => {
                    format!("`{expression}` is undefined in {}", quote(source))
                }
                _ => format!("{} uses an undefined value", quote(source)),
            };
            EvalError {
                message: format!(
                    "{subject}; templates can use `input` and, of the steps that ran before, `steps.NAME.status`, \
                     `steps.NAME.headers` and `steps.NAME.body`"
                ),
                missing: None,
            }
        }
    }
}

/// The code minijinja blames for an error. Its span of an attribute lookup starts after the
/// variable (`.title.nope` for `input.title.nope`), so it is widened back over the chain.
fn failing_code(code: &str, range: std::ops::Range<usize>) -> Option<&str> {
    let bytes = code.as_bytes();
    let mut start = range.start.min(bytes.len());
    while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || matches!(bytes[start - 1], b'_' | b'.')) {
        start -= 1;
    }
    code.get(start..range.end)
}

/// The template as quoted in a message, shortened when long.
fn quote(source: &str) -> String {
    const MAX: usize = 120;
    let trimmed = source.trim();
    if trimmed.chars().count() <= MAX {
        format!("`{trimmed}`")
    } else {
        format!("`{}…`", trimmed.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_exact_expressions_text_and_literals() {
        assert_eq!(classify("plain"), Kind::Literal);
        assert_eq!(classify("{# only a comment #}"), Kind::Literal);
        assert_eq!(classify("  {{ input.x }} "), Kind::Exact { expression: " input.x ", offset: 4 });
        assert_eq!(classify("{{- input.x -}}"), Kind::Exact { expression: " input.x ", offset: 3 });
        assert_eq!(classify("{{ a }} and {{ b }}"), Kind::Text);
        assert_eq!(classify("#{{ a }}"), Kind::Text);
        assert_eq!(classify("{% if a %}x{% endif %}"), Kind::Text);
    }

    #[test]
    fn syntax_errors_are_positioned_in_the_original_string() {
        let env = environment();
        // In an exact expression, the column counts from the string's start, not the expression's.
        let err = check(&env, "{{ input.a + }}").unwrap_err();
        assert_eq!((err.line, err.column), (1, 12), "{err:?}");
        let err = check(&env, "first line\nsecond {{ input.a }} {% for %}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 29), "{err:?}");
        assert!(err.message.starts_with("syntax error: "), "{}", err.message);
        // Columns count characters, not bytes: the `}}` is at byte 16 but character 15.
        let err = check(&env, "é {{ input.a + }}").unwrap_err();
        assert_eq!((err.line, err.column), (1, 16), "{err:?}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 0), (1, 1));
    }
}
