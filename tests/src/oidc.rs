//! A strict, real OAuth 2.0 / OpenID Connect server for tests: `tests/oidc-provider/provider.mjs`
//! (npm's `oidc-provider`, on the Node 22 that `npm ci` installs beside it), on http://127.0.0.2,
//! with the clients a test registers. Unlike the mock provider it is somebody else's code: a
//! browser fills in its login and consent pages, PKCE (S256) is required, every code grant
//! issues a refresh token and every refresh rotates it (reusing the old one is `invalid_grant`,
//! and revokes the whole grant). `provider.mjs` says more.
//!
//! When `tests/oidc-provider/node_modules` is missing, [`OidcProvider::start`] panics under
//! `CI=true` (a test that needs a missing service fails in CI) and otherwise prints why the
//! tests are skipped, and returns `None`, as [`crate::postgres::test_database`] does.

use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::service::{self, Supervised};

/// How a client authenticates at the token endpoint (and revocation endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl TokenAuthMethod {
    /// The `token_endpoint_auth_method` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

/// A client registered with the provider. It may use exactly the `authorization_code` and
/// `refresh_token` grants, response type `code`, and its one auth method.
#[derive(Debug, Clone)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub auth_method: TokenAuthMethod,
    /// Matched exactly, port included.
    pub redirect_uris: Vec<String>,
}

impl OidcClient {
    /// A `client_secret_basic` client with one redirect URI.
    pub fn basic(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self::new(client_id, client_secret, TokenAuthMethod::ClientSecretBasic, redirect_uri)
    }

    /// A `client_secret_post` client with one redirect URI.
    pub fn post(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self::new(client_id, client_secret, TokenAuthMethod::ClientSecretPost, redirect_uri)
    }

    fn new(client_id: &str, client_secret: &str, auth_method: TokenAuthMethod, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            auth_method,
            redirect_uris: vec![redirect_uri.into()],
        }
    }

    /// The entry `provider.mjs` reads from `OIDC_CLIENTS`.
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_endpoint_auth_method": self.auth_method.as_str(),
            "redirect_uris": self.redirect_uris,
        })
    }
}

/// A running provider; the process (and its in-memory state) goes away on drop.
pub struct OidcProvider {
    issuer: String,
    stderr: Arc<Mutex<Vec<u8>>>,
    _process: Supervised,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// How long the provider may take to print `ready` (about half a second, usually).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

impl OidcProvider {
    /// Where it listens. Not 127.0.0.1, so that its cookies and a console's on 127.0.0.1 never mix
    /// (cookies are per host, not per port); an egress policy must allow this address.
    pub const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    /// The authorization endpoint's path (as the discovery document lists it).
    pub const AUTHORIZATION_PATH: &str = "/auth";
    /// The token endpoint's path.
    pub const TOKEN_PATH: &str = "/token";
    /// The revocation endpoint's path (RFC 7009).
    pub const REVOCATION_PATH: &str = "/token/revocation";
    /// The userinfo endpoint's path; it takes the (opaque) access token of an `openid` grant.
    pub const USERINFO_PATH: &str = "/me";

    /// Starts a provider with `clients`, on a free port of [`Self::IP`]; `None` (after saying why
    /// on stderr) when `tests/oidc-provider` is not installed, outside CI.
    ///
    /// # Panics
    ///
    /// With `CI=true` when it is not installed; and whenever it is installed but does not start (the
    /// message has its stderr), since that is not a missing service but a failure to report.
    pub async fn start(clients: &[OidcClient]) -> Option<OidcProvider> {
        let dir = Self::dir();
        let node = Self::node();
        let missing = if !node.is_file() {
            Some(format!("{} is missing", node.display()))
        } else if !dir.join("node_modules/oidc-provider/package.json").is_file() {
            Some(format!("{} has no oidc-provider", dir.join("node_modules").display()))
        } else {
            None
        };
        if let Some(why) = missing {
            static SAID: OnceLock<()> = OnceLock::new();
            service::skip(
                "OIDC provider",
                &why,
                "Install it with `scripts/setup.sh`'s ensure_oidc_provider (or `npm ci --prefix tests/oidc-provider`)",
                &SAID,
            );
            return None;
        }

        let clients = serde_json::Value::Array(clients.iter().map(OidcClient::to_json).collect()).to_string();
        let host = Self::IP.to_string();
        let envs = [("OIDC_HOST", host.as_str()), ("OIDC_PORT", "0"), ("OIDC_CLIENTS", clients.as_str())];
        let (process, stdout, stderr) = Supervised::spawn(node.as_os_str(), ["provider.mjs"], &envs, &dir)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", node.display()));
        let stderr = service::collect_tail(stderr, 16 << 10);

        // The first stdout line, read on a thread (std pipes block); the rest is drained so that the
        // provider can never block writing to a full pipe.
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = ready_tx.send(lines.next().transpose());
            lines.for_each(drop);
        });
        let line = match tokio::time::timeout(READY_TIMEOUT, ready_rx).await {
            Ok(Ok(Ok(Some(line)))) => line,
            Ok(Ok(Ok(None) | Err(_))) | Err(_) => {
                // Exited (or never printed): give its stderr a moment to arrive in full.
                tokio::time::sleep(Duration::from_millis(200)).await;
                panic!(
                    "the OIDC provider (tests/oidc-provider/provider.mjs) did not print `ready` within {READY_TIMEOUT:?}; \
                     its stderr:\n{}",
                    service::tail_text(&stderr)
                )
            }
            Ok(Err(_)) => unreachable!("the reader thread always sends"),
        };
        let Some(issuer) = line.strip_prefix("ready ") else {
            panic!(
                "the OIDC provider printed {line:?} instead of `ready <issuer>`; its stderr:\n{}",
                service::tail_text(&stderr)
            )
        };
        Some(OidcProvider { issuer: issuer.trim().to_string(), stderr, _process: process })
    }

    /// `http://127.0.0.2:PORT`, no trailing slash: the `iss` of its tokens and its callbacks.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer followed by `path`, e.g. `url(OidcProvider::TOKEN_PATH)`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// What the provider has written to stderr (the last 16 KiB): oidc-provider's warnings, and
    /// `server_error`s with their stacks.
    pub fn stderr(&self) -> String {
        service::tail_text(&self.stderr)
    }

    /// `tests/oidc-provider`, found from this crate's manifest directory.
    pub fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
    }

    /// The Node 22 binary that `npm ci` installs there (npm's `node` package); the machine's own
    /// node may be older than oidc-provider 9 supports.
    pub fn node() -> PathBuf {
        Self::dir().join("node_modules/node/bin/node")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_its_discovery_document() {
        let client = OidcClient::basic("c1", "s e&c:r+t", "http://127.0.0.1:9/cb");
        let Some(provider) = OidcProvider::start(&[client]).await else { return };
        assert!(provider.issuer().starts_with("http://127.0.0.2:"), "issuer {}", provider.issuer());
        let body = crate::http::client()
            .get(provider.url("/.well-known/openid-configuration"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("discovery document")
            .text()
            .await
            .expect("discovery document");
        let discovery: serde_json::Value = serde_json::from_str(&body).expect("discovery document is JSON");
        assert_eq!(discovery["issuer"], provider.issuer());
        assert_eq!(discovery["token_endpoint"], provider.url(OidcProvider::TOKEN_PATH));
        assert_eq!(discovery["authorization_endpoint"], provider.url(OidcProvider::AUTHORIZATION_PATH));
    }
}
