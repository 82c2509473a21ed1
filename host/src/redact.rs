//! Masking secrets in text.
//!
//! Two layers: fields and headers with sensitive names are masked wherever they appear, and
//! every secret value the host knows of (client secret, tokens, codes, verifiers) is scrubbed
//! from the text in every spelling the host itself derives from it (form and percent
//! encoding, the base64 of a Basic pair), whatever the plugin called the field.
//!
//! Scrubbing is defence in depth, not the boundary: a plugin that decodes, reverses or
//! re-encodes a value can defeat any matcher. What keeps credentials in is the egress
//! allowlist, checked before a credential goes anywhere (see `flows` and `egress`).

use std::borrow::Cow;

use base64::Engine as _;
use keyway_policy::text::clip;

const MASK: &str = "[redacted]";

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
    // A name that says code is masked too (`device_code`, `spapi_oauth_code`, a provider's own
    // `grant_code`): a failed answer can carry one the redactor has never seen as a value.
    // The exceptions name what is never secret and is what a reader needs to see.
    EXACT.contains(&name.as_str())
        || ["secret", "password", "token", "api_key", "api-key", "signature", "code"]
            .iter()
            .any(|part| name.contains(part))
            && !matches!(
                name.as_str(),
                "token_type" | "token_type_hint" | "error_code" | "status_code" | "code_challenge_method"
            )
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
    /// Adds a secret value, with the spellings the host itself gives it on the wire: form
    /// encoding (bodies, query strings) and percent encoding (`%20` for a space, as in a
    /// path). Values under 4 characters are ignored: masking them would mangle ordinary text.
    pub fn add(&mut self, value: &str) {
        if value.len() < 4 {
            return;
        }
        // Every request registers its connection's secrets, most of them again and most of
        // them plain (no encoding changes them): only a new spelling is copied, and the order
        // is restored only when one was added.
        let mut parts = form_urlencoded::byte_serialize(value.as_bytes());
        let first = parts.next().unwrap_or_default();
        // The serializer yields unchanged runs whole and each encoded byte alone (1 or 3
        // characters), so a first part as long as the value is the value, unchanged.
        let form: Cow<str> = if first.len() == value.len() {
            Cow::Borrowed(value)
        } else {
            std::iter::once(first).chain(parts).collect()
        };
        let percent = form.contains('+').then(|| form.replace('+', "%20"));
        let before = self.values.len();
        for v in [Some(value), Some(&*form), percent.as_deref()].into_iter().flatten() {
            if !self.values.iter().any(|known| known == v) {
                self.values.push(v.to_string());
            }
        }
        if self.values.len() != before {
            // Longest first, so a secret that contains another is masked whole.
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
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
        self.scrub_cow(text).into_owned()
    }

    /// [`Redactor::scrub`] that copies `text` only when it holds a secret: most API answers
    /// hold none, and they are scrubbed on every request.
    pub fn scrub_cow<'a>(&self, text: &'a str) -> Cow<'a, str> {
        // The values before the first one found are not in `text`, so skipping them masks
        // exactly what replacing them all in order would.
        let Some(first) = self.values.iter().position(|v| text.contains(v.as_str())) else {
            return Cow::Borrowed(text);
        };
        let mut out = text.to_string();
        for value in &self.values[first..] {
            if out.contains(value.as_str()) {
                out = out.replace(value, MASK);
            }
        }
        Cow::Owned(out)
    }

    pub(crate) fn header_value(&self, name: &str, value: &str) -> String {
        if is_sensitive_name(name) {
            // Keep the scheme word (`Basic`, `Bearer`): it is what authors need to check. Only a word: in
            // `Cookie: session=abc; theme=dark` the first "word" is the secret itself.
            match value.split_once(' ') {
                Some((scheme, _))
                    if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
                {
                    format!("{scheme} {MASK}")
                }
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

    pub(crate) fn url(&self, url: &str) -> String {
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
        clip(&self.scrub(&text), 300).into_owned()
    }
}

/// Adds the Basic credential spellings of `user:pass` to `redactor`: the pair as the host
/// encodes it (`base64(user:pass)`), and as RFC 6749 §2.3.1 does for client credentials
/// (each half form-encoded first), so an echoed header is masked too.
pub fn add_basic_credentials(redactor: &mut Redactor, user: &str, pass: &str) {
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

    #[test]
    fn scrubbing_copies_only_text_that_holds_a_secret_and_masks_the_longest_first() {
        let mut redactor = Redactor::default();
        redactor.add("tok-123");
        redactor.add("tok-123-refresh");
        assert!(matches!(redactor.scrub_cow(r#"{"id":7}"#), Cow::Borrowed(_)));
        assert_eq!(redactor.scrub_cow("a tok-123-refresh and tok-123"), "a [redacted] and [redacted]");
        assert_eq!(redactor.scrub("x=tok%2D123"), "x=tok%2D123", "only the spellings the host derives");
        assert_eq!(redactor.scrub("q=tok-123"), "q=[redacted]");
    }

    #[test]
    fn a_value_is_kept_once_in_each_of_its_spellings() {
        let mut redactor = Redactor::default();
        redactor.add("plain-token_1.x");
        redactor.add("plain-token_1.x");
        assert_eq!(redactor.values, ["plain-token_1.x"], "a plain value has one spelling, kept once");
        redactor.add("with space+plus");
        redactor.add("with space+plus");
        assert_eq!(redactor.values.len(), 4, "{:?}", redactor.values);
        assert_eq!(redactor.scrub("f=with+space%2Bplus"), "f=[redacted]", "form encoding");
        assert_eq!(redactor.scrub("/with%20space%2Bplus"), "/[redacted]", "percent encoding");
        assert_eq!(redactor.scrub("with space+plus"), "[redacted]");
    }
}
