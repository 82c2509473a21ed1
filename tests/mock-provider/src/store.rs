//! The provider's memory: rules, recorded requests, codes, tokens and queued answers.
//!
//! Everything sits behind one std `Mutex`. Handlers lock it, decide, and unlock before answering, so there is
//! never an `.await` while it is held, and a code or refresh token cannot be redeemed twice by racing requests.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::{MockConfig, RecordedRequest, TokenError};

/// How long an authorization code can be redeemed.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);

/// The state shared by every handler and by `MockProvider`.
pub(crate) type Shared = Arc<Mutex<Store>>;

/// Locks the store. A handler that panicked mid-update leaves test data, not memory unsafety, so a poisoned
/// lock is simply taken over.
pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, Store> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One authorization: a redeemed code and every token descending from it. Revoking a grant revokes them all.
pub(crate) type GrantId = u64;

pub(crate) struct Store {
    pub config: MockConfig,
    pub requests: Vec<RecordedRequest>,
    pub codes: HashMap<String, AuthCode>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    /// Answers the token endpoint gives instead of processing the request, first in first out.
    pub token_overrides: VecDeque<TokenOverride>,
    /// Failures the protected API answers instead of serving, first in first out: a status and an optional
    /// `Retry-After` value.
    pub api_failures: VecDeque<(StatusCode, Option<String>)>,
    /// What app modes remember beyond codes and tokens.
    pub app: crate::apps::AppData,
    next_grant: GrantId,
}

pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    pub state: CodeState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeState {
    /// Never presented at the token endpoint.
    Fresh,
    /// Presented once and refused; a code gets one attempt.
    Burned,
    /// Exchanged for tokens of this grant.
    Redeemed(GrantId),
}

pub(crate) struct AccessToken {
    pub client_id: String,
    pub grant: GrantId,
    pub scopes: Vec<String>,
    pub expires_at: Option<Instant>,
    pub revoked: bool,
    /// Requests the protected API has served with this token.
    pub uses: u32,
}

impl AccessToken {
    pub fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| Instant::now() >= at)
    }
}

pub(crate) struct RefreshToken {
    pub client_id: String,
    pub grant: GrantId,
    pub scopes: Vec<String>,
    pub state: RefreshState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshState {
    Active,
    /// Revoked at the revoke endpoint or with its grant.
    Revoked,
    /// Replaced by a newer refresh token; presenting it again is a replay.
    RotatedOut,
}

pub(crate) enum TokenOverride {
    Error(TokenError),
    Raw { status: StatusCode, content_type: String, body: String },
}

/// Tokens minted for one token response.
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
    pub scopes: Vec<String>,
}

impl Store {
    pub fn new(config: MockConfig) -> Self {
        Store {
            config,
            requests: Vec::new(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            token_overrides: VecDeque::new(),
            api_failures: VecDeque::new(),
            app: Default::default(),
            next_grant: 0,
        }
    }

    pub fn new_grant(&mut self) -> GrantId {
        self.next_grant += 1;
        self.next_grant
    }

    /// Mints an access token (and a refresh token when asked) for `grant`, with the configured lifetime.
    pub fn issue(&mut self, client_id: &str, grant: GrantId, scopes: Vec<String>, with_refresh: bool) -> Issued {
        let refresh_token = with_refresh.then(|| self.issue_refresh_token(client_id, grant, scopes.clone()));
        let expires_in = self.config.access_token_ttl;
        let access_token = random_token("mock-at-");
        self.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                client_id: client_id.to_owned(),
                grant,
                scopes: scopes.clone(),
                expires_at: expires_in.map(|ttl| Instant::now() + Duration::from_secs(ttl)),
                revoked: false,
                uses: 0,
            },
        );
        Issued { access_token, refresh_token, expires_in, scopes }
    }

    /// Mints a refresh token for `grant`.
    pub fn issue_refresh_token(&mut self, client_id: &str, grant: GrantId, scopes: Vec<String>) -> String {
        let token = random_token("mock-rt-");
        self.refresh_tokens.insert(
            token.clone(),
            RefreshToken { client_id: client_id.to_owned(), grant, scopes, state: RefreshState::Active },
        );
        token
    }

    /// Revokes every access and refresh token of `grant`.
    pub fn revoke_grant(&mut self, grant: GrantId) {
        for token in self.access_tokens.values_mut().filter(|t| t.grant == grant) {
            token.revoked = true;
        }
        for token in self.refresh_tokens.values_mut().filter(|t| t.grant == grant) {
            token.state = RefreshState::Revoked;
        }
    }

    pub fn is_revoked(&self, token: &str) -> bool {
        if let Some(access) = self.access_tokens.get(token) {
            return access.revoked;
        }
        self.refresh_tokens.get(token).is_some_and(|refresh| refresh.state != RefreshState::Active)
    }
}

/// An unguessable token (160 bits from the OS) behind a prefix that says what it is, e.g. `mock-at-3f9c…`.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    let mut token = String::with_capacity(prefix.len() + 2 * bytes.len());
    token.push_str(prefix);
    for byte in bytes {
        token.push_str(&format!("{byte:02x}"));
    }
    token
}
