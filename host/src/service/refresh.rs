//! One refresh per connection at a time, across all replicas.
//!
//! In-process, callers for the same connection queue on one mutex; across processes, the
//! holder of the mutex also takes a lease row in the database. After waiting, the stored
//! tokens are read again: whoever went first has usually refreshed already, and the rest
//! reuse the result instead of spending (or, with rotation, burning) the refresh token.

use keyway_store::Store as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyway_store::{ConnectionRecord, ConnectionStatus};

use super::{Service, ServiceError, now};
use crate::flows::FlowError;
use crate::trace::Recorder;

/// Lease lifetime: longer than any one refresh (egress timeout plus retries), so a live
/// holder never loses it, short enough that a crashed holder frees it soon.
const LEASE_SECS: i64 = 120;
/// How long a caller waits for another replica's lease before giving up.
const LEASE_WAIT: Duration = Duration::from_secs(60);
/// How long a refresh in flight at SIGTERM may still take before it is given up and its lease
/// released. A token request normally answers in well under a second, so this lets it finish
/// (and keep a rotated refresh token) while staying far inside a supervisor's kill timeout
/// (Kubernetes waits 30 s, systemd 90 s). A refresh that hangs on its provider (up to the
/// egress timeout on each of its attempts) would otherwise outlive the process and keep the
/// lease for `LEASE_SECS`, stalling every other replica's refresh of that connection.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Retries of a refresh that met 429 or 5xx.
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff; doubled after each attempt.
    pub base_delay: Duration,
    /// The longest wait, whatever `Retry-After` asks.
    pub max_delay: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(30) }
    }
}

/// Why a refresh is wanted.
#[derive(Debug, Clone)]
pub(super) enum Need {
    /// The token is about to expire; skip if someone refreshed meanwhile.
    Expiring,
    /// The API refused this access token (401); skip if the stored one is different now.
    Rejected(String),
    /// An operator asked for it.
    Forced,
}

/// Per-connection in-process mutexes.
#[derive(Debug, Default)]
pub(super) struct SingleFlight {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    holder: String,
    /// Cancelled when the process starts to stop.
    stopping: tokio_util::sync::CancellationToken,
}

impl SingleFlight {
    pub(super) fn new() -> Self {
        Self {
            locks: Mutex::new(HashMap::new()),
            holder: keyway_store::new_id("holder"),
            stopping: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// Completes `grace` after the process started to stop; never, while it serves.
    async fn stopped_for(&self, grace: Duration) {
        self.stopping.cancelled().await;
        tokio::time::sleep(grace).await;
    }

    fn lock_for(&self, connection_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().expect("single-flight map");
        // Drop mutexes nobody holds or waits on, so the map does not grow forever.
        locks.retain(|_, m| Arc::strong_count(m) > 1);
        locks.entry(connection_id.to_string()).or_default().clone()
    }
}

/// What a refresh that a stopping process gave up answers.
fn stopping_error() -> ServiceError {
    ServiceError::Busy {
        message: "this keyway process is shutting down; retry, and another replica will refresh".into(),
        retry_after: Duration::from_secs(1),
    }
}

impl Service {
    /// Tells in-flight refreshes that the process is stopping: each gets `SHUTDOWN_GRACE` to
    /// finish, then gives up and releases its lease, and no new one waits for a lease. Called
    /// by `keyway serve` on SIGTERM or Ctrl-C.
    pub fn begin_shutdown(&self) {
        self.refresh.stopping.cancel();
    }

    /// Refreshes `connection_id` unless the reason has gone away by the time this caller
    /// holds both locks. Returns the connection as stored afterwards.
    pub(super) async fn refresh_connection(
        &self,
        connection_id: &str,
        need: Need,
    ) -> Result<ConnectionRecord, ServiceError> {
        let local = self.refresh.lock_for(connection_id);
        let _local = local.lock().await;
        let holder = &self.refresh.holder;
        let deadline = tokio::time::Instant::now() + LEASE_WAIT;
        let mut wait = Duration::from_millis(20);
        while !self.store.try_acquire_refresh_lease(connection_id, holder, now(), LEASE_SECS).await? {
            if self.refresh.stopping.is_cancelled() {
                return Err(stopping_error());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ServiceError::Upstream(
                    "another replica has been refreshing this connection for too long; retry shortly".into(),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(500));
        }
        // Released on every path but a crash, a stop included: see SHUTDOWN_GRACE.
        let result = tokio::select! {
            result = self.refresh_holding_lease(connection_id, need) => result,
            () = self.refresh.stopped_for(SHUTDOWN_GRACE) => {
                tracing::warn!(
                    connection = connection_id,
                    "gave up a refresh still running {}s after the shutdown began; its lease is released for the other replicas",
                    SHUTDOWN_GRACE.as_secs()
                );
                Err(stopping_error())
            }
        };
        if let Err(e) = self.store.release_refresh_lease(connection_id, holder).await {
            tracing::warn!(connection = connection_id, "releasing the refresh lease failed: {e}");
        }
        result
    }

    async fn refresh_holding_lease(&self, connection_id: &str, need: Need) -> Result<ConnectionRecord, ServiceError> {
        // The store, never the cache: with rotating refresh tokens, a stale one ends the grant.
        let mut record = self.connection_record(connection_id).await?;
        let mut state = self.connection_state(&record)?;
        let Some(tokens) = state.credentials.tokens() else {
            return Err(ServiceError::Conflict("this connection has no OAuth tokens; connect it first".into()));
        };
        let still_needed = match &need {
            Need::Forced => true,
            Need::Expiring => tokens.expires_within(self.settings.refresh_margin, std::time::SystemTime::now()),
            Need::Rejected(seen) => tokens.access_token.secret() == seen,
        };
        if !still_needed {
            return Ok(record);
        }
        // A refresh token past its own expiry cannot succeed; asking the provider would only
        // turn a clear cause into an opaque `invalid_grant`.
        if tokens.refresh_expired(std::time::SystemTime::now()) {
            let at = tokens.refresh_expires_at.map(|t| super::rfc3339(t as i64)).unwrap_or_default();
            let message = format!("the refresh token expired at {at}; reconnect the connection to sign in again");
            crate::metrics::refresh_failed(
                &self.integration_record(&record.integration_id).await.map(|i| i.name).unwrap_or_default(),
                crate::metrics::REFRESH_TOKEN_EXPIRED,
                std::time::Duration::ZERO,
            );
            record.status = ConnectionStatus::NeedsReauth;
            record.last_error = Some(message.clone());
            record.next_retry_at = None;
            record.updated_at = now();
            self.store.update_connection(&record).await?;
            return Err(ServiceError::Conflict(message));
        }
        let integration_record = self.integration_record(&record.integration_id).await?;
        let integration = self.config_of(&integration_record)?;
        let plugin = self.plugin_for(&integration).await?;
        let policy = &self.settings.refresh_policy;
        let mut attempt = 1;
        let started = std::time::Instant::now();
        loop {
            // Kept only if the refresh fails, for the console's "last failed exchange".
            let recorder = Recorder::new();
            let refreshed = self.flows.refresh(&plugin, &integration, &mut state, &recorder).await;
            match &refreshed {
                Ok(_) => crate::metrics::refresh_succeeded(&integration.name, started.elapsed()),
                // Retried below: only the last attempt's verdict counts.
                Err(FlowError::Unavailable { .. }) if attempt < policy.max_attempts => {}
                Err(e) => crate::metrics::refresh_failed(
                    &integration.name,
                    crate::metrics::refresh_cause(e),
                    started.elapsed(),
                ),
            }
            match refreshed {
                Ok(_) => {
                    self.store_tokens(&mut record, &state, ConnectionStatus::Active)?;
                    record.last_error = None;
                    record.next_retry_at = None;
                    self.store.update_connection(&record).await?;
                    return Ok(record);
                }
                Err(FlowError::Unavailable { status, retry_after }) if attempt < policy.max_attempts => {
                    let backoff = policy.base_delay * 2u32.pow(attempt - 1);
                    let delay = retry_after.unwrap_or(backoff).min(policy.max_delay);
                    // Still usable until expiry: show the wait instead of failing the connection.
                    record.last_error =
                        Some(format!("refresh attempt {attempt} got HTTP {status}; retrying in {} s", delay.as_secs()));
                    record.next_retry_at = Some(now() + delay.as_secs() as i64);
                    record.updated_at = now();
                    self.store.update_connection(&record).await?;
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                // Load on the integration, not a fault of the connection: nothing to record.
                Err(FlowError::Plugin(e @ crate::engine::CallError::Busy { .. })) => return Err(e.into()),
                Err(e) => {
                    let message = self.scrub(&integration, &state, &e.to_string());
                    let redactor = crate::flows::secrets_of(&integration, &state);
                    let kind = super::console::ExchangeKind::Refresh;
                    self.record_failed_exchange(&record.id, kind, &message, None, &recorder, &redactor).await;
                    if e.is_invalid_grant() {
                        record.status = ConnectionStatus::NeedsReauth;
                    }
                    record.last_error = Some(message.clone());
                    record.next_retry_at = None;
                    record.updated_at = now();
                    self.store.update_connection(&record).await?;
                    return Err(if e.is_invalid_grant() {
                        ServiceError::Conflict(format!(
                            "the provider refused the refresh token ({message}); the connection needs to be reconnected"
                        ))
                    } else {
                        ServiceError::Upstream(format!("refresh failed: {message}"))
                    });
                }
            }
        }
    }
}
