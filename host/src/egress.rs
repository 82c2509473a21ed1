//! Outbound HTTP: the only way a request leaves the host.
//!
//! Every request (a plugin's `outbound`, a member's `/request`, an action's API call)
//! passes, in order: the size caps on its URL, headers and body (before anything is parsed
//! or copied); the allowlist (scheme, host and port, hosts normalised); the plain-http rule;
//! the address rules for a literal IP; the header rules (framing and hop-by-hop headers
//! dropped, a foreign `Host` refused); then DNS through [`PolicyResolver`], which applies
//! the operator's `resolve` pins and the same address rules to every answer. Redirects are
//! never followed, and responses are read only up to the size cap. The allowlist comes
//! before anything could rewrite the request (Spin once had it the other way round). The
//! rules themselves are pure functions in `keyway-policy`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use keyway_policy::headers::{self, HeaderLimits};
use keyway_policy::net::{check_address, is_allowed};
use keyway_policy::text::clip;
use url::Url;

use crate::redact::Redactor;

pub use keyway_policy::IpNet;
pub use keyway_policy::allowlist::origin_of;
pub use keyway_policy::host::{HostName, HostPattern};
pub use keyway_policy::net::{ALWAYS_REFUSED, DEFAULT_BLOCKED_NETWORKS};

/// Something that keeps a record of each exchange the client makes: the trace recorder. The
/// client only reports; what is kept, and how it is capped, is the recorder's business.
pub trait Exchange: Send + Sync {
    /// One request and its outcome, with the secrets `redactor` knows still in it.
    fn record(
        &self,
        req: &OutboundRequest,
        result: Result<&OutboundResponse, &EgressError>,
        took: Duration,
        redactor: &Redactor,
    );
}

/// Logs an exchange at DEBUG (method, redacted URL, outcome) and its masked headers at TRACE,
/// building the text only when the level is on.
fn log_exchange(
    req: &OutboundRequest,
    result: Result<&OutboundResponse, &EgressError>,
    took: Duration,
    redactor: &Redactor,
) {
    if !tracing::enabled!(target: "keyway::egress", tracing::Level::DEBUG) {
        return;
    }
    let outcome = match result {
        Ok(resp) => resp.status.to_string(),
        Err(e) => format!("failed: {}", redactor.scrub(&e.to_string())),
    };
    let url = clip(&redactor.url(&req.url), 2048).into_owned();
    let ms = took.as_secs_f64() * 1000.0;
    tracing::debug!(target: "keyway::egress", "{} {url} -> {outcome} ({ms:.1} ms)", req.method);
    if tracing::enabled!(target: "keyway::egress", tracing::Level::TRACE) {
        let masked = |headers: &[(String, String)]| {
            headers
                .iter()
                .take(64)
                .map(|(n, v)| format!("{n}: {}", clip(&redactor.header_value(n, v), 256)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        tracing::trace!(target: "keyway::egress", "{} {url} request headers: {}", req.method, masked(&req.headers));
        if let Ok(resp) = result {
            tracing::trace!(target: "keyway::egress", "{} {url} response headers: {}", req.method, masked(&resp.headers));
        }
    }
}

impl OutboundResponse {
    /// The response with every secret `redactor` knows masked in its headers and (text) body:
    /// an API that echoes the request, or returns the caller's token, must not hand a
    /// credential to whoever asked for the call.
    pub fn scrubbed(mut self, redactor: &Redactor) -> Self {
        for (_, value) in &mut self.headers {
            if let std::borrow::Cow::Owned(clean) = redactor.scrub_cow(value) {
                *value = clean;
            }
        }
        if let Ok(text) = std::str::from_utf8(&self.body)
            && let std::borrow::Cow::Owned(clean) = redactor.scrub_cow(text)
        {
            self.body = clean.into_bytes();
        }
        self
    }
}

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

/// One `resolve` rule: a host name (or `*.suffix` wildcard) pinned to an address, like
/// curl's `--resolve`. The URL's port is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRule {
    /// `api.example.test` or `*.zendesk.test`, normalised.
    pub host: HostPattern,
    /// Where connections to that host go.
    pub ip: IpAddr,
}

/// The operator's egress settings. Plain data: the client is built from it.
///
/// [`EgressConfig::default`] is the production policy: nothing on loopback, the
/// unspecified address, or the [`DEFAULT_BLOCKED_NETWORKS`] is reachable.
#[derive(Debug, Clone)]
pub struct EgressConfig {
    /// Hosts that may be reached over plain http (`*.suffix` allowed).
    pub insecure_http_hosts: Vec<HostPattern>,
    /// Host-to-address overrides applied before DNS.
    pub resolve: Vec<ResolveRule>,
    /// Networks no request may reach, on top of [`ALWAYS_REFUSED`] and
    /// [`DEFAULT_BLOCKED_NETWORKS`], which always apply.
    pub blocked_networks: Vec<IpNet>,
    /// The one exception: addresses here may be reached even inside a refused or blocked
    /// range, and over plain http.
    pub allowed_networks: Vec<IpNet>,
    /// Per-request timeout, connect to last byte.
    pub timeout: Duration,
    /// Largest request body a plugin may send.
    pub max_request_bytes: usize,
    /// Largest response body read; anything longer fails the call.
    pub max_response_bytes: usize,
    /// Longest URL a request may have (8 KiB): refused before it is parsed or copied.
    pub max_url_bytes: usize,
    /// Most headers one request may carry (100).
    pub max_header_count: usize,
    /// Most bytes of header names and values together (32 KiB).
    pub max_header_bytes: usize,
}

impl Default for EgressConfig {
    fn default() -> Self {
        let headers = HeaderLimits::default();
        Self {
            insecure_http_hosts: Vec::new(),
            resolve: Vec::new(),
            blocked_networks: Vec::new(),
            allowed_networks: Vec::new(),
            timeout: Duration::from_secs(15),
            max_request_bytes: 1 << 20,
            max_response_bytes: 4 << 20,
            max_url_bytes: 8 << 10,
            max_header_count: headers.max_count,
            max_header_bytes: headers.max_bytes,
        }
    }
}

impl EgressConfig {
    /// Whether `url` may use its scheme: https always; plain http only to an address on
    /// `allowed_networks` or a host on `insecure_http_hosts`.
    pub fn check_scheme(&self, url: &Url) -> Result<(), EgressError> {
        self.scheme_rule(url, None)
    }

    /// [`EgressConfig::check_scheme`] for a caller that already normalised `url`'s host
    /// (`host` is `HostName::of_url(url)`).
    pub fn check_scheme_of(&self, url: &Url, host: &HostName) -> Result<(), EgressError> {
        debug_assert_eq!(Ok(host), HostName::of_url(url).as_ref(), "`host` must be `url`'s host, normalised");
        self.scheme_rule(url, Some(host))
    }

    /// The scheme rule, with `url`'s host normalised by the caller, or (`None`) here, and only
    /// where the rule needs it (plain http): an https URL is allowed whatever its host.
    fn scheme_rule(&self, url: &Url, normalised: Option<&HostName>) -> Result<(), EgressError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" => {
                let owned;
                let host = match normalised {
                    Some(host) => host,
                    None => {
                        owned = HostName::of_url(url).map_err(|e| EgressError::Denied(e.to_string()))?;
                        &owned
                    }
                };
                let allowed = match host.ip() {
                    Some(ip) => is_allowed(ip, &self.allowed_networks),
                    None => false,
                };
                if allowed || self.insecure_http_hosts.iter().any(|p| p.matches(host)) {
                    Ok(())
                } else {
                    let setting = match host.ip() {
                        Some(ip) => format!("add `{ip}` to `allowed_networks` (`--allow-network {ip}`)"),
                        None => format!("list `{host}` in `insecure_http_hosts`"),
                    };
                    Err(EgressError::Denied(format!("`{}` uses plain http; use https, or {setting}", origin_of(url))))
                }
            }
            other => Err(EgressError::Denied(format!(
                "`{}:` URLs cannot be called; use https",
                other.chars().take(20).collect::<String>()
            ))),
        }
    }

    /// Whether `ip` may be reached: `allowed_networks` first, then the always-refused and
    /// blocked ranges.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), EgressError> {
        check_address(ip, &self.blocked_networks, &self.allowed_networks)
            .map_err(|e| EgressError::Denied(e.to_string()))
    }

    fn header_limits(&self) -> HeaderLimits {
        HeaderLimits { max_count: self.max_header_count, max_bytes: self.max_header_bytes }
    }

    /// Refuses a caller's headers over the caps or invalid, before anything is built from
    /// them; the REST API runs it on a member's `/request` to answer 4xx. [`EgressClient`]
    /// runs the same rules on every request anyway.
    pub fn check_headers(&self, headers: &[(String, String)]) -> Result<(), EgressError> {
        headers::check_limits(headers, self.header_limits()).map_err(|e| EgressError::TooLarge(e.to_string()))?;
        for (name, value) in headers {
            if !headers::is_valid_name(name) || !headers::is_valid_value(value) {
                let err = if headers::is_valid_name(name) {
                    headers::HeaderError::InvalidValue(name.chars().take(100).collect())
                } else {
                    headers::HeaderError::InvalidName(name.chars().take(100).collect())
                };
                return Err(EgressError::Denied(err.to_string()));
            }
        }
        Ok(())
    }
}

/// The scheme, host and port a connection's requests may reach; hosts are normalised
/// ([`HostName`]) when allowed and when checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist(keyway_policy::Allowlist);

impl Allowlist {
    /// Allows the origin of `url`. Used for the integration's own URLs and the plugin's
    /// declared hosts (after templating).
    pub fn allow(&mut self, url: &str) -> Result<(), String> {
        self.0.allow(url)
    }

    /// Refuses a URL whose scheme, host or port is not allowed.
    pub fn check(&self, url: &Url) -> Result<(), EgressError> {
        self.0.check(url).map_err(|e| EgressError::Denied(e.to_string()))
    }

    /// [`Allowlist::check`] with `url`'s host already normalised: `host` is
    /// `HostName::of_url(url)`, `None` where that failed.
    pub fn check_host(&self, url: &Url, host: Option<&HostName>) -> Result<(), EgressError> {
        self.0.check_host(url, host).map_err(|e| EgressError::Denied(e.to_string()))
    }

    /// The policy crate's allowlist, for rules that live there.
    pub fn policy(&self) -> &keyway_policy::Allowlist {
        &self.0
    }
}

/// DNS for outbound requests: the operator's overrides first, then the system resolver, and
/// never an address in a blocked network.
#[derive(Clone)]
struct PolicyResolver {
    config: Arc<EgressConfig>,
}

type Resolved = Result<std::vec::IntoIter<SocketAddr>, Box<dyn std::error::Error + Send + Sync>>;

impl tower_service::Service<Name> for PolicyResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = std::pin::Pin<Box<dyn Future<Output = Resolved> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let config = self.config.clone();
        Box::pin(async move {
            // The connector hands over the URL's host as written (`name.` keeps its dot): the same
            // normalisation as the allowlist's, so every spelling meets its pin.
            let host = HostName::parse(name.as_str())
                .map_err(|e| Box::new(BlockedAddress(e.to_string())) as Box<dyn std::error::Error + Send + Sync>)?;
            let allowed = allowed_addresses(&config, &host).await?;
            Ok(allowed.into_iter())
        })
    }
}

/// Where `host` may be reached: the operator's pin, or what the system resolver answers, less
/// every address in a blocked network. An error when nothing is left.
async fn allowed_addresses(
    config: &EgressConfig,
    host: &HostName,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let addrs: Vec<SocketAddr> = match config.resolve.iter().find(|r| r.host.matches(host)) {
        Some(rule) => vec![SocketAddr::new(rule.ip, 0)],
        None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
    };
    let mut refused = None;
    let mut allowed = Vec::with_capacity(addrs.len());
    for addr in addrs {
        match config.check_address(addr.ip()) {
            Ok(()) => allowed.push(addr),
            Err(e) => refused = refused.or(Some(e)),
        }
    }
    if let (true, Some(EgressError::Denied(why))) = (allowed.is_empty(), refused) {
        return Err(Box::new(BlockedAddress(format!("`{host}` resolves only to refused addresses: {why}"))));
    }
    Ok(allowed)
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BlockedAddress(String);

/// The connections egress sends on: TLS (rustls, the webpki roots, HTTP/2 by ALPN) or plain
/// TCP, to addresses that only [`PolicyResolver`] gives out.
type Connector = hyper_rustls::HttpsConnector<HttpConnector<PolicyResolver>>;

/// The `User-Agent` of every request that does not bring its own.
const USER_AGENT: &str = concat!("keyway/", env!("CARGO_PKG_VERSION"));

/// How long a pooled connection may sit idle before it is closed.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// The HTTP client all plugin traffic goes through.
///
/// It is hyper's pooled client, not reqwest's: reqwest (0.12) parses each request's URL twice
/// more inside its redirect layer even when no redirect is followed, and clones its whole
/// client stack per request, which was several percent of the `/request` hot path. What this
/// client must do itself, it does in [`EgressClient::send`]: one timeout from connect to last
/// byte, no redirects (hyper follows none), no proxy from the environment (hyper reads none,
/// and one would resolve names past [`PolicyResolver`]).
#[derive(Clone)]
pub struct EgressClient {
    config: Arc<EgressConfig>,
    client: Client<Connector, Full<Bytes>>,
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
        let mut tcp = HttpConnector::new_with_resolver(PolicyResolver { config: config.clone() });
        // `https://` URLs reach the TLS layer through this connector too.
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.timeout));
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| EgressError::Transport(format!("cannot start TLS: {e}")))?
            .with_root_certificates(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() })
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .timer(hyper_util::rt::TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector);
        Ok(Self { config, client })
    }

    /// The settings the client was built from.
    pub fn config(&self) -> &EgressConfig {
        &self.config
    }

    /// Whether a request to `url` would be let out, by scheme and by every address its host
    /// resolves to, without sending one: for URLs registered now and used later (webhooks),
    /// which are checked again when each request is sent.
    pub async fn check_destination(&self, url: &Url) -> Result<(), EgressError> {
        self.config.check_scheme(url)?;
        let host = HostName::of_url(url).map_err(|e| EgressError::Denied(e.to_string()))?;
        match host.ip() {
            Some(ip) => self.config.check_address(ip),
            None => match tokio::time::timeout(self.config.timeout, allowed_addresses(&self.config, &host)).await {
                Err(_) => Err(EgressError::Timeout(self.config.timeout)),
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(match e.downcast::<BlockedAddress>() {
                    Ok(blocked) => EgressError::Denied(blocked.0),
                    Err(other) => EgressError::Transport(format!("cannot resolve `{host}`: {other}")),
                }),
            },
        }
    }

    /// Sends `req` if `allowlist` and the policy allow it, and hands the exchange, whatever
    /// its outcome, to `exchange` (a trace recorder) with `redactor` for its secrets.
    pub async fn send(
        &self,
        allowlist: &Allowlist,
        req: &OutboundRequest,
        redactor: &Redactor,
        exchange: &dyn Exchange,
    ) -> Result<OutboundResponse, EgressError> {
        self.send_as(allowlist, req, None, redactor, exchange).await
    }

    /// [`EgressClient::send`] for a request whose URL the caller built as a [`Url`] (`url`
    /// is `req.url` parsed): the hot path of API calls then parses it once, not twice.
    pub async fn send_parsed(
        &self,
        allowlist: &Allowlist,
        req: &OutboundRequest,
        url: Url,
        redactor: &Redactor,
        exchange: &dyn Exchange,
    ) -> Result<OutboundResponse, EgressError> {
        debug_assert_eq!(url.as_str(), req.url, "`url` must be `req.url` parsed");
        self.send_as(allowlist, req, Some(url), redactor, exchange).await
    }

    async fn send_as(
        &self,
        allowlist: &Allowlist,
        req: &OutboundRequest,
        url: Option<Url>,
        redactor: &Redactor,
        exchange: &dyn Exchange,
    ) -> Result<OutboundResponse, EgressError> {
        let started = Instant::now();
        let result = self.send_checked(allowlist, req, url).await;
        let took = started.elapsed();
        log_exchange(req, result.as_ref(), took, redactor);
        exchange.record(req, result.as_ref(), took, redactor);
        result
    }

    async fn send_checked(
        &self,
        allowlist: &Allowlist,
        req: &OutboundRequest,
        parsed: Option<Url>,
    ) -> Result<OutboundResponse, EgressError> {
        // Sizes first: nothing below parses or copies a URL or a header over its cap.
        let config = &self.config;
        if req.url.len() > config.max_url_bytes {
            return Err(EgressError::TooLarge(format!(
                "the URL is {} bytes; at most {} may be sent",
                req.url.len(),
                config.max_url_bytes
            )));
        }
        headers::check_limits(&req.headers, config.header_limits())
            .map_err(|e| EgressError::TooLarge(e.to_string()))?;
        let body_len = req.body.as_ref().map_or(0, Vec::len);
        if body_len > config.max_request_bytes {
            return Err(EgressError::TooLarge(format!(
                "request body of {body_len} bytes is over the {} byte cap",
                config.max_request_bytes
            )));
        }
        let url = match parsed {
            Some(url) => url,
            None => Url::parse(&req.url)
                .map_err(|e| EgressError::Denied(format!("`{}` is not an absolute URL: {e}", req.url)))?,
        };
        // Normalised once for every rule below: each would otherwise build it again.
        let host = HostName::of_url(&url);
        // The allowlist before anything could rewrite the request.
        allowlist.check_host(&url, host.as_ref().ok())?;
        let host = host.map_err(|e| EgressError::Denied(e.to_string()))?;
        if let Some(ip) = host.ip() {
            config.check_address(ip)?;
        }
        config.check_scheme_of(&url, &host)?;
        let forward = headers::prepare(&req.headers, config.header_limits(), &host, url.port_or_known_default())
            .map_err(|e| EgressError::Denied(e.to_string()))?;
        let method = http::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| EgressError::Denied(format!("`{}` is not an HTTP method", req.method)))?;
        let uri: http::Uri = url
            .as_str()
            .parse()
            .map_err(|e| EgressError::Denied(format!("`{}` is not a URL HTTP can send to: {e}", req.url)))?;
        let mut request = http::Request::new(Full::new(req.body.clone().map(Bytes::from).unwrap_or_default()));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let header_map = request.headers_mut();
        header_map.reserve(forward.len() + 2);
        for (name, value) in forward {
            // `prepare` checked both; these cannot fail, but a failure is a refusal, never a panic.
            let invalid = || EgressError::Denied(format!("header `{name}` is not valid HTTP"));
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let value = http::HeaderValue::from_bytes(value.as_bytes()).map_err(|_| invalid())?;
            header_map.append(name, value);
        }
        header_map.entry(http::header::USER_AGENT).or_insert(http::HeaderValue::from_static(USER_AGENT));
        header_map.entry(http::header::ACCEPT).or_insert(http::HeaderValue::from_static("*/*"));
        // One deadline from connect to the body's last byte.
        match tokio::time::timeout(config.timeout, self.round_trip(request)).await {
            Ok(result) => result,
            Err(_) => Err(EgressError::Timeout(config.timeout)),
        }
    }

    /// Sends `request` and reads the answer up to the body cap.
    async fn round_trip(&self, request: http::Request<Full<Bytes>>) -> Result<OutboundResponse, EgressError> {
        let response = self.client.request(request).await.map_err(|e| self.classify(&e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut incoming = response.into_body();
        let mut body = Vec::new();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| self.classify(&e))?;
            let Ok(chunk) = frame.into_data() else { continue };
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

    fn classify(&self, err: &(dyn std::error::Error + 'static)) -> EgressError {
        let mut source: Option<&dyn std::error::Error> = Some(err);
        while let Some(e) = source {
            if let Some(blocked) = e.downcast_ref::<BlockedAddress>() {
                return EgressError::Denied(blocked.to_string());
            }
            if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
                return EgressError::Timeout(self.config.timeout);
            }
            source = e.source();
        }
        // hyper's Display omits the cause ("client error (Connect)"); the chain has it.
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(e) = source {
            message.push_str(": ");
            message.push_str(&e.to_string());
            source = e.source();
        }
        EgressError::Transport(message)
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

    fn request(url: &str, headers: Vec<(String, String)>) -> OutboundRequest {
        OutboundRequest { method: "GET".into(), url: url.into(), headers, body: None }
    }

    fn allow(urls: &[&str]) -> Allowlist {
        let mut list = Allowlist::default();
        for url in urls {
            list.allow(url).unwrap();
        }
        list
    }

    #[test]
    fn wildcard_resolve_rules_match_one_label_and_every_spelling() {
        let rule = ResolveRule { host: "*.zendesk.test".parse().unwrap(), ip: "127.0.0.1".parse().unwrap() };
        assert!(rule.host.matches_str("acme.zendesk.test"));
        assert!(rule.host.matches_str("ACME.zendesk.test."));
        assert!(!rule.host.matches_str("zendesk.test"));
        assert!(!rule.host.matches_str("evilzendesk.test"));
    }

    #[test]
    fn allowlist_compares_scheme_host_and_port() {
        let list = allow(&["https://app.example.com/login/oauth/authorize"]);
        let ok = Url::parse("https://APP.example.com.:443/x").unwrap();
        assert!(list.check(&ok).is_ok());
        for bad in ["http://app.example.com/x", "https://app.example.com:8443/x", "https://other.example.com/x"] {
            let err = list.check(&Url::parse(bad).unwrap()).unwrap_err();
            assert!(matches!(err, EgressError::Denied(ref m) if m.contains("allowlist")), "{bad}: {err}");
        }
    }

    #[test]
    fn plain_http_needs_an_allowed_network_or_an_insecure_host() {
        let mut config = EgressConfig::default();
        for url in ["http://127.0.0.5:8080", "http://[::1]:8080", "http://localhost:8080"] {
            let err = config.check_scheme(&Url::parse(url).unwrap()).unwrap_err();
            assert!(err.to_string().contains("plain http"), "{url}: {err}");
        }
        let err = config.check_scheme(&Url::parse("http://127.0.0.5:8080").unwrap()).unwrap_err();
        assert!(err.to_string().contains("--allow-network 127.0.0.5"), "{err}");
        config.allowed_networks.push("127.0.0.5".parse().unwrap());
        assert!(config.check_scheme(&Url::parse("http://127.0.0.5:8080").unwrap()).is_ok());
        let err = config.check_scheme(&Url::parse("http://acme.zendesk.test").unwrap()).unwrap_err();
        assert!(err.to_string().contains("insecure_http_hosts"), "{err}");
        config.insecure_http_hosts.push("*.zendesk.test".parse().unwrap());
        assert!(config.check_scheme(&Url::parse("http://acme.zendesk.test").unwrap()).is_ok());
        assert!(config.check_scheme(&Url::parse("http://ACME.zendesk.test.").unwrap()).is_ok());
        assert!(config.check_scheme(&Url::parse("ftp://x.test").unwrap()).is_err());
        // The send path passes the host it normalised once; the rule decides the same.
        for text in
            ["http://127.0.0.5:8080", "http://127.0.0.6", "http://ACME.zendesk.test.", "https://x.test", "ftp://x.test"]
        {
            let url = Url::parse(text).unwrap();
            let host = HostName::of_url(&url).unwrap();
            assert_eq!(config.check_scheme_of(&url, &host), config.check_scheme(&url), "{text}");
        }
    }

    #[tokio::test]
    async fn oversized_urls_and_headers_are_refused_before_the_url_is_even_parsed() {
        let client = EgressClient::new(EgressConfig::default()).unwrap();
        // Not even a URL, and outside any allowlist: the size is what gets it refused.
        let huge = format!("not a url {}", "a".repeat(4 << 20));
        let err = client.send_checked(&Allowlist::default(), &request(&huge, Vec::new()), None).await.unwrap_err();
        assert_eq!(err, EgressError::TooLarge(format!("the URL is {} bytes; at most 8192 may be sent", huge.len())));

        let many = (0..40_000).map(|i| (format!("x-h-{i}"), "v".to_string())).collect();
        let err = client.send_checked(&Allowlist::default(), &request("nope", many), None).await.unwrap_err();
        assert_eq!(err, EgressError::TooLarge("the request has 40000 headers; at most 100 may be sent".into()));
        let big = vec![("x-big".to_string(), "b".repeat(40 << 10))];
        let err = client.send_checked(&Allowlist::default(), &request("nope", big), None).await.unwrap_err();
        assert!(matches!(err, EgressError::TooLarge(ref m) if m.contains("32768 bytes")), "{err}");
    }

    #[tokio::test]
    async fn literal_loopback_and_unspecified_addresses_are_refused_by_default() {
        let client = EgressClient::new(EgressConfig::default()).unwrap();
        for url in [
            "https://127.0.0.1:9/",
            "https://[::1]:9/",
            "https://0.0.0.0:9/",
            "https://[::]:9/",
            "https://0x7f.0.0.2:9/",
            "https://[::ffff:127.0.0.1]:9/",
            "https://10.0.0.1:9/",
            "https://169.254.169.254/",
        ] {
            let err = client.send_checked(&allow(&[url]), &request(url, Vec::new()), None).await.unwrap_err();
            assert!(
                matches!(err, EgressError::Denied(ref m) if m.contains("allowed_networks") && m.contains("--allow-network")),
                "{url}: {err}"
            );
        }
    }

    #[tokio::test]
    async fn a_foreign_host_header_or_an_invalid_header_is_refused_before_sending() {
        let client = EgressClient::new(EgressConfig::default()).unwrap();
        let url = "https://api.example.test/x";
        for (name, value, expect) in [
            ("Host", "metadata.internal", "remove the `Host` header"),
            ("bad name", "v", "not a valid header name"),
            ("x-injected", "a\r\nHost: evil", "control characters"),
        ] {
            let headers = vec![(name.to_string(), value.to_string())];
            let err = client.send_checked(&allow(&[url]), &request(url, headers), None).await.unwrap_err();
            assert!(matches!(err, EgressError::Denied(ref m) if m.contains(expect)), "{name}: {err}");
        }
    }
}
