//! A strict OAuth2 provider on loopback, for Keyway's integration tests, `keyway demo` and plugin checks.
//!
//! It refuses every request that breaks a rule of RFC 6749 (with RFC 7636 PKCE, RFC 7009 revocation,
//! RFC 6750 bearer tokens and RFC 9207 `iss`), with an error that says what to fix, and records every request
//! so tests can assert what was sent.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use keyway_mock_provider::{MockConfig, MockProvider};
//!
//! let mock = MockProvider::start(MockConfig::default()).await?;
//! // Register an integration with site = mock.base_url(), authorization base URL = mock.authorization_url(),
//! // token path = MockProvider::TOKEN_PATH, then run the flow against it.
//! assert_eq!(mock.requests_to(MockProvider::TOKEN_PATH).len(), 0);
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod apps;
mod client_auth;
mod config;
pub mod delay;
mod endpoints;
mod params;
mod recorded;
mod server;
mod store;
mod token_error;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::StatusCode;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use apps::App;
pub use config::{ClientAuthRule, Consent, MockConfig};
pub use recorded::RecordedRequest;
pub use token_error::TokenError;

use store::{Shared, Store, TokenOverride, lock};

/// A running mock provider. Dropping it stops the server; [`MockProvider::shutdown`] also waits for it.
pub struct MockProvider {
    addr: SocketAddr,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl MockProvider {
    /// Path of the authorization endpoint.
    pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
    /// Path of the token endpoint, relative to [`MockProvider::base_url`] (the integration's token path).
    pub const TOKEN_PATH: &str = "/oauth/token";
    /// Path of the revocation endpoint (the integration's revoke path).
    pub const REVOKE_PATH: &str = "/oauth/revoke";
    /// Prefix of the protected Web API: any method on `/api` and below, plus `GET /api/me`.
    pub const API_PREFIX: &str = "/api";

    /// Starts a provider on `127.0.0.1` with a free port, serving from a task on the current tokio runtime.
    ///
    /// Talk to it with async clients only: a blocking HTTP call on a single-threaded runtime (the
    /// `#[tokio::test]` default) would starve the server of the thread it runs on.
    pub async fn start(config: MockConfig) -> io::Result<MockProvider> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts a provider on `addr` (port 0 picks a free one), e.g. `127.0.0.2:0` to give it a host of its own.
    pub async fn start_on(addr: SocketAddr, config: MockConfig) -> io::Result<MockProvider> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared: Shared = Arc::new(Mutex::new(Store::new(config)));
        let app = server::app(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(%error, "mock provider stopped serving");
            }
        });
        Ok(MockProvider { addr, shared, stop: Some(stop), server: Some(server) })
    }

    /// The address the provider listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the integration's `site`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The integration's authorization base URL: [`MockProvider::base_url`] + [`MockProvider::AUTHORIZE_PATH`].
    pub fn authorization_url(&self) -> String {
        self.base_url() + Self::AUTHORIZE_PATH
    }

    /// The full token endpoint URL.
    pub fn token_url(&self) -> String {
        self.base_url() + Self::TOKEN_PATH
    }

    /// The full revocation endpoint URL.
    pub fn revoke_url(&self) -> String {
        self.base_url() + Self::REVOKE_PATH
    }

    /// The full URL of an API path, e.g. `api_url("/me")` for `GET /api/me`.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}{}{}", self.base_url(), Self::API_PREFIX, path)
    }

    /// The rules in force.
    pub fn config(&self) -> MockConfig {
        lock(&self.shared).config.clone()
    }

    /// Changes the rules for the requests that follow. Codes and tokens already issued stay valid.
    ///
    /// # Panics
    /// When `config.app` differs from the app the provider started as: its routes are fixed at start.
    pub fn set_config(&self, config: MockConfig) {
        let mut store = lock(&self.shared);
        assert_eq!(store.config.app, config.app, "the app mode is fixed when the provider starts");
        store.config = config;
    }

    /// Every request received so far, in order, refused ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.clone()
    }

    /// The requests received on this exact path, in order.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared).requests.clear();
    }

    /// How many recorded token requests carried this `grant_type`, accepted or refused.
    pub fn token_requests_by_grant(&self, grant_type: &str) -> usize {
        lock(&self.shared)
            .requests
            .iter()
            .filter(|r| r.path == Self::TOKEN_PATH)
            .filter(|r| r.form_param("grant_type").as_deref() == Some(grant_type))
            .count()
    }

    /// The next token request is answered with this RFC 6749 §5.2 error, whatever it contains. Calls queue up:
    /// each answers one request. The refused request consumes nothing, so its code stays redeemable.
    ///
    /// # Panics
    /// When `error.status` is not a valid HTTP status code (100..=999).
    pub fn fail_next_token_request(&self, error: TokenError) {
        assert!(StatusCode::from_u16(error.status).is_ok(), "{} is not an HTTP status code", error.status);
        lock(&self.shared).token_overrides.push_back(TokenOverride::Error(error));
    }

    /// The next token request is answered with exactly this status, content type and body, e.g. an HTML error
    /// page with status 200. Queues like [`MockProvider::fail_next_token_request`].
    ///
    /// # Panics
    /// When `status` is not a valid HTTP status code (100..=999).
    pub fn respond_next_token_request(&self, status: u16, content_type: &str, body: &str) {
        let status = StatusCode::from_u16(status).unwrap_or_else(|_| panic!("{status} is not an HTTP status code"));
        lock(&self.shared).token_overrides.push_back(TokenOverride::Raw {
            status,
            content_type: content_type.to_owned(),
            body: body.to_owned(),
        });
    }

    /// The next `count` requests to the protected API (`/api` and below, standard mode) are answered with
    /// `status` (a 429 or 5xx, say) and, when given, `Retry-After: retry_after`, before any token check, as an
    /// overloaded app would. They are recorded like any other, so a client's retries show up.
    ///
    /// # Panics
    /// When `status` is not a valid HTTP status code (100..=999).
    pub fn fail_next_api_requests(&self, status: u16, retry_after: Option<&str>, count: usize) {
        let status = StatusCode::from_u16(status).unwrap_or_else(|_| panic!("{status} is not an HTTP status code"));
        let mut store = lock(&self.shared);
        for _ in 0..count {
            store.api_failures.push_back((status, retry_after.map(str::to_owned)));
        }
    }

    /// Lets `after` more REST API requests through, then answers the next one with `429 Too Many Requests` and
    /// `Retry-After: 1`, once, as GitHub's secondary rate limit does. The 429'd request is recorded like any other,
    /// so a client that retries shows up as the same request twice. A later call replaces one not yet used.
    ///
    /// Honoured by the GitHub mode's REST API (`App::Github`, below `/api/v3`); other modes ignore it.
    pub fn rate_limit_api_request(&self, after: usize) {
        lock(&self.shared).app.github.rate_limit_after = Some(after);
    }

    /// Expires every access token issued so far: the API answers 401 `invalid_token` to them from now on.
    /// Refresh tokens stay valid.
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for token in lock(&self.shared).access_tokens.values_mut() {
            token.expires_at = Some(now);
        }
    }

    /// Expires every authorization code issued so far, as if their 60 seconds had passed.
    pub fn expire_authorization_codes(&self) {
        let now = Instant::now();
        for code in lock(&self.shared).codes.values_mut() {
            code.expires_at = now;
        }
    }

    /// Whether this access or refresh token was issued and has since been revoked (at the revoke endpoint, by
    /// code reuse, by refresh token replay, or by rotation). Unknown tokens are not revoked.
    pub fn is_revoked(&self, token: &str) -> bool {
        lock(&self.shared).is_revoked(token)
    }

    /// Stops accepting connections, lets open requests finish, and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl std::fmt::Debug for MockProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockProvider").field("addr", &self.addr).finish_non_exhaustive()
    }
}
