//! Webhooks and the event outbox.
//!
//! The events themselves are written by triggers (see the `*_events.sql` migrations) in the
//! transaction that changes a connection, with one pending delivery per matching webhook. This
//! module registers webhooks, lets replicas claim due deliveries (each attempt made by one
//! replica), records each attempt's outcome, and lists events with their deliveries.

use crate::StoreError;

/// Where events are POSTed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// Opaque id (`whk_…`).
    pub id: String,
    /// The integration whose connections' events it receives; `None`: every integration's.
    pub integration_id: Option<String>,
    /// The absolute URL events are POSTed to.
    pub url: String,
    /// The signing secret, sealed by the service with `id` as associated data.
    pub secret_sealed: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A connection lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Its position in the outbox, increasing.
    pub seq: i64,
    /// `connection.active`, `connection.refreshed`, `connection.needs_reauth`,
    /// `connection.failed` or `connection.deleted`.
    pub event_type: String,
    /// The connection.
    pub connection_id: String,
    /// Its integration.
    pub integration_id: String,
    /// The connection's status after the change (before it, for a deletion).
    pub status: String,
    /// The connection's last error after the change.
    pub last_error: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The event.
    pub event_seq: i64,
    /// The webhook.
    pub webhook_id: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub state: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// When the next attempt is due (Unix seconds), while pending.
    pub next_attempt_at: i64,
    /// The last attempt's HTTP status, if it got an answer.
    pub last_status: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
}

/// A delivery a replica claimed, with what sending it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The event.
    pub event: EventRecord,
    /// Where it goes.
    pub webhook: WebhookRecord,
    /// This attempt's number, from 1.
    pub attempt: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// `delivered`, `pending` (to be retried at `next_attempt_at`) or `failed` (given up).
    pub state: &'static str,
    /// When to try again, for `pending`.
    pub next_attempt_at: i64,
    /// The answer's status, if any.
    pub status: Option<i64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When it was delivered, for `delivered`.
    pub delivered_at: Option<i64>,
}

/// The outbox's half of the store.
#[async_trait::async_trait]
pub trait Outbox: Send + Sync {
    /// Registers a webhook. From now on, events of its integration's connections (every
    /// integration's, when it names none) get a delivery to it.
    async fn insert_webhook(&self, r: &WebhookRecord) -> Result<(), StoreError>;
    /// One webhook.
    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError>;
    /// Every webhook, oldest first.
    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError>;
    /// Removes a webhook and its deliveries. [`StoreError::NotFound`] if there is none.
    async fn delete_webhook(&self, id: &str) -> Result<(), StoreError>;
    /// Claims up to `limit` deliveries due at `now` until `leased_until`, counting an attempt
    /// for each. Of replicas claiming at once, each delivery goes to one.
    async fn claim_deliveries(
        &self,
        now: i64,
        leased_until: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records how the attempt at a claimed delivery ended, and frees its lease.
    async fn record_attempt(
        &self,
        event_seq: i64,
        webhook_id: &str,
        outcome: &AttemptOutcome,
    ) -> Result<(), StoreError>;
    /// Deletes the events that happened before `before` and have no delivery still pending,
    /// with their deliveries; returns how many.
    async fn prune_events(&self, before: i64) -> Result<u64, StoreError>;
    /// The newest `limit` events, newest first, of one connection when `connection_id` is
    /// given, each with its deliveries.
    async fn list_events(
        &self,
        connection_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(EventRecord, Vec<DeliveryRecord>)>, StoreError>;
}

pub(crate) const INSERT_WEBHOOK: &str =
    "INSERT INTO webhooks (id, integration_id, url, secret_sealed, created_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const SELECT_WEBHOOK: &str =
    "SELECT id, integration_id, url, secret_sealed, created_at FROM webhooks WHERE id = $1";
pub(crate) const LIST_WEBHOOKS: &str =
    "SELECT id, integration_id, url, secret_sealed, created_at FROM webhooks ORDER BY created_at, id";
pub(crate) const DELETE_WEBHOOK: &str = "DELETE FROM webhooks WHERE id = $1";
/// The outer conditions repeat the inner ones: on PostgreSQL a concurrent claimer's UPDATE
/// waits for the row and re-checks them against the committed lease, so it skips the row
/// rather than claiming it twice. SQLite runs one writer at a time.
pub(crate) const CLAIM_DELIVERIES: &str = "UPDATE event_deliveries SET leased_until = $2, attempts = attempts + 1 \
     WHERE state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
     AND (event_seq, webhook_id) IN (SELECT event_seq, webhook_id FROM event_deliveries \
       WHERE state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
       ORDER BY event_seq LIMIT $3) \
     RETURNING event_seq, webhook_id, attempts";
/// A read first: most polls find nothing due, and a read takes no write lock (SQLite has one
/// writer at a time, which requests need).
pub(crate) const ANY_DUE: &str = "SELECT event_seq FROM event_deliveries \
     WHERE state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) LIMIT 1";
pub(crate) const SELECT_CLAIMED: &str = "SELECT e.seq, e.type, e.connection_id, e.integration_id, e.status, \
     e.last_error, e.at, w.id, w.integration_id, w.url, w.secret_sealed, w.created_at \
     FROM events e, webhooks w WHERE e.seq = $1 AND w.id = $2";
pub(crate) const RECORD_ATTEMPT: &str = "UPDATE event_deliveries SET state = $3, next_attempt_at = $4, \
     leased_until = NULL, last_status = $5, last_error = $6, delivered_at = $7 \
     WHERE event_seq = $1 AND webhook_id = $2";
pub(crate) const PRUNE_EVENTS: &str = "DELETE FROM events WHERE at < $1 AND NOT EXISTS \
     (SELECT 1 FROM event_deliveries d WHERE d.event_seq = events.seq AND d.state = 'pending')";
pub(crate) const LIST_EVENTS: &str = "SELECT seq, type, connection_id, integration_id, status, last_error, at \
     FROM events WHERE ($1 = '' OR connection_id = $1) ORDER BY seq DESC LIMIT $2";
pub(crate) const LIST_DELIVERIES_FROM: &str = "SELECT event_seq, webhook_id, state, attempts, next_attempt_at, \
     last_status, last_error, delivered_at FROM event_deliveries WHERE event_seq >= $1 ORDER BY event_seq, webhook_id";

pub(crate) type EventRow = (i64, String, String, String, String, Option<String>, i64);
pub(crate) type WebhookRow = (String, Option<String>, String, Vec<u8>, i64);
pub(crate) type DeliveryRow = (i64, String, String, i64, i64, Option<i64>, Option<String>, Option<i64>);

pub(crate) fn event_of(row: EventRow) -> EventRecord {
    let (seq, event_type, connection_id, integration_id, status, last_error, at) = row;
    EventRecord { seq, event_type, connection_id, integration_id, status, last_error, at }
}

pub(crate) fn webhook_of(row: WebhookRow) -> WebhookRecord {
    let (id, integration_id, url, secret_sealed, created_at) = row;
    WebhookRecord { id, integration_id, url, secret_sealed, created_at }
}

pub(crate) fn delivery_of(row: DeliveryRow) -> DeliveryRecord {
    let (event_seq, webhook_id, state, attempts, next_attempt_at, last_status, last_error, delivered_at) = row;
    DeliveryRecord { event_seq, webhook_id, state, attempts, next_attempt_at, last_status, last_error, delivered_at }
}

/// Events with their deliveries, from the two queries' rows.
pub(crate) fn join_deliveries(
    events: Vec<EventRow>,
    deliveries: Vec<DeliveryRow>,
) -> Vec<(EventRecord, Vec<DeliveryRecord>)> {
    let mut joined: Vec<(EventRecord, Vec<DeliveryRecord>)> =
        events.into_iter().map(|row| (event_of(row), Vec::new())).collect();
    for delivery in deliveries.into_iter().map(delivery_of) {
        if let Some((_, list)) = joined.iter_mut().find(|(e, _)| e.seq == delivery.event_seq) {
            list.push(delivery);
        }
    }
    joined
}

/// Stamps out [`Outbox`] for a backend's store type, over the shared SQL above.
macro_rules! impl_outbox {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::events::Outbox for $store {
            async fn insert_webhook(&self, r: &$crate::events::WebhookRecord) -> Result<(), $crate::StoreError> {
                use $crate::events::*;
                let result = sqlx::query::<$db>(INSERT_WEBHOOK)
                    .bind(&r.id)
                    .bind(r.integration_id.as_deref())
                    .bind(&r.url)
                    .bind(&r.secret_sealed)
                    .bind(r.created_at)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::ForeignKeyViolation) => {
                        Err($crate::StoreError::Conflict(format!(
                            "integration `{}` does not exist (any more)",
                            r.integration_id.as_deref().unwrap_or_default()
                        )))
                    }
                    Err(e) => Err($crate::error::database_error(e)),
                }
            }

            async fn get_webhook(&self, id: &str) -> Result<Option<$crate::events::WebhookRecord>, $crate::StoreError> {
                use $crate::events::*;
                let row = sqlx::query_as::<$db, WebhookRow>(SELECT_WEBHOOK)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(row.map(webhook_of))
            }

            async fn list_webhooks(&self) -> Result<Vec<$crate::events::WebhookRecord>, $crate::StoreError> {
                use $crate::events::*;
                let rows = sqlx::query_as::<$db, WebhookRow>(LIST_WEBHOOKS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(rows.into_iter().map(webhook_of).collect())
            }

            async fn delete_webhook(&self, id: &str) -> Result<(), $crate::StoreError> {
                use $crate::events::*;
                let done = sqlx::query::<$db>(DELETE_WEBHOOK)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }

            async fn claim_deliveries(
                &self,
                now: i64,
                leased_until: i64,
                limit: i64,
            ) -> Result<Vec<$crate::events::ClaimedDelivery>, $crate::StoreError> {
                use $crate::events::*;
                let due = sqlx::query_as::<$db, (i64,)>(ANY_DUE)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                if due.is_none() {
                    return Ok(Vec::new());
                }
                let claimed = sqlx::query_as::<$db, (i64, String, i64)>(CLAIM_DELIVERIES)
                    .bind(now)
                    .bind(leased_until)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                let mut out = Vec::with_capacity(claimed.len());
                for (seq, webhook_id, attempt) in claimed {
                    type Joined = (
                        i64,
                        String,
                        String,
                        String,
                        String,
                        Option<String>,
                        i64,
                        String,
                        Option<String>,
                        String,
                        Vec<u8>,
                        i64,
                    );
                    let row = sqlx::query_as::<$db, Joined>(SELECT_CLAIMED)
                        .bind(seq)
                        .bind(&webhook_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::error::database_error)?;
                    // Gone with its webhook since the claim: nothing to send.
                    let Some((s, t, c, i, st, le, at, wid, wint, url, secret, created)) = row else { continue };
                    out.push(ClaimedDelivery {
                        event: event_of((s, t, c, i, st, le, at)),
                        webhook: webhook_of((wid, wint, url, secret, created)),
                        attempt,
                    });
                }
                Ok(out)
            }

            async fn record_attempt(
                &self,
                event_seq: i64,
                webhook_id: &str,
                outcome: &$crate::events::AttemptOutcome,
            ) -> Result<(), $crate::StoreError> {
                use $crate::events::*;
                sqlx::query::<$db>(RECORD_ATTEMPT)
                    .bind(event_seq)
                    .bind(webhook_id)
                    .bind(outcome.state)
                    .bind(outcome.next_attempt_at)
                    .bind(outcome.status)
                    .bind(outcome.error.as_deref())
                    .bind(outcome.delivered_at)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(())
            }

            async fn prune_events(&self, before: i64) -> Result<u64, $crate::StoreError> {
                let done = sqlx::query::<$db>($crate::events::PRUNE_EVENTS)
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(done.rows_affected())
            }

            async fn list_events(
                &self,
                connection_id: Option<&str>,
                limit: i64,
            ) -> Result<Vec<($crate::events::EventRecord, Vec<$crate::events::DeliveryRecord>)>, $crate::StoreError>
            {
                use $crate::events::*;
                let events = sqlx::query_as::<$db, EventRow>(LIST_EVENTS)
                    .bind(connection_id.unwrap_or_default())
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                let Some(oldest) = events.iter().map(|e| e.0).min() else { return Ok(Vec::new()) };
                let deliveries = sqlx::query_as::<$db, DeliveryRow>(LIST_DELIVERIES_FROM)
                    .bind(oldest)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(join_deliveries(events, deliveries))
            }
        }
    };
}
pub(crate) use impl_outbox;
