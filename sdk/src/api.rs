//! The app's API, for actions. The host resolves the path against the connection's API base
//! (`api_base`), attaches credentials the way `api_auth` says, refreshes and retries once after a
//! 401, and counts and times the call. Action code never sees a token.

use serde_json::Value;

use crate::bindings::keyway::plugin::api;
use crate::{ApiRequest, HttpError, HttpResponse};

/// Sends an API request through the host. Only actions may call it; an auth hook that tries gets
/// an error (hooks use [`crate::http::send`]).
pub fn call(request: &ApiRequest) -> Result<HttpResponse, HttpError> {
    api::call(request)
}

/// `GET path`, relative to the API base (`/repos/o/r/issues`).
pub fn get(path: &str) -> Result<HttpResponse, HttpError> {
    call(&ApiRequest::get(path))
}

/// `POST path` with a JSON body.
pub fn post_json(path: &str, body: &Value) -> Result<HttpResponse, HttpError> {
    call(&ApiRequest::post_json(path, body))
}

impl ApiRequest {
    /// A request with no query, headers or body. `path` is relative to the API base, or an
    /// absolute URL inside the allowlist.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        ApiRequest { method: method.into(), path: path.into(), query: Vec::new(), headers: Vec::new(), body: None }
    }

    /// A `GET`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }

    /// A `POST` with a JSON body and its `Content-Type`.
    pub fn post_json(path: impl Into<String>, body: &Value) -> Self {
        let mut request = Self::new("POST", path);
        request.body = Some(body.to_string().into_bytes());
        request.with_header("Content-Type", "application/json")
    }

    /// Appends a query parameter; the host encodes it.
    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Appends a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builders_fill_every_field() {
        let request = ApiRequest::post_json("/issues", &json!({"title": "t"}))
            .with_query("per_page", "10")
            .with_header("X-Trace", "1");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/issues");
        assert_eq!(request.query, vec![("per_page".to_string(), "10".to_string())]);
        assert_eq!(
            request.headers,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("X-Trace".to_string(), "1".to_string()),
            ]
        );
        assert_eq!(request.body.as_deref(), Some(&br#"{"title":"t"}"#[..]));
    }
}
