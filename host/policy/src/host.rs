//! Host names, normalised once, and the one wildcard form.
//!
//! Every host the boundary compares (allowlist entries, the URL being checked, `resolve`
//! pins, `insecure_http_hosts`) goes through [`HostName::parse`] first: IDNA to ASCII (which
//! lowercases), IP literals in their canonical spelling (`0x7f.1` is `127.0.0.1`), and one
//! trailing dot dropped (`example.com.` is `example.com`). Comparisons are then plain string
//! equality, so no spelling of a name can skip a rule written for it.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use url::Url;

/// Why a host name or pattern was refused; the message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(String);

/// A normalised host: an ASCII (IDNA) lowercase domain without a trailing dot, an IPv4
/// address, or an IPv6 address in brackets, as [`Url::host_str`] spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName(String);

impl HostName {
    /// Normalises `text`: a domain (any Unicode form), an IPv4 address in any form the URL
    /// standard accepts, or an IPv6 address with or without brackets.
    pub fn parse(text: &str) -> Result<Self, HostError> {
        let refuse = |why: &str| HostError(format!("`{}` is not a host name: {why}", shorten(text)));
        if text.is_empty() {
            return Err(refuse("it is empty"));
        }
        if let Ok(ip) = text.parse::<Ipv6Addr>() {
            return Ok(Self(format!("[{ip}]")));
        }
        let parsed = url::Host::parse(text).map_err(|e| refuse(&e.to_string()))?;
        let name = match parsed {
            url::Host::Ipv4(ip) => return Ok(Self(ip.to_string())),
            url::Host::Ipv6(ip) => return Ok(Self(format!("[{ip}]"))),
            url::Host::Domain(name) => name,
        };
        let name = name.strip_suffix('.').unwrap_or(&name);
        if name.is_empty() || name.split('.').any(str::is_empty) {
            return Err(refuse("it has an empty label"));
        }
        // A name whose last label is numeric is an IPv4 address to the URL standard; with
        // its trailing dot gone it may now parse as one (`127.0.0.1.`), so canonicalise again.
        if let Ok(url::Host::Ipv4(ip)) = url::Host::parse(name) {
            return Ok(Self(ip.to_string()));
        }
        Ok(Self(name.to_string()))
    }

    /// The normalised host of `url`, if it has one.
    pub fn of_url(url: &Url) -> Result<Self, HostError> {
        // An http(s) URL's host went through the URL standard's host parser, the one `parse`
        // runs: a domain is already IDNA-mapped and lowercase, an address already typed. Only
        // what `parse` adds on top (the trailing dot, empty labels) is left to check, so the
        // hot path skips a second IDNA pass.
        if matches!(url.scheme(), "http" | "https") {
            match url.host() {
                Some(url::Host::Ipv4(ip)) => return Ok(Self(ip.to_string())),
                Some(url::Host::Ipv6(ip)) => return Ok(Self(format!("[{ip}]"))),
                Some(url::Host::Domain(name)) if !name.ends_with('.') && !name.split('.').any(str::is_empty) => {
                    return Ok(Self(name.to_string()));
                }
                _ => {}
            }
        }
        Self::parse(url.host_str().unwrap_or_default())
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address, when the host is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        let text = self.0.trim_start_matches('[').trim_end_matches(']');
        text.parse().ok()
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A host, or the one wildcard form: `*.example.com`, which matches exactly one more label
/// on the left (`acme.example.com`, not `example.com` nor `a.b.example.com`), as a TLS
/// certificate's wildcard does. Every other use of `*` is refused, and so is a wildcard over
/// a single label (`*.com`) or over an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// One host.
    Exact(HostName),
    /// `*.suffix`: one label, then the suffix.
    OneLabelUnder(HostName),
}

impl HostPattern {
    /// Parses and normalises a pattern.
    pub fn parse(text: &str) -> Result<Self, HostError> {
        let hint = "write a host such as `api.example.com`, or `*.example.com` for one label under a domain";
        let refuse = |why: &str| HostError(format!("`{}` {why}; {hint}", shorten(text)));
        match text.strip_prefix("*.") {
            Some(suffix) => {
                if suffix.contains('*') {
                    return Err(refuse("has a `*` that is not the whole leftmost label"));
                }
                let suffix = HostName::parse(suffix).map_err(|e| refuse(&format!("is not a pattern ({e})")))?;
                if suffix.ip().is_some() {
                    return Err(refuse("puts a wildcard over an address"));
                }
                if !suffix.as_str().contains('.') {
                    return Err(refuse(
                        "puts a wildcard over a single label, which would match a whole top-level domain",
                    ));
                }
                Ok(Self::OneLabelUnder(suffix))
            }
            None if text.contains('*') => Err(refuse("has a `*` that is not the whole leftmost label")),
            None => Ok(Self::Exact(HostName::parse(text).map_err(|e| refuse(&e.to_string()))?)),
        }
    }

    /// Whether `host` is this host, or one label under this suffix.
    pub fn matches(&self, host: &HostName) -> bool {
        match self {
            Self::Exact(name) => name == host,
            Self::OneLabelUnder(suffix) => {
                host.ip().is_none()
                    && host
                        .as_str()
                        .strip_suffix(suffix.as_str())
                        .and_then(|rest| rest.strip_suffix('.'))
                        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
            }
        }
    }

    /// The pattern a URL's host spells: a plugin manifest's `hosts` entry may be a host or
    /// the leftmost-label form (`https://*.my.example.com`), and nothing else.
    pub fn of_url(url: &Url) -> Result<Self, HostError> {
        Self::parse(url.host_str().unwrap_or_default())
    }

    /// [`HostPattern::matches`] for a host not yet normalised; a host that does not parse
    /// matches nothing.
    pub fn matches_str(&self, host: &str) -> bool {
        HostName::parse(host).is_ok_and(|host| self.matches(&host))
    }
}

impl std::str::FromStr for HostPattern {
    type Err = HostError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => write!(f, "{name}"),
            Self::OneLabelUnder(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

/// At most 100 characters of `text` for a message: a hostile input may be megabytes.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> String {
        HostName::parse(text).unwrap().to_string()
    }

    #[test]
    fn spellings_of_one_host_normalise_to_one_name() {
        assert_eq!(norm("API.Example.COM"), "api.example.com");
        assert_eq!(norm("api.example.com."), "api.example.com");
        assert_eq!(norm("bücher.example"), "xn--bcher-kva.example");
        assert_eq!(norm("BÜCHER.example."), "xn--bcher-kva.example");
        assert_eq!(norm("127.0.0.1."), "127.0.0.1");
        assert_eq!(norm("0x7f.1"), "127.0.0.1");
        assert_eq!(norm("::1"), "[::1]");
        assert_eq!(norm("[0:0::1]"), "[::1]");
        assert_eq!(HostName::parse("10.0.0.1").unwrap().ip(), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(HostName::parse("[::1]").unwrap().ip(), Some("::1".parse().unwrap()));
    }

    #[test]
    fn the_host_of_a_url_normalises_as_its_text_does() {
        let hosts = [
            "API.Example.COM",
            "api.example.com.",
            "bücher.example",
            "BÜCHER.example.",
            "xn--bcher-kva.example",
            "127.0.0.1",
            "127.0.0.1.",
            "0x7f.1",
            "2130706433",
            "[::1]",
            "[0:0::1]",
            "[::ffff:127.0.0.1]",
            "a.b.c.d.example",
        ];
        for host in hosts {
            for scheme in ["https", "http", "wss"] {
                let url = Url::parse(&format!("{scheme}://{host}:8443/p")).unwrap();
                let from_url = HostName::of_url(&url).map(|h| h.to_string());
                let from_text = HostName::parse(url.host_str().unwrap()).map(|h| h.to_string());
                assert_eq!(from_url, from_text, "{url}");
            }
        }
    }

    #[test]
    fn hosts_that_are_not_names_are_refused() {
        for bad in ["", ".", "a..b", "a.b..", "exa mple.com", "a/b", "a@b", "a:b", "[::1"] {
            assert!(HostName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_wildcard_is_one_leftmost_label_over_a_domain_of_two_labels_or_more() {
        let pattern: HostPattern = "*.Zendesk.test.".parse().unwrap();
        assert_eq!(pattern.to_string(), "*.zendesk.test");
        assert!(pattern.matches_str("acme.zendesk.test"));
        assert!(pattern.matches_str("ACME.zendesk.test."));
        assert!(!pattern.matches_str("zendesk.test"));
        assert!(!pattern.matches_str("a.b.zendesk.test"));
        assert!(!pattern.matches_str("evilzendesk.test"));
        assert!(!pattern.matches_str("acme.zendesk.test.evil"));
        for bad in [
            "*",
            "*.",
            "*.com",
            "*.*.example.com",
            "a*.example.com",
            "x.*.example.com",
            "*example.com",
            "example.*",
            "*.127.0.0.1",
            "*.[::1]",
            "",
        ] {
            let err = HostPattern::parse(bad).unwrap_err();
            assert!(err.to_string().contains("*.example.com"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn an_exact_pattern_matches_every_spelling_of_its_host() {
        let pattern: HostPattern = "api.example.test".parse().unwrap();
        assert!(pattern.matches_str("API.example.test."));
        assert!(!pattern.matches_str("api.example.test.evil"));
        assert!(!pattern.matches_str("not a host"));
        let ip: HostPattern = "127.0.0.1".parse().unwrap();
        assert!(ip.matches_str("0x7f.0.0.1"));
    }

    #[test]
    fn a_manifest_url_names_a_host_or_the_one_wildcard_form() {
        let pattern = |text: &str| HostPattern::of_url(&Url::parse(text).unwrap());
        assert_eq!(pattern("https://*.My.example.com/v1").unwrap().to_string(), "*.my.example.com");
        assert_eq!(
            pattern("https://x.zendesk.com").unwrap(),
            HostPattern::Exact(HostName::parse("x.zendesk.com").unwrap())
        );
        for bad in ["https://*", "https://*/x", "https://*.com", "https://a*.example.com", "https://x.*.example.com"] {
            assert!(pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_hostile_input_is_shortened_in_messages() {
        let long = "a*".repeat(100_000);
        assert!(HostPattern::parse(&long).unwrap_err().to_string().len() < 400);
    }
}
