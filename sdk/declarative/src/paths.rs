//! Finds the data paths (`input.labels`, `steps.lookup.body.id`) a template refers to, without
//! a parser of its own: a scan of the template's code for `name.name[0]["key"]` chains.
//!
//! minijinja reports an undefined value without saying which one, so the runner uses this to
//! name the missing path and list what exists at the point where it broke, and validation uses
//! it to refuse references to steps that do not run before the template does. The scan is
//! deliberately conservative: it only looks at chains rooted at `input` or `steps`, skips string
//! literals, and stops at anything dynamic (`steps[name]`), so it never invents a problem.

use std::fmt::Write as _;

use serde_json::Value;

/// One segment of a path after its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// `.name`, `.0` or `["name"]`: an object key, or a list index when it is all digits.
    Name(String),
    /// `[3]` or `[-1]`: a list index (negative counts from the end, as minijinja does).
    Index(i64),
}

/// A chain such as `steps.lookup.body.items[0]` found in a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathRef {
    /// The variable the chain starts from: `input`, `steps`, or a template-local name.
    pub root: String,
    /// Every segment after the root, in order.
    pub segments: Vec<Segment>,
}

/// Where a path stops resolving, with what exists there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Missing {
    /// The path up to and including the first segment that does not exist.
    pub path: String,
    /// What the last existing value is: `steps.lookup.body has keys: id, name`.
    pub hint: String,
}

/// How many keys a hint lists before it says "and N more".
const MAX_HINT_KEYS: usize = 20;

/// Renders a path as it would be written in a template.
pub(crate) fn display(root: &str, segments: &[Segment]) -> String {
    let mut out = root.to_string();
    for segment in segments {
        match segment {
            Segment::Name(name) if is_identifier(name) => {
                let _ = write!(out, ".{name}");
            }
            Segment::Name(name) => {
                let _ = write!(out, "[{}]", Value::String(name.clone()));
            }
            Segment::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    out
}

/// Whether `s` can be written after a dot: ASCII letters, digits and underscores, not starting
/// with a digit.
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if is_ident_start(b)) && bytes.all(is_ident_char)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every path chain in a template. `exact` says the whole string is one expression; otherwise
/// only the code inside `{{ }}` and `{% %}` is scanned, never the text around it.
pub(crate) fn path_refs(source: &str, exact: bool) -> Vec<PathRef> {
    let mut refs = Vec::new();
    if exact {
        scan_code(source, &mut refs);
        return refs;
    }
    let mut rest = source;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let close = match after.as_bytes().first() {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            Some(b'#') => "#}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body = &after[1..];
        let end = body.find(close).unwrap_or(body.len());
        if close != "#}" {
            scan_code(&body[..end], &mut refs);
        }
        rest = body.get(end + close.len()..).unwrap_or("");
    }
    refs
}

/// Scans one stretch of template code for path chains.
fn scan_code(code: &str, refs: &mut Vec<PathRef>) {
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\'' || b == b'"' {
            i = skip_string(bytes, i);
        } else if is_ident_start(b) && (i == 0 || !(is_ident_char(bytes[i - 1]) || bytes[i - 1] == b'.')) {
            let (path, next) = read_path(code, i);
            refs.push(path);
            i = next;
        } else if b.is_ascii_digit() {
            // A number literal: skip it whole, so `1.5` or `2e3` is not read as a path.
            while i < bytes.len() && (is_ident_char(bytes[i]) || bytes[i] == b'.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
}

/// The index just past the string literal that starts at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Reads the literal at `start` (a quote), returning its unescaped text and the index past it.
fn read_string(code: &str, start: usize) -> Option<(String, usize)> {
    let bytes = code.as_bytes();
    let end = skip_string(bytes, start);
    // Unterminated: `skip_string` ran to the end without finding the closing quote.
    if end < start + 2 || bytes[end - 1] != bytes[start] {
        return None;
    }
    let literal = &code[start + 1..end - 1];
    // Template strings escape like JSON for the characters that matter here; anything fancier
    // is kept as written, which at worst makes a hint less precise.
    let unescaped = literal.replace("\\\"", "\"").replace("\\'", "'").replace("\\\\", "\\");
    Some((unescaped, end))
}

/// Reads the chain starting at the identifier at `start`; returns it and where scanning resumes.
fn read_path(code: &str, start: usize) -> (PathRef, usize) {
    let bytes = code.as_bytes();
    let mut i = start;
    while i < bytes.len() && is_ident_char(bytes[i]) {
        i += 1;
    }
    let root = code[start..i].to_string();
    let mut segments = Vec::new();
    loop {
        match bytes.get(i) {
            Some(b'.') => {
                let begin = i + 1;
                let mut end = begin;
                while end < bytes.len() && is_ident_char(bytes[end]) {
                    end += 1;
                }
                if end == begin {
                    break;
                }
                segments.push(Segment::Name(code[begin..end].to_string()));
                i = end;
            }
            Some(b'[') => {
                let mut j = i + 1;
                while bytes.get(j) == Some(&b' ') {
                    j += 1;
                }
                let segment = match bytes.get(j) {
                    Some(b'\'' | b'"') => match read_string(code, j) {
                        Some((name, next)) => {
                            j = next;
                            Segment::Name(name)
                        }
                        None => break,
                    },
                    Some(b) if b.is_ascii_digit() || *b == b'-' => {
                        let begin = j;
                        j += 1;
                        while j < bytes.len() && bytes[j].is_ascii_digit() {
                            j += 1;
                        }
                        match code[begin..j].parse() {
                            Ok(index) => Segment::Index(index),
                            Err(_) => break,
                        }
                    }
                    // A computed index (`steps[name]`): the chain ends here; the scan goes on
                    // inside the brackets.
                    _ => break,
                };
                while bytes.get(j) == Some(&b' ') {
                    j += 1;
                }
                if bytes.get(j) != Some(&b']') {
                    break;
                }
                segments.push(segment);
                i = j + 1;
            }
            _ => break,
        }
    }
    // `input.title.upper()` calls a method: `upper` is not data, so it is not part of the path.
    if bytes.get(i) == Some(&b'(') {
        segments.pop();
    }
    (PathRef { root, segments }, i)
}

/// Walks `path` from `root` (the value of its root variable) and reports the first segment that
/// does not exist, or `None` when the whole path resolves.
pub(crate) fn find_missing(path: &PathRef, root: &Value) -> Option<Missing> {
    let mut current = root;
    for (n, segment) in path.segments.iter().enumerate() {
        let next = match (current, segment) {
            (Value::Object(map), Segment::Name(name)) => map.get(name),
            (Value::Array(items), Segment::Name(name)) => name.parse::<i64>().ok().and_then(|i| index(items, i)),
            (Value::Array(items), Segment::Index(i)) => index(items, *i),
            (Value::Object(map), Segment::Index(i)) => map.get(&i.to_string()),
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => {
                let parent = display(&path.root, &path.segments[..n]);
                return Some(Missing {
                    path: display(&path.root, &path.segments[..=n]),
                    hint: describe(&parent, current),
                });
            }
        }
    }
    None
}

fn index(items: &[Value], i: i64) -> Option<&Value> {
    let len = i64::try_from(items.len()).ok()?;
    let i = if i < 0 { len + i } else { i };
    usize::try_from(i).ok().and_then(|i| items.get(i))
}

/// What `value` (found at `at`) is, for an admin looking for the right path.
fn describe(at: &str, value: &Value) -> String {
    match value {
        Value::Object(map) if map.is_empty() => format!("{at} is an empty object"),
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().take(MAX_HINT_KEYS).map(String::as_str).collect();
            let more = map.len().saturating_sub(MAX_HINT_KEYS);
            let mut list = keys.join(", ");
            if more > 0 {
                let _ = write!(list, " and {more} more");
            }
            format!("{at} has keys: {list}")
        }
        Value::Array(items) => format!("{at} is a list of {} items", items.len()),
        Value::String(_) => format!("{at} is a string"),
        Value::Number(_) => format!("{at} is a number"),
        Value::Bool(_) => format!("{at} is a boolean"),
        Value::Null => format!("{at} is null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refs(source: &str, exact: bool) -> Vec<String> {
        path_refs(source, exact)
            .iter()
            .filter(|p| p.root == "input" || p.root == "steps")
            .map(|p| display(&p.root, &p.segments))
            .collect()
    }

    #[test]
    fn finds_chains_in_code_but_not_in_text_or_strings() {
        assert_eq!(
            refs("see input.x: {{ input.owner ~ '/' ~ steps.lookup.body['full name'] }} {% if input.flag %}", false),
            ["input.owner", "steps.lookup.body[\"full name\"]", "input.flag"]
        );
        assert_eq!(refs("'input.quoted' ~ input.items[0].id | upper", true), ["input.items[0].id"]);
        assert_eq!(refs("input.title.upper() ~ 1.5", true), ["input.title"]);
        assert_eq!(refs("{# input.comment #}{{ steps[name].body }}", false), ["steps"]);
    }

    #[test]
    fn reports_the_first_missing_segment_with_what_exists() {
        let data = json!({"input": {"labels": ["a"]}, "steps": {"lookup": {"body": {"id": 1, "name": "r"}}}});
        let missing = |source: &str| {
            let path = &path_refs(source, true)[0];
            let root = data.get(&path.root)?;
            find_missing(path, root).map(|m| format!("{} / {}", m.path, m.hint))
        };
        assert_eq!(
            missing("steps.lookup.body.nme").as_deref(),
            Some("steps.lookup.body.nme / steps.lookup.body has keys: id, name")
        );
        assert_eq!(missing("input.labels[3]").as_deref(), Some("input.labels[3] / input.labels is a list of 1 items"));
        assert_eq!(missing("input.labels[-1]"), None);
        assert_eq!(missing("steps.create.body").as_deref(), Some("steps.create / steps has keys: lookup"));
        assert_eq!(missing("loop.index"), None);
    }
}
