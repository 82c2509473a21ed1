//! Editing URLs as strings, for the authorize URL and endpoints an app wants spelled its way.
//!
//! These helpers only touch the query: the parameters they do not edit keep their bytes exactly
//! (no re-encoding), and a `#fragment` stays last.

use crate::form;

/// A URL split into what precedes the query, the query (without `?`) and the fragment (without
/// `#`).
struct Parts<'a> {
    base: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn split(url: &'a str) -> Self {
        let (rest, fragment) = match url.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (url, None),
        };
        let (base, query) = match rest.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (rest, None),
        };
        Parts { base, query, fragment }
    }

    /// Reassembles the URL with a new query; an empty query drops the `?`.
    fn with_query(&self, query: &str) -> String {
        let mut url = self.base.to_string();
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        if let Some(fragment) = self.fragment {
            url.push('#');
            url.push_str(fragment);
        }
        url
    }

    /// The raw `name=value` segments of the query, empty ones dropped.
    fn segments(&self) -> Vec<&'a str> {
        self.query.unwrap_or("").split('&').filter(|segment| !segment.is_empty()).collect()
    }
}

/// The decoded name of one raw `name=value` query segment.
fn segment_name(segment: &str) -> String {
    let raw = segment.split_once('=').map_or(segment, |(name, _)| name);
    form::parse(raw.as_bytes()).into_iter().next().map(|(name, _)| name).unwrap_or_default()
}

/// Appends form-encoded pairs to the URL's query: after `?`, or after `&` when the URL already
/// has a query, and before any `#fragment`. The standard authorize URL is built with it.
///
/// ```
/// use keyway_sdk::url::append_query;
/// assert_eq!(append_query("https://a.test/auth?x=1", &[("owner", "user")]),
///            "https://a.test/auth?x=1&owner=user");
/// ```
pub fn append_query<K: AsRef<str>, V: AsRef<str>>(url: &str, pairs: &[(K, V)]) -> String {
    if pairs.is_empty() {
        return url.to_string();
    }
    let parts = Parts::split(url);
    let mut query = parts.query.unwrap_or("").to_string();
    if !query.is_empty() && !query.ends_with('&') {
        query.push('&');
    }
    query.push_str(&form::encode(pairs));
    parts.with_query(&query)
}

/// The URL's query parameters, decoded, in order.
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    form::parse(Parts::split(url).query.unwrap_or("").as_bytes())
}

/// Sets the query parameter `name` to `value`: replaces the first occurrence in place (dropping
/// later ones), or appends it when the URL has none. For an app that wants, say, scopes joined
/// with commas: `replace_query_param(&url, "scope", &scopes.join(","))`.
pub fn replace_query_param(url: &str, name: &str, value: &str) -> String {
    let parts = Parts::split(url);
    let replacement = form::encode(&[(name, value)]);
    let mut replaced = false;
    let mut segments = Vec::new();
    for segment in parts.segments() {
        if segment_name(segment) != name {
            segments.push(segment.to_string());
        } else if !replaced {
            segments.push(replacement.clone());
            replaced = true;
        }
    }
    if !replaced {
        segments.push(replacement);
    }
    parts.with_query(&segments.join("&"))
}

/// Renames every query parameter `from` to `to`, keeping its value and position: for an app
/// that wants `client_key` where the standard authorize URL sends `client_id`.
///
/// ```
/// use keyway_sdk::url::rename_query_param;
/// assert_eq!(rename_query_param("https://a.test/auth?client_id=abc&state=s", "client_id", "client_key"),
///            "https://a.test/auth?client_key=abc&state=s");
/// ```
pub fn rename_query_param(url: &str, from: &str, to: &str) -> String {
    let parts = Parts::split(url);
    let new_name = form::encode_component(to);
    let segments: Vec<String> = parts
        .segments()
        .into_iter()
        .map(|segment| {
            if segment_name(segment) != from {
                return segment.to_string();
            }
            match segment.split_once('=') {
                Some((_, value)) => format!("{new_name}={value}"),
                None => new_name.clone(),
            }
        })
        .collect();
    parts.with_query(&segments.join("&"))
}

/// Removes every query parameter `name`: for an app that rejects one the standard authorize URL
/// sends.
pub fn remove_query_param(url: &str, name: &str) -> String {
    let parts = Parts::split(url);
    let segments: Vec<&str> = parts.segments().into_iter().filter(|segment| segment_name(segment) != name).collect();
    parts.with_query(&segments.join("&"))
}

/// Joins a site and a path with exactly one `/` between them, whether or not the site ends with
/// one or the path starts with one: `join("https://a.test/", "oauth/token")` is
/// `https://a.test/oauth/token`.
pub fn join(site: &str, path: &str) -> String {
    let site = site.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    if path.is_empty() { site.to_string() } else { format!("{site}/{path}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_query_picks_the_separator_and_keeps_the_fragment_last() {
        let pairs = [("a", "1 2")];
        assert_eq!(append_query("https://x.test/p", &pairs), "https://x.test/p?a=1+2");
        assert_eq!(append_query("https://x.test/p?", &pairs), "https://x.test/p?a=1+2");
        assert_eq!(append_query("https://x.test/p?k=v", &pairs), "https://x.test/p?k=v&a=1+2");
        assert_eq!(append_query("https://x.test/p?k=v&", &pairs), "https://x.test/p?k=v&a=1+2");
        assert_eq!(append_query("https://x.test/#/login", &pairs), "https://x.test/?a=1+2#/login");
        let none: [(&str, &str); 0] = [];
        assert_eq!(append_query("https://x.test/p", &none), "https://x.test/p");
    }

    #[test]
    fn rename_keeps_values_byte_exact_and_other_params_untouched() {
        let url = "https://x.test/a?scope=a%20b&client_id=my+id%2B&state=s#frag";
        assert_eq!(
            rename_query_param(url, "client_id", "client_key"),
            "https://x.test/a?scope=a%20b&client_key=my+id%2B&state=s#frag"
        );
        assert_eq!(rename_query_param(url, "missing", "x"), url);
    }

    #[test]
    fn replace_sets_the_first_occurrence_drops_later_ones_or_appends() {
        let url = "https://x.test/a?scope=a+b&x=1&scope=c";
        assert_eq!(replace_query_param(url, "scope", "a,b"), "https://x.test/a?scope=a%2Cb&x=1");
        assert_eq!(replace_query_param(url, "owner", "user"), format!("{url}&owner=user"));
    }

    #[test]
    fn remove_drops_every_occurrence_and_the_question_mark_when_empty() {
        assert_eq!(remove_query_param("https://x.test/a?r=1&k=2&r=3", "r"), "https://x.test/a?k=2");
        assert_eq!(remove_query_param("https://x.test/a?r=1#f", "r"), "https://x.test/a#f");
    }

    #[test]
    fn query_pairs_decodes_in_order() {
        assert_eq!(
            query_pairs("https://x.test/?b=1+2&a=%3D#x=y"),
            vec![("b".to_string(), "1 2".to_string()), ("a".to_string(), "=".to_string())]
        );
    }

    #[test]
    fn join_puts_exactly_one_slash_between_site_and_path() {
        assert_eq!(join("https://a.test", "/oauth/token"), "https://a.test/oauth/token");
        assert_eq!(join("https://a.test/", "/oauth/token"), "https://a.test/oauth/token");
        assert_eq!(join("https://a.test/", "oauth/token"), "https://a.test/oauth/token");
        assert_eq!(join("https://a.test", ""), "https://a.test");
    }
}
