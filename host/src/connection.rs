//! A connection's credentials and non-secret state, as the flows read and update them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::secret::{AccessToken, NamedSecretValue, Password, RefreshToken};
use crate::trace::Redactor;

/// Tokens from a provider, with the expiry made absolute by the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token, when the provider issued one.
    pub refresh_token: Option<RefreshToken>,
    /// `Bearer`, usually; some apps omit it.
    pub token_type: Option<String>,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<u64>,
    /// The scopes granted, when the provider said.
    pub scopes: Option<Vec<String>>,
    /// When the refresh token expires, Unix seconds; `None` when the provider did not say.
    pub refresh_expires_at: Option<u64>,
    /// Secrets the plugin keeps beside the tokens, by name (`{secrets.NAME}` in placements).
    pub secrets: Vec<(String, NamedSecretValue)>,
}

impl Tokens {
    /// Tokens with only an access token.
    pub fn bearer(access_token: AccessToken) -> Self {
        Self {
            access_token,
            refresh_token: None,
            token_type: Some("Bearer".into()),
            expires_at: None,
            scopes: None,
            refresh_expires_at: None,
            secrets: Vec::new(),
        }
    }

    /// Whether the refresh token has expired at `now`, so no refresh can succeed.
    pub fn refresh_expired(&self, now: SystemTime) -> bool {
        self.refresh_expires_at.is_some_and(|at| unix_seconds(now) >= at)
    }

    /// The named secret `name`.
    pub fn secret(&self, name: &str) -> Option<&NamedSecretValue> {
        self.secrets.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Whether the access token expires within `margin` of `now`.
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| unix_seconds(now).saturating_add(margin.as_secs()) >= at)
    }
}

/// What a connection authenticates with.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Credentials {
    /// Nothing yet: an oauth2 connection whose flow has not completed.
    #[default]
    None,
    /// OAuth2 tokens.
    OAuth(Tokens),
    /// A `basic` integration's username and password.
    Basic {
        /// The username (not secret, but kept with the password).
        username: String,
        /// The password.
        password: Password,
    },
    /// A `token` integration's static token.
    Token(AccessToken),
}

impl Credentials {
    /// Registers every secret value with `redactor`.
    pub fn register(&self, redactor: &mut Redactor) {
        match self {
            Credentials::None => {}
            Credentials::OAuth(t) => {
                redactor.add(t.access_token.secret());
                if let Some(r) = &t.refresh_token {
                    redactor.add(r.secret());
                }
                for (_, value) in &t.secrets {
                    redactor.add(value.secret());
                }
            }
            Credentials::Basic { username, password } => {
                redactor.add(password.secret());
                crate::trace::add_basic_credentials(redactor, username, password.secret());
            }
            Credentials::Token(t) => redactor.add(t.secret()),
        }
    }

    /// The OAuth2 tokens, if that is what the connection holds.
    pub fn tokens(&self) -> Option<&Tokens> {
        match self {
            Credentials::OAuth(t) => Some(t),
            _ => None,
        }
    }
}

/// A connection as the flows see it, independent of where it is stored.
#[derive(Clone, Debug, Default)]
pub struct ConnectionState {
    /// Opaque id.
    pub id: String,
    /// Per-connection inputs the plugin declared (validated).
    pub inputs: Vec<(String, String)>,
    /// Non-secret metadata from callbacks and token responses.
    pub metadata: Vec<(String, String)>,
    /// The secrets.
    pub credentials: Credentials,
}

impl ConnectionState {
    /// Sets metadata keys, replacing earlier values of the same key.
    pub fn merge_metadata(&mut self, entries: Vec<(String, String)>) {
        for (key, value) in entries {
            match self.metadata.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => self.metadata.push((key, value)),
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_margin_is_inclusive_and_none_never_expires() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let mut tokens = Tokens { expires_at: Some(1_300), ..Tokens::bearer(AccessToken::new("a")) };
        assert!(tokens.expires_within(Duration::from_secs(300), now));
        assert!(!tokens.expires_within(Duration::from_secs(299), now));
        tokens.expires_at = None;
        assert!(!tokens.expires_within(Duration::from_secs(u64::MAX / 2), now));
    }

    #[test]
    fn metadata_merge_replaces_by_key() {
        let mut conn = ConnectionState::default();
        conn.merge_metadata(vec![("realmId".into(), "1".into()), ("shop".into(), "a".into())]);
        conn.merge_metadata(vec![("realmId".into(), "2".into())]);
        assert_eq!(conn.metadata, [("realmId".into(), "2".into()), ("shop".into(), "a".into())]);
    }
}
