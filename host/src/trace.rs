//! Redacted records of what went over the wire.
//!
//! A trace shows an operator or integration author exactly which request a plugin formatted,
//! so they can compare it with the app's documentation, without ever showing a secret. Two
//! layers: fields and headers with sensitive names are masked wherever they appear, and every
//! secret value the host knows about (client secret, tokens, codes, verifiers) is scrubbed
//! from the text, whatever the plugin called the field.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyway_policy::text::clip;

use crate::egress::{EgressError, Exchange, OutboundRequest, OutboundResponse};
pub use crate::redact::{Redactor, add_basic_credentials};

/// What one trace entry keeps at most, so a hook sending huge URLs or headers cannot make the
/// host hold copies of them: the URL, the request body, and each header value, in bytes...
const MAX_URL: usize = 2048;
const MAX_BODY: usize = 2048;
const MAX_HEADER_VALUE: usize = 256;
/// ...and how many headers.
const MAX_HEADERS: usize = 32;
/// How many entries one recorder keeps; the requests beyond are sent, counted, not traced.
pub const MAX_ENTRIES: usize = 64;

/// Where the traces of one flow go: every request the host sends for it (the token request,
/// an API call) and every request its hooks send through `outbound`, in the order they left.
///
/// A caller that shows traces (the conformance kit, the demo) passes [`Recorder::new`] and
/// reads [`Recorder::entries`]; one that does not passes [`Recorder::off`], and then no entry
/// is even built. Clones share one record, so a hook's store can hold one while the flow
/// that called it holds another.
#[derive(Clone, Default)]
pub struct Recorder {
    record: Option<Arc<Mutex<Record>>>,
}

#[derive(Default)]
struct Record {
    entries: Vec<TraceEntry>,
    dropped: usize,
}

impl Recorder {
    /// A recorder that keeps up to [`MAX_ENTRIES`] entries.
    pub fn new() -> Self {
        Self { record: Some(Arc::default()) }
    }

    /// A recorder that keeps nothing and costs nothing.
    pub fn off() -> Self {
        Self::default()
    }

    /// Whether entries are kept.
    pub fn is_on(&self) -> bool {
        self.record.is_some()
    }

    /// What has been recorded so far, in order.
    pub fn entries(&self) -> Vec<TraceEntry> {
        self.lock().map(|r| r.entries.clone()).unwrap_or_default()
    }

    /// How many requests were sent after the recorder was full.
    pub fn dropped(&self) -> usize {
        self.lock().map_or(0, |r| r.dropped)
    }

    fn lock(&self) -> Option<std::sync::MutexGuard<'_, Record>> {
        // A panic while holding the lock leaves a record that is still a valid list.
        self.record.as_ref().map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl Exchange for Recorder {
    fn record(
        &self,
        req: &OutboundRequest,
        result: Result<&OutboundResponse, &EgressError>,
        took: Duration,
        redactor: &Redactor,
    ) {
        let Some(mut record) = self.lock() else { return };
        if record.entries.len() >= MAX_ENTRIES {
            record.dropped += 1;
            return;
        }
        record.entries.push(TraceEntry::new(req, result, took, redactor));
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.lock() {
            Some(r) => write!(f, "Recorder({} entries, {} dropped)", r.entries.len(), r.dropped),
            None => f.write_str("Recorder(off)"),
        }
    }
}

/// One outbound request and its outcome, safe to print, log or return. Serialized, it is what
/// the console keeps of a failed exchange.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// The response's headers, names lowercase, sensitive values (`set-cookie`) masked.
    pub response_headers: Vec<(String, String)>,
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
        let (status, response_headers, response_body, error) = match result {
            Ok(resp) => (
                Some(resp.status),
                masked_headers(&resp.headers, redactor),
                clip(&redactor.body(&resp.body), 300).into_owned(),
                None,
            ),
            Err(e) => (None, Vec::new(), String::new(), Some(redactor.scrub(&e.to_string()))),
        };
        Self {
            method: clip(&req.method, 32).into_owned(),
            url: clip(&redactor.url(&req.url), MAX_URL).into_owned(),
            headers: masked_headers(&req.headers, redactor),
            body: req.body.as_deref().map(|b| clip(&redactor.body(b), MAX_BODY).into_owned()).unwrap_or_default(),
            status,
            response_headers,
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

    /// Masks every secret `redactor` knows in every part of the entry. An entry is masked with what
    /// the flow knew when it was sent; a value learnt later (the code, for one, comes back with the
    /// browser after the request that carried it) is masked by calling this again.
    pub fn scrub(&mut self, redactor: &Redactor) {
        let scrub = |text: &mut String| *text = redactor.scrub(text);
        scrub(&mut self.url);
        scrub(&mut self.body);
        scrub(&mut self.response_body);
        self.error.iter_mut().for_each(scrub);
        self.headers.iter_mut().chain(self.response_headers.iter_mut()).for_each(|(_, value)| scrub(value));
    }

    /// The whole exchange, request and response, headers included, in the style of `curl -v`: `> ` before what
    /// was sent, `< ` before what came back. Masked like the rest of the entry.
    pub fn wire(&self) -> Wire<'_> {
        Wire(self)
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

/// [`TraceEntry::wire`]'s text.
pub struct Wire<'a>(&'a TraceEntry);

impl std::fmt::Display for Wire<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entry = self.0;
        writeln!(f, "> {} {}", entry.method, entry.url)?;
        for (name, value) in &entry.headers {
            writeln!(f, "> {name}: {value}")?;
        }
        if !entry.body.is_empty() {
            writeln!(f, ">\n> {}", entry.body)?;
        }
        match (&entry.status, &entry.error) {
            (Some(status), _) => writeln!(f, "< {status} ({})", millis(entry.duration))?,
            (None, Some(err)) => writeln!(f, "< failed: {err}")?,
            (None, None) => {}
        }
        for (name, value) in &entry.response_headers {
            writeln!(f, "< {name}: {value}")?;
        }
        if !entry.response_body.is_empty() {
            writeln!(f, "<\n< {}", entry.response_body)?;
        }
        Ok(())
    }
}

/// Headers with sensitive values masked, each bounded, and at most [`MAX_HEADERS`] of them. Redacted first, then
/// truncated: a cut must never leave part of a secret unmasked.
fn masked_headers(headers: &[(String, String)], redactor: &Redactor) -> Vec<(String, String)> {
    let mut masked: Vec<(String, String)> = headers
        .iter()
        .take(MAX_HEADERS)
        .map(|(n, v)| {
            (clip(n, MAX_HEADER_VALUE).into_owned(), clip(&redactor.header_value(n, v), MAX_HEADER_VALUE).into_owned())
        })
        .collect();
    if headers.len() > MAX_HEADERS {
        masked.push(("[truncated]".into(), format!("{} more headers", headers.len() - MAX_HEADERS)));
    }
    masked
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
    fn the_wire_view_shows_both_sides_headers_included_and_masked() {
        let mut redactor = Redactor::default();
        redactor.add("tok-123456");
        let req = request("https://app.test/token", &[("Authorization", "Basic ZGVtbzpz"), ("Accept", "*/*")], "a=1");
        let resp = OutboundResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("set-cookie".into(), "session=abc; HttpOnly".into()),
                ("x-echo".into(), "tok-123456".into()),
            ],
            body: br#"{"access_token":"tok-123456"}"#.to_vec(),
        };
        let printed = TraceEntry::new(&req, Ok(&resp), Duration::from_millis(2), &redactor).wire().to_string();
        assert!(printed.starts_with("> POST https://app.test/token\n> Authorization: Basic [redacted]\n"), "{printed}");
        assert!(printed.contains(">\n> a=1\n< 200 (2.0 ms)\n< content-type: application/json\n"), "{printed}");
        assert!(printed.contains("< set-cookie: [redacted]") && printed.contains("< x-echo: [redacted]"), "{printed}");
        for secret in ["ZGVtbzpz", "abc", "tok-123456"] {
            assert!(!printed.contains(secret), "{secret} leaked in {printed}");
        }
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
        assert!(
            entry.url.ends_with(&format!("(cut from {} bytes)", req.url.len() + "[redacted]".len() - 12)),
            "says how long"
        );
        assert_eq!(entry.headers.len(), MAX_HEADERS + 1);
        assert_eq!(entry.headers[0].1.get(..10), Some("[redacted]"), "masked before it was cut");
        assert_eq!(entry.headers[MAX_HEADERS], ("[truncated]".to_string(), "969 more headers".to_string()));
    }

    #[test]
    fn a_recorder_keeps_the_first_entries_and_counts_the_rest() {
        let req = request("https://app.test/x", &[], "");
        let recorder = Recorder::new();
        let clone = recorder.clone();
        for _ in 0..MAX_ENTRIES + 5 {
            clone.record(&req, Err(&EgressError::Transport("refused".into())), Duration::ZERO, &Redactor::default());
        }
        assert_eq!((recorder.entries().len(), recorder.dropped()), (MAX_ENTRIES, 5));
        let off = Recorder::off();
        off.record(&req, Err(&EgressError::Transport("refused".into())), Duration::ZERO, &Redactor::default());
        assert_eq!((off.entries().len(), off.is_on()), (0, false));
    }

    #[test]
    fn long_plain_bodies_are_truncated() {
        let redactor = Redactor::default();
        let long = "word ".repeat(200);
        assert!(redactor.body(long.as_bytes()).ends_with("(cut from 1000 bytes)"));
    }
}
