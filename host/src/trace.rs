//! Redacted records of what went over the wire.
//!
//! A trace shows an operator or integration author exactly which request a plugin formatted,
//! so they can compare it with the app's documentation, without ever showing a secret. Two
//! layers: fields and headers with sensitive names are masked wherever they appear, and every
//! secret value the host knows about (client secret, tokens, codes, verifiers) is scrubbed
//! from the text, whatever the plugin called the field.

use std::time::Duration;

use base64::Engine as _;

use crate::egress::{EgressError, OutboundRequest, OutboundResponse};

const MASK: &str = "[redacted]";

/// What one trace entry keeps at most, so a hook sending huge URLs or headers cannot make the
/// host hold copies of them: the URL, the request body, and each header value, in bytes...
const MAX_URL: usize = 2048;
const MAX_BODY: usize = 2048;
const MAX_HEADER_VALUE: usize = 256;
/// ...and how many headers.
const MAX_HEADERS: usize = 32;
/// How many entries one hook call's trace keeps; the requests beyond are sent but not traced.
pub const MAX_ENTRIES_PER_CALL: usize = 32;

/// Field and header names whose values are always masked.
fn is_sensitive_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "code",
        "auth_code",
        "code_verifier",
        "token",
        "state",
        "assertion",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "spapi_oauth_code",
    ];
    EXACT.contains(&name.as_str())
        || ["secret", "password", "token", "api_key", "api-key", "signature"].iter().any(|part| name.contains(part))
            && !matches!(name.as_str(), "token_type" | "token_type_hint")
}

/// Knows the secret values of one flow, and masks them in any text.
#[derive(Default, Clone)]
pub struct Redactor {
    values: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} values)", self.values.len())
    }
}

impl Redactor {
    /// Adds a secret value. Its form-encoded spelling is scrubbed too, since that is how it
    /// appears in bodies and query strings. Values under 4 characters are ignored: masking
    /// them would mangle ordinary text.
    pub fn add(&mut self, value: &str) {
        if value.len() < 4 {
            return;
        }
        let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
        for v in [value.to_string(), encoded] {
            if !self.values.contains(&v) {
                self.values.push(v);
            }
        }
        // Longest first, so a secret that contains another is masked whole.
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// Takes in another redactor's values.
    pub fn absorb(&mut self, other: &Redactor) {
        for v in &other.values {
            if !self.values.contains(v) {
                self.values.push(v.clone());
            }
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every known secret value masked.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in &self.values {
            out = out.replace(value, MASK);
        }
        out
    }

    fn header_value(&self, name: &str, value: &str) -> String {
        if is_sensitive_name(name) {
            // Keep the scheme word (`Basic`, `Bearer`): it is what authors need to check.
            match value.split_once(' ') {
                Some((scheme, _)) if !scheme.is_empty() => format!("{scheme} {MASK}"),
                _ => MASK.to_string(),
            }
        } else {
            self.scrub(value)
        }
    }

    fn pairs(&self, pairs: impl Iterator<Item = (String, String)>) -> String {
        let masked: Vec<(String, String)> = pairs
            .map(|(k, v)| {
                let v = if is_sensitive_name(&k) { MASK.to_string() } else { v };
                (k, v)
            })
            .collect();
        let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(masked).finish();
        // Masks read better unencoded.
        self.scrub(&encoded).replace("%5Bredacted%5D", MASK)
    }

    fn url(&self, url: &str) -> String {
        match url::Url::parse(url) {
            Ok(mut parsed) if parsed.query().is_some() => {
                let query = self.pairs(parsed.query_pairs().into_owned());
                parsed.set_query(None);
                format!("{parsed}?{query}")
            }
            _ => self.scrub(url),
        }
    }

    fn json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if is_sensitive_name(k) && !v.is_object() && !v.is_array() {
                        *v = serde_json::Value::String(MASK.into());
                    } else {
                        self.json(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    /// A body as readable, redacted text: JSON and forms field by field, anything else
    /// scrubbed and truncated.
    pub fn body(&self, body: &[u8]) -> String {
        if body.is_empty() {
            return String::new();
        }
        if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) {
            self.json(&mut json);
            return self.scrub(&json.to_string());
        }
        let text = String::from_utf8_lossy(body);
        if text.contains('=') && !text.contains(char::is_whitespace) {
            return self.pairs(form_urlencoded::parse(body).into_owned());
        }
        truncate(&self.scrub(&text), 300)
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

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
        // Redacted first, then truncated: a cut must never leave part of a secret unmasked.
        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .take(MAX_HEADERS)
            .map(|(n, v)| (truncate(n, MAX_HEADER_VALUE), truncate(&redactor.header_value(n, v), MAX_HEADER_VALUE)))
            .collect();
        if req.headers.len() > MAX_HEADERS {
            headers.push(("[truncated]".into(), format!("{} more headers", req.headers.len() - MAX_HEADERS)));
        }
        Self {
            method: truncate(&req.method, 32),
            url: truncate(&redactor.url(&req.url), MAX_URL),
            headers,
            body: req.body.as_deref().map(|b| truncate(&redactor.body(b), MAX_BODY)).unwrap_or_default(),
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

/// Adds the Basic credential spelling of `user:pass` to `redactor`, so a plugin that builds
/// its own header is still masked in free text.
pub(crate) fn add_basic_credentials(redactor: &mut Redactor, user: &str, pass: &str) {
    for (u, p) in [
        (user.to_string(), pass.to_string()),
        (
            form_urlencoded::byte_serialize(user.as_bytes()).collect(),
            form_urlencoded::byte_serialize(pass.as_bytes()).collect(),
        ),
    ] {
        redactor.add(&base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")));
    }
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
    fn an_entry_keeps_bounded_copies_of_what_a_hook_sent() {
        let mut redactor = Redactor::default();
        redactor.add("s3cret-value");
        let huge = "a".repeat(4 << 20);
        let mut headers: Vec<(String, String)> =
            (0..1000).map(|i| (format!("x-h{i}"), format!("{huge}s3cret-value"))).collect();
        headers.insert(0, ("x-first".into(), format!("s3cret-value{huge}")));
        let req = OutboundRequest {
            method: "GET".into(),
            url: format!("https://app.test/s3cret-value/{huge}"),
            headers,
            body: Some(huge.clone().into_bytes()),
        };
        let entry = TraceEntry::new(&req, Err(&EgressError::Transport("refused".into())), Duration::ZERO, &redactor);
        let kept =
            entry.url.len() + entry.body.len() + entry.headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>();
        assert!(kept < 32 << 10, "the entry keeps {kept} bytes");
        assert!(entry.url.starts_with("https://app.test/[redacted]/aaa"), "{}", &entry.url[..40]);
        assert!(entry.url.ends_with(&format!("({} bytes)", req.url.len() + "[redacted]".len() - 12)), "says how long");
        assert_eq!(entry.headers.len(), MAX_HEADERS + 1);
        assert_eq!(entry.headers[0].1.get(..10), Some("[redacted]"), "masked before it was cut");
        assert_eq!(entry.headers[MAX_HEADERS], ("[truncated]".to_string(), "969 more headers".to_string()));
    }

    #[test]
    fn long_plain_bodies_are_truncated() {
        let redactor = Redactor::default();
        let long = "word ".repeat(200);
        assert!(redactor.body(long.as_bytes()).ends_with("(1000 bytes)"));
    }
}
