//! The admin console's use cases beyond the API's: signing in with an API key to a session,
//! and keeping each connection's last failed token exchange so any replica can show it.
//!
//! A session id is a random token that lives only in the browser's cookie; the store keeps its
//! SHA-256. Each request re-reads the session with its key, so a session ends when it expires,
//! at sign-out, or as soon as its key is revoked. The CSRF token is derived from the session
//! id, so it needs no storage and is unknowable without the cookie.

use keyway_store::{Console as _, ConsoleSessionRecord, FailedExchangeRecord};
use sha2::{Digest, Sha256};

use super::{Service, ServiceError, now, rfc3339};
use crate::keys::{ApiKey, Principal, Role};
use crate::trace::{Recorder, Redactor, TraceEntry};

/// What a failed exchange keeps of its trace at most, as JSON. Entries are bounded one by one
/// (see [`crate::trace`]); this bounds their number.
const MAX_TRACE_BYTES: usize = 32 << 10;

/// A signed-in console user.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// Who the session acts as: its key, with the key's role.
    pub principal: Principal,
    /// The key's name, to show who is signed in.
    pub key_name: String,
    /// The token every form that changes something must carry.
    pub csrf: String,
}

/// A connection's last failed code exchange or refresh, redacted.
#[derive(Debug, Clone)]
pub struct FailedExchangeView {
    /// `code exchange` or `refresh`.
    pub kind: String,
    /// RFC 3339.
    pub at: String,
    /// What failed.
    pub message: String,
    /// What to check, as the service saw it; the console may derive a sharper one from `message`.
    pub hint: Option<String>,
    /// The requests the attempt sent and their answers, masked.
    pub entries: Vec<TraceEntry>,
}

/// Which exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExchangeKind {
    /// The code exchange at the end of the browser flow.
    Code,
    /// A refresh.
    Refresh,
}

impl ExchangeKind {
    fn as_str(self) -> &'static str {
        match self {
            ExchangeKind::Code => "code exchange",
            ExchangeKind::Refresh => "refresh",
        }
    }
}

fn session_hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

/// The CSRF token of a session: bound to it, and useless without the cookie it derives from.
fn csrf_of(session_id: &str) -> String {
    hex::encode(Sha256::digest(format!("keyway console csrf\0{session_id}").as_bytes()))
}

impl Service {
    /// How long a console sign-in lasts.
    pub fn console_session_ttl(&self) -> std::time::Duration {
        self.settings.console_session_ttl
    }

    /// Signs in with an API key: returns the new session's id (for the cookie, and nowhere
    /// else) and the session.
    pub async fn console_sign_in(&self, key: &ApiKey) -> Result<(String, ConsoleSession), ServiceError> {
        let principal = self.authenticate(key).await?;
        let at = now();
        // Sign-in is rare; it is also when expired sessions are swept.
        if let Err(e) = self.store.delete_expired_console_sessions(at).await {
            tracing::warn!("removing expired console sessions: {e}");
        }
        let session_id = crate::crypto::random_token("kws_");
        self.store
            .insert_console_session(&ConsoleSessionRecord {
                id_hash: session_hash(&session_id),
                key_id: principal.key_id.clone(),
                created_at: at,
                expires_at: at + self.settings.console_session_ttl.as_secs() as i64,
            })
            .await?;
        let session = self.console_session(&session_id).await?;
        Ok((session_id, session))
    }

    /// The session behind a cookie's id: refused once expired, signed out, or its key revoked.
    pub async fn console_session(&self, session_id: &str) -> Result<ConsoleSession, ServiceError> {
        let signed_out = || ServiceError::Unauthenticated("you are signed out; sign in with an API key".into());
        let Some(found) = self.store.get_console_session(&session_hash(session_id)).await? else {
            return Err(signed_out());
        };
        if found.session.expires_at <= now() {
            return Err(ServiceError::Unauthenticated("your session expired; sign in again".into()));
        }
        if found.key_revoked_at.is_some() {
            return Err(ServiceError::Unauthenticated(
                "the API key this session signed in with has been revoked; sign in with another".into(),
            ));
        }
        let role = Role::parse(&found.key_role)
            .ok_or_else(|| ServiceError::Internal(format!("stored role `{}`", found.key_role)))?;
        Ok(ConsoleSession {
            principal: Principal { key_id: found.session.key_id, role },
            key_name: found.key_name,
            csrf: csrf_of(session_id),
        })
    }

    /// Ends a session.
    pub async fn console_sign_out(&self, session_id: &str) -> Result<(), ServiceError> {
        Ok(self.store.delete_console_session(&session_hash(session_id)).await?)
    }

    /// The connection's last failed exchange, if the caller may see the connection.
    pub async fn last_failed_exchange(
        &self,
        who: &Principal,
        connection_id: &str,
    ) -> Result<Option<FailedExchangeView>, ServiceError> {
        self.get_connection(who, connection_id).await?;
        let Some(record) = self.store.get_failed_exchange(connection_id).await? else {
            return Ok(None);
        };
        let entries: Vec<TraceEntry> = serde_json::from_str(&record.trace).map_err(|e| {
            ServiceError::Internal(format!("the stored trace of connection `{connection_id}` is unreadable: {e}"))
        })?;
        Ok(Some(FailedExchangeView {
            kind: record.kind,
            at: rfc3339(record.at),
            message: record.message,
            hint: record.hint,
            entries,
        }))
    }

    /// Keeps what a failed exchange sent and got back, in place of the connection's last one.
    /// `message` comes scrubbed (as `Service::scrub` leaves it); the entries are scrubbed again
    /// here with every secret `redactor` knows now. A failure to store is logged: the exchange
    /// has failed either way.
    pub(super) async fn record_failed_exchange(
        &self,
        connection_id: &str,
        kind: ExchangeKind,
        message: &str,
        hint: Option<&str>,
        recorder: &Recorder,
        redactor: &Redactor,
    ) {
        let mut entries = recorder.entries();
        entries.iter_mut().for_each(|entry| entry.scrub(redactor));
        let trace = capped_trace(entries);
        let record = FailedExchangeRecord {
            connection_id: connection_id.to_string(),
            kind: kind.as_str().into(),
            at: now(),
            message: message.to_string(),
            hint: hint.map(str::to_string),
            trace,
        };
        if let Err(e) = self.store.put_failed_exchange(&record).await {
            tracing::error!(connection = %connection_id, "keeping a failed exchange's trace: {e}");
        }
    }
}

/// `entries` as JSON within [`MAX_TRACE_BYTES`]: the last requests are the ones that failed, so
/// entries go from the front until the rest fit.
fn capped_trace(entries: Vec<TraceEntry>) -> String {
    let encoded: Vec<String> = entries.iter().filter_map(|e| serde_json::to_string(e).ok()).collect();
    let mut kept = encoded.len();
    let mut size = 2 + encoded.iter().map(|e| e.len() + 1).sum::<usize>();
    for entry in &encoded {
        if size <= MAX_TRACE_BYTES {
            break;
        }
        size -= entry.len() + 1;
        kept -= 1;
    }
    format!("[{}]", encoded[encoded.len() - kept..].join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_is_bound_to_its_session_and_reveals_nothing_of_it() {
        let (a, b) = ("kws_aaaa", "kws_bbbb");
        assert_eq!(csrf_of(a), csrf_of(a));
        assert_ne!(csrf_of(a), csrf_of(b));
        assert_ne!(csrf_of(a), session_hash(a), "the stored hash is not the CSRF token");
        assert!(!csrf_of(a).contains("aaaa"));
    }

    #[test]
    fn a_long_trace_keeps_its_last_entries_within_the_cap() {
        let entry = |n: usize| TraceEntry {
            method: "POST".into(),
            url: format!("https://app.test/token/{n}"),
            headers: Vec::new(),
            body: "x".repeat(10_000),
            status: Some(400),
            response_headers: Vec::new(),
            response_body: String::new(),
            error: None,
            duration: std::time::Duration::from_millis(1),
        };
        let trace = capped_trace((0..10).map(entry).collect());
        assert!(trace.len() <= MAX_TRACE_BYTES, "{}", trace.len());
        let kept: Vec<TraceEntry> = serde_json::from_str(&trace).unwrap();
        assert_eq!(kept.len(), 3, "as many as fit");
        assert_eq!(kept.last().unwrap().url, "https://app.test/token/9", "the failing request is kept");
        assert_eq!(capped_trace(Vec::new()), "[]");
        let one: Vec<TraceEntry> = serde_json::from_str(&capped_trace(vec![entry(0)])).unwrap();
        assert_eq!(one.len(), 1);
    }
}
