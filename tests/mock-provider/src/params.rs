//! Strict reading of OAuth parameters from a query string or a form body (RFC 6749 §3.1, §3.2).

use axum::http::{HeaderMap, header};

use crate::TokenError;

/// Decoded parameters, in order.
///
/// RFC 6749 §3.1 and §3.2: a parameter must not be sent more than once, and one sent without a value counts
/// as omitted. Repetition is reported by [`Params::repeated`] rather than refused here, because the authorize
/// endpoint must validate `client_id` and `redirect_uri` before it may report anything by redirect.
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(raw: &[u8]) -> Self {
        Params { pairs: form_urlencoded::parse(raw).into_owned().collect() }
    }

    /// Parameters read from another format (a JSON body, say), so the same strict checks apply.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Params { pairs }
    }

    pub fn from_query(query: Option<&str>) -> Self {
        Self::parse(query.unwrap_or_default().as_bytes())
    }

    /// The value of `name`, if present with a non-empty value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    pub fn is_repeated(&self, name: &str) -> bool {
        self.pairs.iter().filter(|(n, _)| n == name).count() > 1
    }

    /// The first parameter name that appears more than once.
    pub fn repeated(&self) -> Option<&str> {
        self.pairs.iter().map(|(n, _)| n.as_str()).find(|n| self.is_repeated(n))
    }

    /// Refuses a repeated parameter with `invalid_request`.
    pub fn refuse_repeated(&self) -> Result<(), TokenError> {
        match self.repeated() {
            Some(name) => Err(TokenError::invalid_request(format!(
                "parameter `{name}` is sent more than once; each parameter must appear once (RFC 6749 §3.2)"
            ))),
            None => Ok(()),
        }
    }

    /// The value of a required body parameter, or `invalid_request` saying it is missing (and where it went
    /// instead, when the client put it in the URL query).
    pub fn require<'a>(&'a self, name: &str, query: &Params, why: &str) -> Result<&'a str, TokenError> {
        self.get(name).ok_or_else(|| {
            let misplaced = if query.get(name).is_some() {
                " (it was sent in the URL query; send it in the form body)"
            } else {
                ""
            };
            TokenError::invalid_request(format!("`{name}` is missing{misplaced}: {why}"))
        })
    }
}

/// Splits a media type into its lowercase essence and its parameters.
pub(crate) fn media_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_owned()))
        .collect();
    (essence, params)
}

/// Refuses a body that is not `application/x-www-form-urlencoded` (charset, if given, UTF-8).
pub(crate) fn require_form_body(headers: &HeaderMap) -> Result<(), TokenError> {
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Some(content_type) = content_type else {
        return Err(TokenError::invalid_request(
            "Content-Type is missing: send the parameters as `application/x-www-form-urlencoded` (RFC 6749 §4.1.3)",
        ));
    };
    let (essence, params) = media_type(&content_type);
    if essence != "application/x-www-form-urlencoded" {
        return Err(TokenError::invalid_request(format!(
            "Content-Type `{content_type}` is not accepted: send the parameters as \
             `application/x-www-form-urlencoded` (RFC 6749 §4.1.3)"
        )));
    }
    if let Some((_, charset)) = params.iter().find(|(k, _)| k == "charset")
        && !charset.eq_ignore_ascii_case("utf-8")
    {
        return Err(TokenError::invalid_request(format!(
            "charset `{charset}` is not accepted: form bodies must be UTF-8"
        )));
    }
    Ok(())
}

/// Splits a `scope` value on single spaces (a `+` in the form encoding), refusing empty entries, which come from
/// doubled, leading or trailing separators.
pub(crate) fn parse_scopes(scope: Option<&str>) -> Result<Vec<String>, String> {
    let Some(scope) = scope else {
        return Ok(Vec::new());
    };
    let scopes: Vec<String> = scope.split(' ').map(str::to_owned).collect();
    if scopes.iter().any(String::is_empty) {
        return Err(format!(
            "scope `{scope}` has an empty entry: separate scopes with exactly one space (`+` once form-encoded)"
        ));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_omitted() {
        let params = Params::parse(b"state=&code=abc");
        assert_eq!(params.get("state"), None);
        assert_eq!(params.get("code"), Some("abc"));
    }

    #[test]
    fn repetition_is_found_even_with_empty_values() {
        assert_eq!(Params::parse(b"a=1&b=2&a=").repeated(), Some("a"));
        assert_eq!(Params::parse(b"a=1&b=2").repeated(), None);
    }

    #[test]
    fn scopes_split_on_plus_encoded_spaces_only() {
        let params = Params::parse(b"scope=read+write");
        assert_eq!(parse_scopes(params.get("scope")).unwrap(), ["read", "write"]);
        assert_eq!(parse_scopes(Some("read,write")).unwrap(), ["read,write"]);
        assert!(parse_scopes(Some("read  write")).is_err());
        assert!(parse_scopes(Some("read ")).is_err());
    }
}
