//! The headers a caller or a plugin may put on an outbound request.
//!
//! Checked in this order, cheapest first, so a hostile request is refused before anything
//! is allocated for it:
//! 1. the count and the total bytes ([`HeaderLimits`]): the HTTP stack panics beyond 32,768
//!    headers, and every header is copied into traces;
//! 2. names and values must be valid HTTP (token names; no control bytes in values);
//! 3. framing and hop-by-hop headers are **dropped**: `Content-Length`, `Transfer-Encoding`,
//!    `Connection`, `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`, `Upgrade`, and every
//!    header the request's `Connection` names. The client frames the body it actually sends
//!    and manages its own connections, so a caller's values can only disagree with it
//!    (request smuggling), and code that copies a correct `Content-Length` should keep
//!    working. `Proxy-Authorization` is dropped too: it is meant for a proxy, which is the
//!    operator's, never for the app;
//! 4. `Host` is dropped when it names the URL's own host, and **refused** otherwise: the
//!    allowlist checked the URL's host, and a different `Host` would reach another virtual
//!    host behind the same address, unchecked.

use std::fmt;

use crate::host::{HostName, shorten};

/// Caps on one request's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderLimits {
    /// Most headers one request may carry.
    pub max_count: usize,
    /// Most bytes of header names and values together.
    pub max_bytes: usize,
}

impl Default for HeaderLimits {
    fn default() -> Self {
        Self { max_count: 100, max_bytes: 32 << 10 }
    }
}

/// Why a request's headers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Over [`HeaderLimits::max_count`].
    #[error("the request has {count} headers; at most {max} may be sent")]
    TooMany {
        /// How many there were.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// Over [`HeaderLimits::max_bytes`].
    #[error("the request's headers are {bytes} bytes or more; at most {max} bytes of names and values may be sent")]
    TooLarge {
        /// The total, counted until it passed the cap.
        bytes: usize,
        /// The cap.
        max: usize,
    },
    /// Not a header name.
    #[error("`{0}` is not a valid header name; use letters, digits and `-`")]
    InvalidName(String),
    /// A value with control characters (such as CR or LF).
    #[error("the value of header `{0}` has control characters (such as a line break); remove them")]
    InvalidValue(String),
    /// A header that would change where the request goes.
    #[error("header `{name}`: {why}")]
    Refused {
        /// The header.
        name: String,
        /// Why, and what to do.
        why: String,
    },
}

impl HeaderError {
    /// Whether this is a size cap (too large) rather than a refusal.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooMany { .. } | Self::TooLarge { .. })
    }
}

/// Refuses a header list over `limits`, without allocating.
pub fn check_limits(headers: &[(String, String)], limits: HeaderLimits) -> Result<(), HeaderError> {
    if headers.len() > limits.max_count {
        return Err(HeaderError::TooMany { count: headers.len(), max: limits.max_count });
    }
    let mut bytes = 0usize;
    for (name, value) in headers {
        bytes = bytes.saturating_add(name.len()).saturating_add(value.len());
        if bytes > limits.max_bytes {
            return Err(HeaderError::TooLarge { bytes, max: limits.max_bytes });
        }
    }
    Ok(())
}

/// Framing and hop-by-hop headers, lowercase: dropped from every outbound request.
pub const DROPPED: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
];

/// Whether `name` is a valid header name (an RFC 9110 token).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `value` is a valid header value: no control bytes but tab.
pub fn is_valid_value(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// The headers to send, in order: checks `headers` against `limits` and the rules above for
/// a request to `host` (normalised) on `port`, and returns the ones to forward.
pub fn prepare<'a>(
    headers: &'a [(String, String)],
    limits: HeaderLimits,
    host: &HostName,
    port: Option<u16>,
) -> Result<Vec<&'a (String, String)>, HeaderError> {
    check_limits(headers, limits)?;
    for (name, value) in headers {
        if !is_valid_name(name) {
            return Err(HeaderError::InvalidName(shorten(name)));
        }
        if !is_valid_value(value) {
            return Err(HeaderError::InvalidValue(shorten(name)));
        }
    }
    // Headers the request itself declares hop-by-hop (RFC 9110 §7.6.1).
    let named_by_connection: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .collect();
    let mut forward = Vec::with_capacity(headers.len());
    for header in headers {
        let name = header.0.as_str();
        if DROPPED.iter().chain(&named_by_connection).any(|d| d.eq_ignore_ascii_case(name)) {
            continue;
        }
        if name.eq_ignore_ascii_case("host") {
            if names_host(&header.1, host, port) {
                continue;
            }
            return Err(HeaderError::Refused {
                name: header.0.clone(),
                why: format!(
                    "`{}` is not the URL's host `{host}`; the request goes to the host in its URL, which the allowlist \
                     checked, so remove the `Host` header",
                    shorten(&header.1)
                ),
            });
        }
        forward.push(header);
    }
    Ok(forward)
}

/// Whether a `Host` value is `host`, optionally with `port`.
fn names_host(value: &str, host: &HostName, port: Option<u16>) -> bool {
    let value = value.trim();
    let (name, value_port) = match value.rsplit_once(':') {
        // An IPv6 literal's colons sit inside its brackets.
        Some((name, p)) if !p.contains(']') => (name, p.parse::<u16>().ok().map(Some)),
        _ => (value, Some(None)),
    };
    let Some(value_port) = value_port else { return false };
    HostName::parse(name).is_ok_and(|name| name == *host) && value_port.is_none_or(|p| Some(p) == port)
}

impl fmt::Display for HeaderLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} headers, {} bytes", self.max_count, self.max_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    fn host(text: &str) -> HostName {
        HostName::parse(text).unwrap()
    }

    fn names(forward: &[&(String, String)]) -> Vec<String> {
        forward.iter().map(|(n, _)| n.clone()).collect()
    }

    #[test]
    fn too_many_or_too_large_headers_are_refused_as_too_large() {
        let many: Vec<(String, String)> = (0..40_000).map(|i| (format!("x-h-{i}"), "v".to_string())).collect();
        let err = check_limits(&many, HeaderLimits::default()).unwrap_err();
        assert_eq!(err, HeaderError::TooMany { count: 40_000, max: 100 });
        assert!(err.is_too_large());
        assert_eq!(err.to_string(), "the request has 40000 headers; at most 100 may be sent");
        let big = h(&[("x-a", &"a".repeat(20 << 10)), ("x-b", &"b".repeat(20 << 10))]);
        let err = check_limits(&big, HeaderLimits::default()).unwrap_err();
        assert!(matches!(err, HeaderError::TooLarge { max: 32768, .. }), "{err}");
        assert!(check_limits(&h(&[("a", "b")]), HeaderLimits::default()).is_ok());
    }

    #[test]
    fn framing_and_hop_by_hop_headers_are_dropped() {
        let headers = h(&[
            ("Accept", "application/json"),
            ("Content-Length", "0"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "keep-alive, X-Hop"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic eDp5"),
            ("x-hop", "1"),
            ("Host", "API.example.test:8443"),
            ("X-Trace", "t1"),
        ]);
        let forward = prepare(&headers, HeaderLimits::default(), &host("api.example.test"), Some(8443)).unwrap();
        assert_eq!(names(&forward), ["Accept", "X-Trace"]);
    }

    #[test]
    fn a_host_header_naming_another_host_is_refused() {
        let target = host("api.example.test");
        for value in ["evil.test", "api.example.test:9999", "api.example.test.evil", "api.example.test:x", ""] {
            let headers = h(&[("host", value)]);
            let err = prepare(&headers, HeaderLimits::default(), &target, Some(443)).unwrap_err();
            assert!(matches!(err, HeaderError::Refused { .. }), "{value}: {err}");
            assert!(err.to_string().contains("remove the `Host` header"), "{err}");
        }
        for value in ["api.example.test", "api.example.test.", "api.example.test:443"] {
            assert!(prepare(&h(&[("host", value)]), HeaderLimits::default(), &target, Some(443)).is_ok(), "{value}");
        }
        let v6 = host("::1");
        assert!(prepare(&h(&[("host", "[::1]:8080")]), HeaderLimits::default(), &v6, Some(8080)).is_ok());
    }

    #[test]
    fn invalid_names_and_values_are_refused() {
        let target = host("a.test");
        for (name, value) in [("bad name", "v"), ("", "v"), ("x:y", "v"), ("ü", "v")] {
            let err = prepare(&h(&[(name, value)]), HeaderLimits::default(), &target, None).unwrap_err();
            assert!(matches!(err, HeaderError::InvalidName(_)), "{name:?}: {err}");
        }
        for value in ["a\r\nX-Injected: 1", "a\nb", "nul\0", "del\x7f"] {
            let err = prepare(&h(&[("x-ok", value)]), HeaderLimits::default(), &target, None).unwrap_err();
            assert!(matches!(err, HeaderError::InvalidValue(_)), "{value:?}: {err}");
        }
        assert!(prepare(&h(&[("x-ok", "tab\tand ünïcode")]), HeaderLimits::default(), &target, None).is_ok());
    }
}
