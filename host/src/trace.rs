//! Redacted records of what went over the wire.
//!
//! A trace shows an operator or integration author exactly which request a plugin formatted,
//! so they can compare it with the app's documentation, without ever showing a secret. Two
//! layers: fields and headers with sensitive names are masked wherever they appear, and every
//! secret value the host knows about (client secret, tokens, codes, verifiers) is scrubbed
//! from the text, whatever the plugin called the field.

use std::time::Duration;

use crate::egress::{EgressError, OutboundRequest, OutboundResponse};
pub(crate) use crate::redact::truncate;
pub use crate::redact::{Redactor, add_basic_credentials};

/// One outbound request and its outcome, safe to print, log or return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// `POST`
    pub method: String,
    /// The URL with sensitive query values masked.
    pub url: String,
    /// Headers with sensitive values masked.
    pub headers: Vec<(String, String)>,
    /// The request body, redacted.
    pub body: String,
    /// The response status, when there was one.
    pub status: Option<u16>,
    /// The response body, redacted and truncated.
    pub response_body: String,
    /// Why the request failed, when it did.
    pub error: Option<String>,
    /// From sending to the last byte.
    pub duration: Duration,
}

impl TraceEntry {
    pub(crate) fn new(
        req: &OutboundRequest,
        result: Result<&OutboundResponse, &EgressError>,
        duration: Duration,
        redactor: &Redactor,
    ) -> Self {
        let (status, response_body, error) = match result {
            Ok(resp) => (Some(resp.status), truncate(&redactor.body(&resp.body), 300), None),
            Err(e) => (None, String::new(), Some(redactor.scrub(&e.to_string()))),
        };
        Self {
            method: req.method.clone(),
            url: redactor.url(&req.url),
            headers: req.headers.iter().map(|(n, v)| (n.clone(), redactor.header_value(n, v))).collect(),
            body: req.body.as_deref().map(|b| redactor.body(b)).unwrap_or_default(),
            status,
            response_body,
            error,
            duration,
        }
    }

    /// A request as it was received elsewhere (by a provider, say), with no outcome.
    pub fn request_only(req: &OutboundRequest, redactor: &Redactor) -> Self {
        let mut entry = Self::new(req, Err(&EgressError::Transport(String::new())), Duration::ZERO, redactor);
        entry.error = None;
        entry
    }

    /// One line: `POST https://... -> 200 (12 ms)`.
    pub fn summary(&self) -> String {
        let outcome = match (&self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(err)) => format!("failed: {err}"),
            (None, None) => "no answer".into(),
        };
        format!("{} {} -> {outcome} ({})", self.method, self.url, millis(self.duration))
    }
}

impl std::fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        for (name, value) in &self.headers {
            writeln!(f, "  {name}: {value}")?;
        }
        if !self.body.is_empty() {
            writeln!(f, "  body: {}", self.body)?;
        }
        match (&self.status, &self.error) {
            (Some(status), _) => write!(f, "  -> {status} ({})", millis(self.duration))?,
            (None, Some(err)) => write!(f, "  -> failed: {err}")?,
            (None, None) => {}
        }
        if !self.response_body.is_empty() {
            write!(f, "\n  response: {}", self.response_body)?;
        }
        Ok(())
    }
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str, headers: &[(&str, &str)], body: &str) -> OutboundRequest {
        OutboundRequest {
            method: "POST".into(),
            url: url.into(),
            headers: headers.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            body: Some(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn sensitive_fields_and_known_values_are_masked() {
        let mut redactor = Redactor::default();
        redactor.add("s3cret value");
        let req = request(
            "https://app.test/token?client_secret=s3cret+value&x=1",
            &[("Authorization", "Basic ZGVtbzpzM2NyZXQ="), ("Accept", "application/json")],
            "code=abc123&grant_type=authorization_code&weird_field=s3cret+value",
        );
        let resp = OutboundResponse {
            status: 200,
            headers: vec![],
            body: br#"{"access_token":"tok-1","data":{"refresh_token":"r-2"},"token_type":"bearer"}"#.to_vec(),
        };
        let entry = TraceEntry::new(&req, Ok(&resp), Duration::from_millis(3), &redactor);
        let printed = entry.to_string();
        for secret in ["s3cret", "abc123", "ZGVtbzpzM2NyZXQ=", "tok-1", "r-2"] {
            assert!(!printed.contains(secret), "{secret} leaked in {printed}");
        }
        assert!(printed.contains("Authorization: Basic [redacted]"), "{printed}");
        assert!(printed.contains("grant_type=authorization_code"), "{printed}");
        assert!(printed.contains(r#""token_type":"bearer""#), "{printed}");
        assert!(printed.contains("x=1"), "{printed}");
    }

    #[test]
    fn long_plain_bodies_are_truncated() {
        let redactor = Redactor::default();
        let long = "word ".repeat(200);
        assert!(redactor.body(long.as_bytes()).ends_with("(1000 bytes)"));
    }
}
