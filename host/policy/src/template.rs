//! URL templates filled with connection inputs.
//!
//! A plugin's manifest declares the hosts it may call as templates such as
//! `{site_scheme}://{subdomain}.{site_host}`. The host's own values (`site_scheme`,
//! `site_host`) are trusted; a connection input is whatever a member typed. An input must
//! never be able to move a URL to another host: `exfil.test:18083/#` as a subdomain once
//! turned `https://{subdomain}.zendesk.com` into an allowlist entry for `exfil.test`. So an
//! input placed in the host must be one DNS label, an input placed in the path must be one
//! path segment, and after filling, the URL's host must be the template's host with those
//! labels in place.

use std::fmt;

use url::Url;

/// Where a placeholder stands in a URL template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Before `://`: the scheme. No input may choose it.
    Scheme,
    /// Between `://` and the first `/`, `?` or `#`: the host and port.
    Authority,
    /// The path, query or fragment.
    Path,
}

/// A placeholder's value, with who chose it.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// The host's own value (`site_host`, `site_scheme`): inserted as is.
    Trusted(&'a str),
    /// A connection input: checked against its position's rule.
    Input(&'a str),
}

/// Why a template could not be filled. Messages say what to enter instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template itself is malformed (the plugin author's problem).
    #[error("{0}")]
    Syntax(String),
    /// A placeholder has no value.
    #[error("`{{{0}}}` has no value")]
    Missing(String),
    /// A connection input does not fit where the template puts it.
    #[error("input `{name}`: {reason}")]
    Input {
        /// The input's name.
        name: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// The filled URL does not have the template's host.
    #[error("`{url}` does not have the host the template `{template}` allows ({expected})")]
    HostMismatch {
        /// The filled URL.
        url: String,
        /// The template.
        template: String,
        /// The host the template promised.
        expected: String,
    },
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'t> {
    Literal(&'t str),
    Placeholder(&'t str, Position),
}

/// Splits `template` into literals and placeholders, each placeholder with its position.
/// Positions come from the template's own literal text, never from a value.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut position = Position::Scheme;
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let literal = &rest[..start];
        if literal.contains('}') {
            return Err(TemplateError::Syntax(format!("unmatched `}}` in `{template}`")));
        }
        position = after_literal(literal, position);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        let after = &rest[start + 1..];
        let end = after.find('}').ok_or_else(|| TemplateError::Syntax(format!("unclosed `{{` in `{template}`")))?;
        let name = &after[..end];
        if name.is_empty() || name.contains('{') {
            return Err(TemplateError::Syntax(format!("an empty or nested placeholder in `{template}`")));
        }
        pieces.push(Piece::Placeholder(name, position));
        rest = &after[end + 1..];
    }
    if rest.contains('}') {
        return Err(TemplateError::Syntax(format!("unmatched `}}` in `{template}`")));
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest));
    }
    Ok(pieces)
}

/// The position a template is in after `literal`, starting from `position`.
fn after_literal(literal: &str, position: Position) -> Position {
    match position {
        Position::Scheme => match literal.find("://") {
            Some(i) => after_literal(&literal[i + 3..], Position::Authority),
            None => Position::Scheme,
        },
        Position::Authority if literal.contains(['/', '?', '#']) => Position::Path,
        other => other,
    }
}

/// The placeholders of `template` and where each stands. A name may appear more than once.
pub fn placeholders(template: &str) -> Result<Vec<(&str, Position)>, TemplateError> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Placeholder(name, pos) => Some((name, pos)),
            Piece::Literal(_) => None,
        })
        .collect())
}

/// Checks that a connection input may stand at `position`, saying what to enter instead.
pub fn check_input(position: Position, value: &str) -> Result<(), String> {
    match position {
        Position::Scheme => Err("a connection input cannot choose a URL's scheme".into()),
        Position::Authority => {
            if value.is_empty() {
                return Err("it is empty; it becomes part of a host name".into());
            }
            if value.len() > 63 {
                return Err("it is longer than a DNS label's 63 characters".into());
            }
            match value.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
                Some(c) => Err(format!(
                    "`{}` is not allowed: it becomes one label of a host name, so use letters, digits and dashes only (no dots, `/`, `:`, `@`, `#`, `?`, `%`, `\\` or spaces)",
                    c.escape_default()
                )),
                None => Ok(()),
            }
        }
        Position::Path => {
            if value.is_empty() {
                return Err("it is empty; it becomes a URL path segment".into());
            }
            if value == "." || value == ".." {
                return Err(format!("`{value}` is not allowed as a URL path segment"));
            }
            match value
                .chars()
                .find(|c| matches!(c, '/' | '?' | '#' | '%' | '\\') || c.is_whitespace() || c.is_control())
            {
                Some(c) => Err(format!(
                    "`{}` is not allowed: it becomes one URL path segment, so no `/`, `?`, `#`, `%`, `\\` or spaces",
                    c.escape_default()
                )),
                None => Ok(()),
            }
        }
    }
}

/// Fills `template`, checking each connection input against its position, then checks that
/// the result's host and port are the template's own with the inputs in place.
pub fn fill_url<'v>(
    template: &str,
    mut lookup: impl FnMut(&str) -> Option<Value<'v>>,
) -> Result<String, TemplateError> {
    let pieces = parse(template)?;
    let mut out = String::with_capacity(template.len() + 32);
    // The authority as the template promises it: its literal text and the values placed in
    // it. Only literal text decides where the authority ends, so a value that smuggles a `/`
    // or `@` in makes the filled URL disagree with this, and the check below refuses it.
    let mut authority = String::new();
    let mut state = Position::Scheme;
    for piece in &pieces {
        match piece {
            Piece::Literal(text) => {
                out.push_str(text);
                let mut text = *text;
                if state == Position::Scheme {
                    match text.find("://") {
                        Some(i) => {
                            state = Position::Authority;
                            text = &text[i + 3..];
                        }
                        None => continue,
                    }
                }
                if state == Position::Authority {
                    match text.find(['/', '?', '#']) {
                        Some(end) => {
                            authority.push_str(&text[..end]);
                            state = Position::Path;
                        }
                        None => authority.push_str(text),
                    }
                }
            }
            Piece::Placeholder(name, position) => {
                let value = lookup(name).ok_or_else(|| TemplateError::Missing(name.to_string()))?;
                let text = match value {
                    Value::Trusted(text) => text,
                    Value::Input(text) => {
                        check_input(*position, text)
                            .map_err(|reason| TemplateError::Input { name: name.to_string(), reason })?;
                        text
                    }
                };
                out.push_str(text);
                if *position == Position::Authority {
                    authority.push_str(text);
                }
            }
        }
    }
    let url = Url::parse(&out).map_err(|e| TemplateError::Syntax(format!("`{out}` is not an absolute URL: {e}")))?;
    let expected = authority.to_ascii_lowercase();
    let actual = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => String::new(),
    };
    // The URL parser drops a default port and lowercases; compare in the same spelling.
    let default_port = url.port_or_known_default().map(|p| format!(":{p}"));
    let expected_trimmed = match &default_port {
        Some(p) if url.port().is_none() => expected.strip_suffix(p.as_str()).unwrap_or(&expected).to_string(),
        _ => expected.clone(),
    };
    if actual != expected_trimmed {
        return Err(TemplateError::HostMismatch { url: out, template: template.to_string(), expected });
    }
    Ok(out)
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Position::Scheme => "scheme",
            Position::Authority => "host",
            Position::Path => "path",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(template: &str, vars: &[(&str, Value<'static>)]) -> Result<String, TemplateError> {
        fill_url(template, |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| *v))
    }

    const SITE: [(&str, Value<'static>); 2] =
        [("site_scheme", Value::Trusted("https")), ("site_host", Value::Trusted("zendesk.com"))];

    #[test]
    fn positions_come_from_the_template_text() {
        let found = placeholders("{site_scheme}://{subdomain}.{site_host}/{tenant}/x?{q}").unwrap();
        assert_eq!(
            found,
            vec![
                ("site_scheme", Position::Scheme),
                ("subdomain", Position::Authority),
                ("site_host", Position::Authority),
                ("tenant", Position::Path),
                ("q", Position::Path),
            ]
        );
        assert!(placeholders("https://{a").is_err());
    }

    #[test]
    fn a_tenant_label_fills_the_host() {
        let vars = [SITE[0], SITE[1], ("subdomain", Value::Input("acme"))];
        assert_eq!(fill("{site_scheme}://{subdomain}.{site_host}", &vars).unwrap(), "https://acme.zendesk.com");
    }

    #[test]
    fn an_input_cannot_move_the_host() {
        for evil in ["exfil.test:18083/#", "exfil.test", "a@b", "a:1", "a/b", "a#", "a?", "a%2e", "a\\b", "a b", ""] {
            let vars = [SITE[0], SITE[1], ("subdomain", Value::Input(evil))];
            let err = fill("{site_scheme}://{subdomain}.{site_host}", &vars).unwrap_err();
            assert!(matches!(err, TemplateError::Input { .. }), "{evil}: {err}");
        }
    }

    #[test]
    fn a_path_input_is_one_segment() {
        let vars = [("tenant", Value::Input("contoso.onmicrosoft.com"))];
        assert_eq!(
            fill("https://login.example.com/{tenant}/oauth2", &vars).unwrap(),
            "https://login.example.com/contoso.onmicrosoft.com/oauth2"
        );
        for evil in ["a/b", "..", ".", "a?x", "a#x", "%2e%2e", ""] {
            let vars = [("tenant", Value::Input(evil))];
            assert!(fill("https://login.example.com/{tenant}/oauth2", &vars).is_err(), "{evil}");
        }
    }

    #[test]
    fn inputs_never_choose_the_scheme_and_missing_values_fail() {
        let vars = [("s", Value::Input("https"))];
        assert!(matches!(fill("{s}://x.example.com", &vars), Err(TemplateError::Input { .. })));
        assert_eq!(fill("https://{x}.example.com", &[]), Err(TemplateError::Missing("x".into())));
    }

    #[test]
    fn a_trusted_value_that_moves_the_host_is_still_caught() {
        let vars = [("site_host", Value::Trusted("example.com@evil.test"))];
        let err = fill("https://{site_host}", &vars).unwrap_err();
        assert!(matches!(err, TemplateError::HostMismatch { .. }), "{err}");
    }

    #[test]
    fn a_wildcard_host_pattern_fills_as_itself() {
        assert_eq!(fill("https://*.my.example.com", &[]).unwrap(), "https://*.my.example.com");
    }

    #[test]
    fn ports_and_default_ports_compare_as_the_parser_spells_them() {
        let vars = [("site_host", Value::Trusted("127.0.0.1:8080")), ("sub", Value::Input("a"))];
        assert_eq!(fill("http://{site_host}/x", &vars).unwrap(), "http://127.0.0.1:8080/x");
        let vars = [("site_host", Value::Trusted("Example.com:443"))];
        assert_eq!(fill("https://{site_host}", &vars).unwrap(), "https://Example.com:443");
    }
}
