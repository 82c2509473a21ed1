//! What the provider saw: every request, as it arrived.

use axum::http::request::Parts;

/// One request as the provider received it, recorded before it was answered (refused requests included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, still percent-encoded as sent, without the query.
    pub path: String,
    /// The query parameters, form-decoded, in order; repeated names appear repeatedly.
    pub query: Vec<(String, String)>,
    /// The headers, names in lowercase, in order; values decoded lossily as UTF-8.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub(crate) fn from_parts(parts: &Parts, body: &[u8]) -> Self {
        let query =
            parts.uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        RecordedRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query,
            headers,
            body: body.to_vec(),
        }
    }

    /// The first query parameter with this name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body parsed as `application/x-www-form-urlencoded`, whatever the request's content type.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }

    /// The first form parameter in the body with this name.
    pub fn form_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body).find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
