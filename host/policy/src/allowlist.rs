//! The scheme, host and port a connection's requests may reach.

use url::Url;

use crate::host::{HostName, HostPattern, shorten};

/// Why a URL is outside the allowlist; the message lists what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{origin}` is not in this integration's allowlist (allowed: {allowed}); declare the host in the plugin manifest's `hosts`"
)]
pub struct NotAllowed {
    /// `scheme://host:port` of the refused URL.
    pub origin: String,
    /// The allowed origins, comma-separated.
    pub allowed: String,
}

/// Allowed origins, hosts normalised ([`HostPattern`]: a host, or `*.suffix` from a manifest
/// whose API hosts vary by tenant), ports spelled out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    origins: Vec<(String, HostPattern, u16)>,
}

impl Allowlist {
    /// Allows the origin of `url`: the integration's own URLs and the plugin's declared hosts
    /// (after templating).
    pub fn allow(&mut self, url: &str) -> Result<(), String> {
        let shown = shorten(url);
        let parsed = Url::parse(url).map_err(|e| format!("`{shown}` is not an absolute URL: {e}"))?;
        let host = HostPattern::of_url(&parsed).map_err(|e| format!("`{shown}` has no usable host: {e}"))?;
        let port = parsed.port_or_known_default().ok_or_else(|| format!("`{shown}` has no port"))?;
        let entry = (parsed.scheme().to_string(), host, port);
        if !self.origins.contains(&entry) {
            self.origins.push(entry);
        }
        Ok(())
    }

    /// Refuses a URL whose scheme, host or port is not allowed.
    pub fn check(&self, url: &Url) -> Result<(), NotAllowed> {
        self.check_host(url, HostName::of_url(url).ok().as_ref())
    }

    /// [`Allowlist::check`] for a caller that already normalised `url`'s host: `host` is
    /// `HostName::of_url(url)`, `None` where that failed (nothing is then allowed). The egress
    /// client needs the host for its other rules too, and normalising it is an allocation
    /// (and, for an IP literal, formatting the address) it need not pay three times a request.
    pub fn check_host(&self, url: &Url, host: Option<&HostName>) -> Result<(), NotAllowed> {
        debug_assert_eq!(host, HostName::of_url(url).ok().as_ref(), "`host` must be `url`'s host, normalised");
        let port = url.port_or_known_default();
        let allowed = host.is_some_and(|host| {
            self.origins.iter().any(|(s, h, p)| s == url.scheme() && h.matches(host) && Some(*p) == port)
        });
        if allowed { Ok(()) } else { Err(NotAllowed { origin: origin_of(url), allowed: self.describe() }) }
    }

    fn describe(&self) -> String {
        if self.origins.is_empty() {
            return "nothing".into();
        }
        self.origins.iter().map(|(s, h, p)| format!("{s}://{h}:{p}")).collect::<Vec<_>>().join(", ")
    }
}

/// `scheme://host:port` of a URL, with the port spelled out.
pub fn origin_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        shorten(url.host_str().unwrap_or_default()),
        url.port_or_known_default().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn allowlist_compares_scheme_normalised_host_and_port() {
        let mut list = Allowlist::default();
        list.allow("https://app.example.com/login/oauth/authorize").unwrap();
        for ok in ["https://APP.example.com:443/x", "https://app.example.com./x", "https://app.EXAMPLE.com.:443"] {
            assert!(list.check(&url(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/x",
            "https://app.example.com:8443/x",
            "https://other.example.com/x",
            "https://app.example.com.evil.test/x",
            "https://app.example.com@evil.test/x",
        ] {
            let err = list.check(&url(bad)).unwrap_err();
            assert!(err.to_string().contains("allowlist"), "{bad}: {err}");
        }
    }

    #[test]
    fn unicode_and_ascii_spellings_of_an_allowed_host_are_one_host() {
        let mut list = Allowlist::default();
        list.allow("https://bücher.example").unwrap();
        assert!(list.check(&url("https://xn--bcher-kva.example/")).is_ok());
        let mut list = Allowlist::default();
        list.allow("http://127.0.0.1:8080").unwrap();
        assert!(list.check(&url("http://0x7f.0.0.1:8080/")).is_ok());
        assert!(list.check(&url("http://127.0.0.1.:8080/")).is_ok());
    }

    #[test]
    fn a_wildcard_entry_allows_one_label_under_its_suffix_only() {
        let mut list = Allowlist::default();
        list.allow("https://*.my.example.com").unwrap();
        assert!(list.check(&url("https://acme.my.example.com/services/data")).is_ok());
        for bad in [
            "https://my.example.com/",
            "https://a.b.my.example.com/",
            "https://acme.my.example.com.evil.test/",
            "http://acme.my.example.com/",
            "https://acme.my.example.com:8443/",
        ] {
            assert!(list.check(&url(bad)).is_err(), "{bad}");
        }
        assert!(Allowlist::default().allow("https://*.com").is_err());
    }

    #[test]
    fn checking_with_the_host_normalised_by_the_caller_decides_as_checking_the_url() {
        let mut list = Allowlist::default();
        list.allow("https://app.example.com").unwrap();
        list.allow("http://127.0.0.1:8080").unwrap();
        for text in [
            "https://APP.example.com./x",
            "https://app.example.com:8443/x",
            "http://0x7f.0.0.1:8080/",
            "http://127.0.0.2:8080/",
            "https://app..example.com/",
            "https://[::1]/",
        ] {
            let u = url(text);
            assert_eq!(list.check_host(&u, HostName::of_url(&u).ok().as_ref()), list.check(&u), "{text}");
        }
        // A host that does not normalise is allowed nowhere.
        let empty_label = url("https://app..example.com/");
        assert!(HostName::of_url(&empty_label).is_err());
        assert!(list.check_host(&empty_label, None).is_err());
    }

    #[test]
    fn an_empty_allowlist_allows_nothing_and_says_so() {
        let err = Allowlist::default().check(&url("https://a.test/")).unwrap_err();
        assert_eq!(err.allowed, "nothing");
        assert_eq!(err.origin, "https://a.test:443");
    }
}
