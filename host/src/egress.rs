//! Outbound HTTP: the only way a request leaves the host.
//!
//! Every request a plugin asks for passes, in order: the allowlist (scheme, host and port),
//! the plain-http rule, the request size cap, then DNS through [`PolicyResolver`], which
//! applies the operator's `resolve` overrides and refuses blocked networks. Redirects are
//! never followed, and responses are read only up to the size cap. The check comes before
//! anything could rewrite the request (Spin once had it the other way round).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::trace::{Redactor, TraceEntry};

/// An HTTP request as a plugin formatted it.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// An HTTP response; header names are lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundResponse {
    /// The status code.
    pub status: u16,
    /// Headers in order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body, at most the configured cap.
    pub body: Vec<u8>,
}

impl OutboundResponse {
    /// The first header of this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in its delay-seconds form. An HTTP-date is rare from APIs and token
    /// endpoints and is treated as absent: the caller's backoff applies.
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")?.trim().parse::<u64>().ok().map(Duration::from_secs)
    }
}

/// Why an outbound request was not sent or got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// Refused by policy before anything was sent.
    #[error("request refused: {0}")]
    Denied(String),
    /// No answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The request or the response is over the size cap.
    #[error("{0}")]
    TooLarge(String),
    /// The connection failed.
    #[error("transport failure: {0}")]
    Transport(String),
}

/// A network range, written `127.0.0.2/32` or `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 { 0 } else { bits >> (width - prefix) }
        }
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32) == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip.to_ipv4_mapped().is_some_and(|v4| self.contains(v4.into())),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr =
            addr.parse().map_err(|_| format!("`{s}` is not an IP range; write e.g. `10.0.0.0/8` or `127.0.0.2`"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0..={width}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

/// One `resolve` rule: a host name (or `*.suffix` wildcard) pinned to an address, like
/// curl's `--resolve`. The URL's port is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRule {
    /// `api.example.test` or `*.zendesk.test`.
    pub host: String,
    /// Where connections to that host go.
    pub ip: IpAddr,
}

impl ResolveRule {
    fn matches(&self, host: &str) -> bool {
        match self.host.strip_prefix("*.") {
            Some(suffix) => host.strip_suffix(suffix).is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            None => self.host.eq_ignore_ascii_case(host),
        }
    }
}

/// The operator's egress settings. Plain data: the client is built from it.
#[derive(Debug, Clone)]
pub struct EgressConfig {
    /// Hosts that may be reached over plain http besides loopback (`*.suffix` allowed).
    pub insecure_http_hosts: Vec<String>,
    /// Host-to-address overrides applied before DNS.
    pub resolve: Vec<ResolveRule>,
    /// Networks no request may reach, whatever the allowlist says.
    pub blocked_networks: Vec<IpNet>,
    /// Per-request timeout, connect to last byte.
    pub timeout: Duration,
    /// Largest request body a plugin may send.
    pub max_request_bytes: usize,
    /// Largest response body read; anything longer fails the call.
    pub max_response_bytes: usize,
}

impl Default for EgressConfig {
    fn default() -> Self {
        Self {
            insecure_http_hosts: Vec::new(),
            resolve: Vec::new(),
            // Private and link-local ranges (cloud metadata lives at 169.254.169.254).
            blocked_networks: [
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "169.254.0.0/16",
                "100.64.0.0/10",
                "fc00::/7",
                "fe80::/10",
            ]
            .iter()
            .map(|n| n.parse().expect("built-in range"))
            .collect(),
            timeout: Duration::from_secs(15),
            max_request_bytes: 1 << 20,
            max_response_bytes: 4 << 20,
        }
    }
}

impl EgressConfig {
    /// Whether `url` may use its scheme: https always; http only for loopback hosts and the
    /// operator's `insecure_http_hosts`.
    pub fn check_scheme(&self, url: &Url) -> Result<(), EgressError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" => {
                let host = url.host_str().unwrap_or_default();
                if is_loopback_host(host) || self.insecure_http_hosts.iter().any(|h| host_matches(h, host)) {
                    Ok(())
                } else {
                    Err(EgressError::Denied(format!(
                        "`{}` uses plain http; use https, or list `{host}` in `insecure_http_hosts`",
                        origin_of(url)
                    )))
                }
            }
            other => Err(EgressError::Denied(format!("`{other}:` URLs cannot be called; use https"))),
        }
    }

    fn blocked(&self, ip: IpAddr) -> bool {
        self.blocked_networks.iter().any(|net| net.contains(ip))
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    ResolveRule { host: pattern.to_string(), ip: IpAddr::from([0, 0, 0, 0]) }.matches(host)
}

/// `localhost`, `127.0.0.0/8` and `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `scheme://host:port` of a URL, with the port spelled out.
pub fn origin_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

/// The scheme, host and port a connection's requests may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    origins: Vec<(String, String, u16)>,
}

impl Allowlist {
    /// Allows the origin of `url`. Used for the integration's own URLs and the plugin's
    /// declared hosts (after templating).
    pub fn allow(&mut self, url: &str) -> Result<(), String> {
        let parsed = Url::parse(url).map_err(|e| format!("`{url}` is not an absolute URL: {e}"))?;
        let host = parsed.host_str().ok_or_else(|| format!("`{url}` has no host"))?.to_ascii_lowercase();
        let port = parsed.port_or_known_default().ok_or_else(|| format!("`{url}` has no port"))?;
        let entry = (parsed.scheme().to_string(), host, port);
        if !self.origins.contains(&entry) {
            self.origins.push(entry);
        }
        Ok(())
    }

    /// Refuses a URL whose scheme, host or port is not allowed.
    pub fn check(&self, url: &Url) -> Result<(), EgressError> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or_default();
        if self.origins.iter().any(|(s, h, p)| s == url.scheme() && *h == host && *p == port) {
            Ok(())
        } else {
            Err(EgressError::Denied(format!(
                "`{}` is not in this integration's allowlist (allowed: {}); declare the host in the plugin manifest's `hosts`",
                origin_of(url),
                self.describe()
            )))
        }
    }

    fn describe(&self) -> String {
        if self.origins.is_empty() {
            return "nothing".into();
        }
        self.origins.iter().map(|(s, h, p)| format!("{s}://{h}:{p}")).collect::<Vec<_>>().join(", ")
    }
}

/// DNS for outbound requests: the operator's overrides first, then the system resolver, and
/// never an address in a blocked network.
struct PolicyResolver {
    config: Arc<EgressConfig>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let config = self.config.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = match config.resolve.iter().find(|r| r.matches(&host)) {
                Some(rule) => vec![SocketAddr::new(rule.ip, 0)],
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let allowed: Vec<SocketAddr> = addrs.iter().copied().filter(|a| !config.blocked(a.ip())).collect();
            if allowed.is_empty() && !addrs.is_empty() {
                return Err(Box::new(BlockedAddress(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` resolves only to blocked networks")]
struct BlockedAddress(String);

/// The HTTP client all plugin traffic goes through.
#[derive(Clone)]
pub struct EgressClient {
    config: Arc<EgressConfig>,
    client: reqwest::Client,
}

impl std::fmt::Debug for EgressClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressClient").field("config", &self.config).finish()
    }
}

impl EgressClient {
    /// Builds the client. Fails only if the TLS backend cannot start.
    pub fn new(config: EgressConfig) -> Result<Self, EgressError> {
        let config = Arc::new(config);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .dns_resolver(Arc::new(PolicyResolver { config: config.clone() }))
            .user_agent(concat!("keyway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EgressError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { config, client })
    }

    /// The settings the client was built from.
    pub fn config(&self) -> &EgressConfig {
        &self.config
    }

    /// Sends `req` if `allowlist` and the policy allow it. The trace entry, redacted with
    /// `redactor`, is returned whatever the outcome.
    pub async fn send(
        &self,
        allowlist: &Allowlist,
        req: &OutboundRequest,
        redactor: &Redactor,
    ) -> (Result<OutboundResponse, EgressError>, TraceEntry) {
        let started = Instant::now();
        let result = self.send_checked(allowlist, req).await;
        let entry = TraceEntry::new(req, result.as_ref(), started.elapsed(), redactor);
        tracing::debug!(target: "keyway::egress", "{}", entry.summary());
        (result, entry)
    }

    async fn send_checked(
        &self,
        allowlist: &Allowlist,
        req: &OutboundRequest,
    ) -> Result<OutboundResponse, EgressError> {
        let url = Url::parse(&req.url)
            .map_err(|e| EgressError::Denied(format!("`{}` is not an absolute URL: {e}", req.url)))?;
        allowlist.check(&url)?;
        self.config.check_scheme(&url)?;
        if let Some(ip) = literal_ip(&url)
            && self.config.blocked(ip)
        {
            return Err(EgressError::Denied(format!("`{ip}` is in a blocked network")));
        }
        let body_len = req.body.as_ref().map_or(0, Vec::len);
        if body_len > self.config.max_request_bytes {
            return Err(EgressError::TooLarge(format!(
                "request body of {body_len} bytes is over the {} byte cap",
                self.config.max_request_bytes
            )));
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| EgressError::Denied(format!("`{}` is not an HTTP method", req.method)))?;
        let mut builder = self.client.request(method, url);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > self.config.max_response_bytes {
                return Err(EgressError::TooLarge(format!(
                    "response body is over the {} byte cap",
                    self.config.max_response_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse { status, headers, body })
    }

    fn classify(&self, err: reqwest::Error) -> EgressError {
        if err.is_timeout() {
            return EgressError::Timeout(self.config.timeout);
        }
        let mut source: Option<&dyn std::error::Error> = Some(&err);
        while let Some(e) = source {
            if let Some(blocked) = e.downcast_ref::<BlockedAddress>() {
                return EgressError::Denied(blocked.to_string());
            }
            source = e.source();
        }
        // reqwest's Display omits the cause ("error sending request"); the chain has it.
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(e) = source {
            message.push_str(": ");
            message.push_str(&e.to_string());
            source = e.source();
        }
        EgressError::Transport(message)
    }
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(ip.into()),
        url::Host::Ipv6(ip) => Some(ip.into()),
        url::Host::Domain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_treats_a_date_as_absent() {
        let with = |value: &str| OutboundResponse {
            status: 429,
            headers: vec![("retry-after".into(), value.into())],
            body: Vec::new(),
        };
        assert_eq!(with(" 2 ").retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(with("Wed, 21 Oct 2015 07:28:00 GMT").retry_after(), None);
        assert_eq!(OutboundResponse { status: 429, headers: Vec::new(), body: Vec::new() }.retry_after(), None);
    }

    #[test]
    fn ip_ranges_match_their_members_only() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.20.30.40".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let host: IpNet = "127.0.0.2".parse().unwrap();
        assert!(host.contains("127.0.0.2".parse().unwrap()));
        assert!(!host.contains("127.0.0.1".parse().unwrap()));
        assert!(host.contains("::ffff:127.0.0.2".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().unwrap_err().contains("prefix"));
    }

    #[test]
    fn wildcard_resolve_rules_match_subdomains_only() {
        let rule = ResolveRule { host: "*.zendesk.test".into(), ip: "127.0.0.1".parse().unwrap() };
        assert!(rule.matches("acme.zendesk.test"));
        assert!(!rule.matches("zendesk.test"));
        assert!(!rule.matches("evilzendesk.test"));
    }

    #[test]
    fn allowlist_compares_scheme_host_and_port() {
        let mut list = Allowlist::default();
        list.allow("https://app.example.com/login/oauth/authorize").unwrap();
        let ok = Url::parse("https://APP.example.com:443/x").unwrap();
        assert!(list.check(&ok).is_ok());
        for bad in ["http://app.example.com/x", "https://app.example.com:8443/x", "https://other.example.com/x"] {
            let err = list.check(&Url::parse(bad).unwrap()).unwrap_err();
            assert!(matches!(err, EgressError::Denied(ref m) if m.contains("allowlist")), "{bad}: {err}");
        }
    }

    #[test]
    fn plain_http_needs_loopback_or_an_operator_exception() {
        let mut config = EgressConfig::default();
        assert!(config.check_scheme(&Url::parse("http://127.0.0.5:8080").unwrap()).is_ok());
        assert!(config.check_scheme(&Url::parse("http://[::1]:8080").unwrap()).is_ok());
        let err = config.check_scheme(&Url::parse("http://acme.zendesk.test").unwrap()).unwrap_err();
        assert!(err.to_string().contains("insecure_http_hosts"), "{err}");
        config.insecure_http_hosts.push("*.zendesk.test".into());
        assert!(config.check_scheme(&Url::parse("http://acme.zendesk.test").unwrap()).is_ok());
        assert!(config.check_scheme(&Url::parse("ftp://x.test").unwrap()).is_err());
    }
}
