//! Raw HTTP for auth hooks, and helpers to build requests and read responses.
//!
//! Hooks mostly *return* an [`HttpRequest`] for the host to send. [`send`] is for the rare hook
//! that must make a further call itself: exchanging a short-lived token for a long-lived one
//! inside `parse_token_response`, say.

use serde_json::Value;

use crate::bindings::keyway::plugin::outbound;
use crate::form;
use crate::{HttpError, HttpRequest, HttpResponse};

/// Sends a request through the host, which checks it against the egress allowlist (the
/// integration's URLs plus the manifest's `hosts`), applies its timeouts and size caps, and never
/// follows redirects. Only auth hooks may call it; actions use [`crate::api`].
pub fn send(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
    outbound::send(request)
}

/// Finds a header by name, ignoring ASCII case.
fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        HttpRequest { method: method.into(), url: url.into(), headers: Vec::new(), body: None }
    }

    /// A `GET` with no headers.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` with a form body and its `Content-Type`, the shape of every OAuth2 token request.
    pub fn post_form<K: AsRef<str>, V: AsRef<str>>(url: impl Into<String>, pairs: &[(K, V)]) -> Self {
        let mut request = Self::new("POST", url);
        request.set_form_body(pairs);
        request
    }

    /// A `POST` with a JSON body and its `Content-Type`, for apps whose token endpoint wants JSON.
    pub fn post_json(url: impl Into<String>, body: &Value) -> Self {
        let mut request = Self::new("POST", url);
        request.set_json_body(body);
        request
    }

    /// Appends a header, keeping any of the same name; chains when building a request.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first header of that name (ignoring ASCII case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Sets a header: replaces the first of that name (ignoring ASCII case) in place and drops
    /// the others, or appends it. For a custom `User-Agent`, or a different `Accept`.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.headers.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(first) => {
                self.headers[first] = (name.to_string(), value);
                let mut index = 0;
                self.headers.retain(|(n, _)| {
                    let keep = index <= first || !n.eq_ignore_ascii_case(name);
                    index += 1;
                    keep
                });
            }
            None => self.headers.push((name.to_string(), value)),
        }
    }

    /// Removes every header of that name (ignoring ASCII case): for an app that rejects the
    /// standard `Authorization: Basic` next to body credentials, say.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Replaces the body with JSON and sets `Content-Type: application/json`: turning the
    /// standard form token request into the JSON one some apps require.
    pub fn set_json_body(&mut self, body: &Value) {
        self.body = Some(body.to_string().into_bytes());
        self.set_header("Content-Type", "application/json");
    }

    /// Replaces the body with a form and sets `Content-Type: application/x-www-form-urlencoded`.
    pub fn set_form_body<K: AsRef<str>, V: AsRef<str>>(&mut self, pairs: &[(K, V)]) {
        self.body = Some(form::encode(pairs).into_bytes());
        self.set_header("Content-Type", "application/x-www-form-urlencoded");
    }

    /// Reads a form body back as pairs (empty when there is no body), to edit what a standard
    /// request sends and write it back with [`HttpRequest::set_form_body`].
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        self.body.as_deref().map(form::parse).unwrap_or_default()
    }

    /// Renames a form field, keeping its value and position: `code` → `auth_code`.
    pub fn rename_form_field(&mut self, from: &str, to: &str) {
        let mut pairs = self.form_pairs();
        form::rename(&mut pairs, from, to);
        self.set_form_body(&pairs);
    }

    /// Sets a form field (see [`form::set`]): adding `access_type=offline`, say.
    pub fn set_form_field(&mut self, name: &str, value: &str) {
        let mut pairs = self.form_pairs();
        form::set(&mut pairs, name, value);
        self.set_form_body(&pairs);
    }

    /// Removes a form field: a refresh without `grant_type`, say.
    pub fn remove_form_field(&mut self, name: &str) {
        let mut pairs = self.form_pairs();
        form::remove(&mut pairs, name);
        self.set_form_body(&pairs);
    }

    /// Turns a form body into a JSON object of the same fields, as strings (a repeated name keeps
    /// its first value), and sets `Content-Type: application/json`. Other headers (`Accept`,
    /// `Authorization: Basic`) stay. For an app whose token endpoint wants the standard fields as
    /// JSON: `standard::token_request(ctx, grant)?` then `request.form_to_json_body()`.
    pub fn form_to_json_body(&mut self) {
        let mut object = serde_json::Map::new();
        for (name, value) in self.form_pairs() {
            object.entry(name).or_insert(Value::String(value));
        }
        self.set_json_body(&Value::Object(object));
    }
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header of that name (ignoring ASCII case; the host lowercases names anyway).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text, with invalid UTF-8 replaced: for error messages and odd formats.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, whatever the `Content-Type` says. To accept form bodies too,
    /// use [`crate::standard::parse_body`].
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builders_set_method_url_headers_and_body() {
        let request =
            HttpRequest::post_form("https://a.test/t", &[("a", "1"), ("b", "x y")]).with_header("X-Signature", "sig");
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://a.test/t");
        assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(request.header("x-signature"), Some("sig"));
        assert_eq!(request.body.as_deref(), Some(&b"a=1&b=x+y"[..]));

        let get = HttpRequest::get("https://a.test/me");
        assert_eq!((get.method.as_str(), get.headers.len(), get.body), ("GET", 0, None));
    }

    #[test]
    fn set_json_body_replaces_the_form_and_its_content_type() {
        let mut request =
            HttpRequest::post_form("https://a.test/t", &[("code", "c")]).with_header("Accept", "application/json");
        request.set_json_body(&json!({"code": "c"}));
        assert_eq!(
            request.headers,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("Accept".to_string(), "application/json".to_string()),
            ]
        );
        assert_eq!(request.body.as_deref(), Some(&br#"{"code":"c"}"#[..]));
    }

    #[test]
    fn form_field_edits_round_trip_through_the_body() {
        let mut request =
            HttpRequest::post_form("https://a.test/t", &[("code", "c d"), ("grant_type", "authorization_code")]);
        request.rename_form_field("code", "auth_code");
        request.set_form_field("access_type", "offline");
        request.remove_form_field("grant_type");
        assert_eq!(
            request.form_pairs(),
            vec![("auth_code".to_string(), "c d".to_string()), ("access_type".to_string(), "offline".to_string()),]
        );
    }

    #[test]
    fn set_and_remove_header_ignore_case() {
        let mut request = HttpRequest::get("https://a.test")
            .with_header("accept", "a")
            .with_header("X", "1")
            .with_header("ACCEPT", "b");
        request.set_header("Accept", "text/plain");
        assert_eq!(request.header("accept"), Some("text/plain"));
        assert_eq!(request.headers.len(), 2);
        request.remove_header("x");
        assert_eq!(request.headers, vec![("Accept".to_string(), "text/plain".to_string())]);
    }

    #[test]
    fn form_to_json_body_keeps_fields_and_other_headers() {
        let mut request =
            HttpRequest::post_form("https://a.test/t", &[("code", "c d"), ("grant_type", "g"), ("code", "x")])
                .with_header("Authorization", "Basic abc");
        request.form_to_json_body();
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("authorization"), Some("Basic abc"));
        let body: Value = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, json!({"code": "c d", "grant_type": "g"}));
    }

    #[test]
    fn response_helpers_read_status_headers_and_body() {
        let response = HttpResponse {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"ok":true}"#.to_vec(),
        };
        assert!(response.is_success());
        assert_eq!(response.header("Content-Type"), Some("application/json"));
        assert_eq!(response.json().unwrap(), json!({"ok": true}));
        assert_eq!(response.text(), r#"{"ok":true}"#);
        let failed = HttpResponse { status: 302, headers: vec![], body: b"\xffoops".to_vec() };
        assert!(!failed.is_success());
        assert!(failed.json().is_err());
        assert_eq!(failed.text(), "\u{fffd}oops");
    }
}
