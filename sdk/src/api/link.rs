//! The `Link` header (RFC 8288 §3), which APIs such as GitHub's use for pagination
//! (<https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api>):
//!
//! ```text
//! Link: <https://api.github.com/user/repos?page=2>; rel="next", <https://api.github.com/user/repos?page=5>; rel="last"
//! ```

/// One link of a `Link` header: `<target>; rel="next"; title="..."`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The URI reference between `<` and `>`, as written (usually an absolute URL).
    pub target: String,
    /// The relation types of the first `rel` parameter, lowercased: `rel="next last"` is both
    /// (RFC 8288 §3.3).
    pub rels: Vec<String>,
    /// Every parameter, names lowercased, quoted values unquoted, in order.
    pub params: Vec<(String, String)>,
}

impl Link {
    /// Whether the link has relation type `rel`, ignoring ASCII case.
    pub fn has_rel(&self, rel: &str) -> bool {
        self.rels.iter().any(|r| r.eq_ignore_ascii_case(rel))
    }
}

/// Parses one `Link` header value into its links, in order. Unparseable parts are skipped up to
/// the next link rather than failing the whole header, since one odd link must not hide `next`.
///
/// ```
/// use keyway_sdk::api::parse_link_header;
/// let links = parse_link_header(r#"<https://a.test/r?page=2>; rel="next", <https://a.test/r?page=5>; rel=last"#);
/// assert_eq!(links[0].target, "https://a.test/r?page=2");
/// assert!(links[0].has_rel("next") && links[1].has_rel("last"));
/// ```
pub fn parse_link_header(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return links;
        }
        let Some(inside) = rest.strip_prefix('<') else {
            rest = after_link_value(rest);
            continue;
        };
        // A URI reference cannot contain `>` (RFC 3986 §2), so the first one ends it, even when the
        // URL itself holds commas or semicolons.
        let Some(end) = inside.find('>') else {
            return links;
        };
        let target = inside[..end].trim().to_string();
        rest = &inside[end + 1..];
        let mut params = Vec::new();
        while let Some(after) = rest.trim_start().strip_prefix(';') {
            let (param, after) = parse_param(after);
            params.extend(param);
            rest = after;
        }
        // RFC 8288 §3.3: a second `rel` parameter is ignored.
        let rels = params
            .iter()
            .find(|(name, _)| name == "rel")
            .map(|(_, value)| value.split_ascii_whitespace().map(str::to_ascii_lowercase).collect())
            .unwrap_or_default();
        links.push(Link { target, rels, params });
        rest = after_link_value(rest);
    }
}

/// Reads one `name[=value]` parameter (after its `;`): the parameter, if it has a name, and
/// what follows it.
fn parse_param(input: &str) -> (Option<(String, String)>, &str) {
    let input = input.trim_start();
    let name_end = input.find(|c: char| matches!(c, '=' | ';' | ',') || c.is_ascii_whitespace()).unwrap_or(input.len());
    let name = input[..name_end].to_ascii_lowercase();
    let rest = input[name_end..].trim_start();
    let (value, rest) = match rest.strip_prefix('=') {
        Some(value) => {
            let value = value.trim_start();
            match value.strip_prefix('"') {
                Some(quoted) => unquote(quoted),
                None => {
                    let end =
                        value.find(|c: char| matches!(c, ';' | ',') || c.is_ascii_whitespace()).unwrap_or(value.len());
                    (value[..end].to_string(), &value[end..])
                }
            }
        }
        None => (String::new(), rest),
    };
    ((!name.is_empty()).then_some((name, value)), rest)
}

/// A quoted string's content (after its opening quote), with `\` escapes undone (RFC 9110
/// §5.6.4), and what follows the closing quote. An unclosed string runs to the end.
fn unquote(input: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return (value, &input[at + 1..]),
            '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
            c => value.push(c),
        }
    }
    (value, "")
}

/// What follows the current link-value: from its next comma outside a quoted string (or the end),
/// so a malformed part is skipped.
fn after_link_value(input: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (at, c) in input.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return &input[at..],
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(value: &str, rel: &str) -> Vec<String> {
        parse_link_header(value).into_iter().filter(|l| l.has_rel(rel)).map(|l| l.target).collect()
    }

    #[test]
    fn reads_githubs_pagination_header() {
        // The example of https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
        let header = r#"<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", <https://api.github.com/repositories/1300192/issues?page=4>; rel="next", <https://api.github.com/repositories/1300192/issues?page=515>; rel="last", <https://api.github.com/repositories/1300192/issues?page=1>; rel="first""#;
        let links = parse_link_header(header);
        assert_eq!(links.len(), 4);
        assert_eq!(targets(header, "next"), ["https://api.github.com/repositories/1300192/issues?page=4"]);
        assert_eq!(targets(header, "last"), ["https://api.github.com/repositories/1300192/issues?page=515"]);
        assert_eq!(links[0].params, vec![("rel".to_string(), "prev".to_string())]);
    }

    #[test]
    fn commas_and_semicolons_inside_the_url_or_a_quoted_value_do_not_split() {
        let header =
            r#"<https://a.test/r?ids=1,2;x=3>; title="a, b; \"c\""; rel="next", <https://a.test/r?page=9>; rel=last"#;
        let links = parse_link_header(header);
        assert_eq!(links.len(), 2, "{links:?}");
        assert_eq!(links[0].target, "https://a.test/r?ids=1,2;x=3");
        assert_eq!(links[0].params[0], ("title".to_string(), r#"a, b; "c""#.to_string()));
        assert!(links[0].has_rel("next"));
        assert!(links[1].has_rel("last"), "an unquoted rel token: {links:?}");
    }

    #[test]
    fn relation_types_are_space_separated_case_insensitive_and_only_the_first_rel_counts() {
        let links = parse_link_header(r#"<https://a.test/2>; REL="Next Last"; rel="prev""#);
        assert_eq!(links[0].rels, ["next", "last"]);
        assert!(links[0].has_rel("NEXT") && links[0].has_rel("last") && !links[0].has_rel("prev"));
    }

    #[test]
    fn whitespace_and_empty_elements_are_tolerated() {
        let header = " ,  <https://a.test/2> ;rel = \"next\" ,, ";
        assert_eq!(targets(header, "next"), ["https://a.test/2"]);
    }

    #[test]
    fn malformed_parts_are_skipped_without_hiding_the_rest() {
        assert_eq!(targets(r#"garbage; rel="next", <https://a.test/3>; rel="next""#, "next"), ["https://a.test/3"]);
        assert_eq!(
            targets(r#"<https://a.test/3>; rel="next"; junk "x, y", <https://a.test/4>; rel="last""#, "last"),
            ["https://a.test/4"]
        );
        assert!(parse_link_header("<https://a.test/unclosed; rel=next").is_empty());
        assert!(parse_link_header("").is_empty());
        let no_rel = parse_link_header("<https://a.test/5>");
        assert_eq!((no_rel[0].target.as_str(), no_rel[0].rels.len()), ("https://a.test/5", 0));
    }

    #[test]
    fn a_valueless_parameter_and_an_unclosed_quote_are_read_as_far_as_they_go() {
        let links = parse_link_header(r#"<https://a.test/6>; crossorigin; rel="next"#);
        assert_eq!(links[0].params, vec![("crossorigin".into(), String::new()), ("rel".into(), "next".into())]);
    }
}
