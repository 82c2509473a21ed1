//! Connection lifecycle events: the webhooks admins register, the delivery log, and the
//! dispatcher every replica runs.
//!
//! The events are written by the database itself (triggers on `connections`, see the store's
//! `*_events.sql` migrations), in the transaction of the change, with a pending delivery per
//! matching webhook: a committed change always has its event, and a crash loses none. Any
//! replica's dispatcher claims due deliveries with a lease, so each attempt is made by one
//! replica; a failed attempt is retried with exponential backoff until the event is
//! [`EventSettings::retry_for`] old. Deliveries go through the egress client, whose rules
//! (`blocked_networks`, plain http) apply at each send, not only at registration.

use std::sync::{Arc, Weak};
use std::time::Duration;

use hmac::{Hmac, Mac};
use keyway_store::{AttemptOutcome, ClaimedDelivery, DeliveryRecord, EventRecord, Outbox as _, WebhookRecord, new_id};
use sha2::Sha256;
use url::Url;

use super::model::{DeliveryView, EventBody, EventView, WebhookCreated, WebhookInput, WebhookView};
use super::{Service, ServiceError, now, require_admin, rfc3339};
use crate::egress::{Allowlist, OutboundRequest};
use crate::integration::FieldError;
use crate::keys::Principal;
use crate::redact::Redactor;
use crate::trace::Recorder;

/// When events are delivered and for how long they are retried.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// The wait after the first failed attempt; each later one doubles it.
    pub first_retry: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// An event still undelivered this long after it happened is given up (`failed`).
    pub retry_for: Duration,
    /// How often each replica looks for due deliveries.
    pub poll: Duration,
    /// How long a claimed delivery is reserved for the replica sending it; longer than the
    /// egress timeout, so only a replica that died mid-send loses its claim.
    pub lease: Duration,
    /// Events older than this leave the log once no delivery of theirs is pending.
    pub keep_for: Duration,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(1),
            max_backoff: Duration::from_secs(600),
            retry_for: Duration::from_secs(24 * 3600),
            poll: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            keep_for: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// The header carrying a delivery's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "keyway-signature";

/// The most events one `GET /api/v1/events` returns.
pub const MAX_LISTED: u32 = 500;

/// How many deliveries one pass claims.
const BATCH: i64 = 16;

fn secret_context(webhook_id: &str) -> String {
    format!("webhook:{webhook_id}:secret")
}

/// The signature of `body` sent at `timestamp` under `secret`: HMAC-SHA256 over
/// `"{timestamp}.{body}"`, as `t=<timestamp>,v1=<hex>`. A receiver recomputes it and refuses a
/// timestamp too far from its clock, so a captured delivery cannot be replayed later.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

impl Service {
    /// Registers a webhook (admin). Its URL must be one the egress rules let out; its signing
    /// secret is returned this once.
    pub async fn create_webhook(&self, who: &Principal, input: WebhookInput) -> Result<WebhookCreated, ServiceError> {
        require_admin(who, "managing webhooks")?;
        let url = Url::parse(input.url.trim()).map_err(|e| {
            FieldError::new(
                "url",
                format!("`url` must be an absolute URL such as https://hooks.example.com/keyway: {e}"),
            )
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FieldError::new("url", "put no credentials in `url`: deliveries are signed instead").into());
        }
        self.flows
            .egress()
            .check_destination(&url)
            .await
            .map_err(|e| FieldError::new("url", format!("events cannot be sent to this URL: {e}")))?;
        if let Some(id) = &input.integration_id {
            self.integration_record(id).await.map_err(|_| {
                FieldError::new(
                    "integration_id",
                    format!("no integration `{id}`; omit it to receive every integration's events"),
                )
            })?;
        }
        let id = new_id("whk");
        let secret = crate::crypto::random_token("whsec_");
        let record = WebhookRecord {
            id: id.clone(),
            integration_id: input.integration_id,
            url: url.to_string(),
            secret_sealed: self.sealer.seal(&secret_context(&id), secret.as_bytes()),
            created_at: now(),
        };
        self.store.insert_webhook(&record).await?;
        Ok(WebhookCreated { webhook: webhook_view(&record), secret })
    }

    /// Every webhook (admin), never their secrets.
    pub async fn list_webhooks(&self, who: &Principal) -> Result<Vec<WebhookView>, ServiceError> {
        require_admin(who, "managing webhooks")?;
        Ok(self.store.list_webhooks().await?.iter().map(webhook_view).collect())
    }

    /// Removes a webhook and its pending deliveries (admin).
    pub async fn delete_webhook(&self, who: &Principal, id: &str) -> Result<(), ServiceError> {
        require_admin(who, "managing webhooks")?;
        self.store.delete_webhook(id).await.map_err(|e| match e {
            keyway_store::StoreError::NotFound => ServiceError::NotFound(format!("no webhook `{id}`")),
            other => other.into(),
        })
    }

    /// The newest events (admin), of one connection when `connection_id` is given, each with
    /// its deliveries: attempts, state, the last answer's status.
    pub async fn list_events(
        &self,
        who: &Principal,
        connection_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventView>, ServiceError> {
        require_admin(who, "reading the event log")?;
        if !(1..=MAX_LISTED).contains(&limit) {
            return Err(
                FieldError::new("limit", format!("`limit` is {limit}; ask for 1 to {MAX_LISTED} events")).into()
            );
        }
        let listed = self.store.list_events(connection_id, i64::from(limit)).await?;
        Ok(listed
            .into_iter()
            .map(|(event, deliveries)| EventView {
                event: event_body(&event),
                deliveries: deliveries.iter().map(delivery_view).collect(),
            })
            .collect())
    }

    /// A connection's newest events, for anyone who may use the connection: its timeline of
    /// state changes, refreshes and errors. Deliveries are left out; they are the admin's.
    pub async fn connection_activity(
        &self,
        who: &Principal,
        connection_id: &str,
        limit: u32,
    ) -> Result<Vec<EventBody>, ServiceError> {
        self.get_connection(who, connection_id).await?;
        let limit = limit.clamp(1, MAX_LISTED);
        let listed = self.store.list_events(Some(connection_id), i64::from(limit)).await?;
        Ok(listed.iter().map(|(event, _)| event_body(event)).collect())
    }

    /// One pass of the dispatcher: claims the due deliveries and makes one attempt at each,
    /// side by side. Returns how many it claimed.
    pub async fn deliver_due_events(self: &Arc<Self>) -> Result<usize, ServiceError> {
        let at = now();
        let lease = self.settings.events.lease.as_secs() as i64;
        let claimed = self.store.claim_deliveries(at, at + lease, BATCH).await?;
        let count = claimed.len();
        let mut sending = tokio::task::JoinSet::new();
        for delivery in claimed {
            let service = self.clone();
            sending.spawn(async move { service.attempt(delivery).await });
        }
        while let Some(done) = sending.join_next().await {
            match done {
                Ok(Err(e)) => tracing::warn!("recording a webhook delivery: {e}"),
                Err(e) => tracing::error!("a webhook delivery task failed: {e}"),
                Ok(Ok(())) => {}
            }
        }
        Ok(count)
    }

    /// One attempt at one delivery, and its outcome recorded.
    async fn attempt(&self, delivery: ClaimedDelivery) -> Result<(), ServiceError> {
        let ClaimedDelivery { event, webhook, attempt } = delivery;
        let body = serde_json::to_string(&event_body(&event)).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let secret = match self.sealer.open(&secret_context(&webhook.id), &webhook.secret_sealed) {
            Ok(secret) => secret,
            // Nothing can be signed: record why, so the log says it, rather than leave the
            // delivery leased and silent.
            Err(e) => {
                let error =
                    format!("the webhook's secret cannot be opened ({e}); delete the webhook and register it again");
                let outcome = self.failed_attempt(&event, attempt, None, error);
                return Ok(self.store.record_attempt(event.seq, &webhook.id, &outcome).await?);
            }
        };
        let sent_at = now();
        let request = OutboundRequest {
            method: "POST".into(),
            url: webhook.url.clone(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("keyway-event-id".into(), event_id(event.seq)),
                ("keyway-event-type".into(), event.event_type.clone()),
                (SIGNATURE_HEADER.into(), signature(&String::from_utf8_lossy(&secret), sent_at, &body)),
            ],
            body: Some(body.into_bytes()),
        };
        let mut allowlist = Allowlist::default();
        let outcome = match allowlist.allow(&webhook.url) {
            Err(e) => Err((None, format!("the webhook URL cannot be called: {e}"))),
            Ok(()) => {
                match self.flows.egress().send(&allowlist, &request, &Redactor::default(), &Recorder::off()).await {
                    Ok(answer) if (200..300).contains(&answer.status) => Ok(answer.status),
                    Ok(answer) => {
                        let answered = String::from_utf8_lossy(&answer.body);
                        let text = keyway_policy::text::clip(&answered, 200);
                        Err((Some(answer.status), format!("the receiver answered HTTP {}: {text}", answer.status)))
                    }
                    Err(e) => Err((None, e.to_string())),
                }
            }
        };
        let done = now();
        let outcome = match outcome {
            Ok(status) => AttemptOutcome {
                state: "delivered",
                next_attempt_at: done,
                status: Some(i64::from(status)),
                error: None,
                delivered_at: Some(done),
            },
            Err((status, error)) => {
                tracing::warn!(
                    event = event_id(event.seq),
                    webhook = webhook.id,
                    attempt,
                    "webhook delivery failed: {error}"
                );
                self.failed_attempt(&event, attempt, status, error)
            }
        };
        self.store.record_attempt(event.seq, &webhook.id, &outcome).await?;
        Ok(())
    }

    /// A failed attempt's outcome: retried after the backoff, or given up once the event is
    /// older than `retry_for` by then.
    fn failed_attempt(&self, event: &EventRecord, attempt: i64, status: Option<u16>, error: String) -> AttemptOutcome {
        let next = now() + self.backoff(attempt).as_secs() as i64;
        let give_up = next > event.at + self.settings.events.retry_for.as_secs() as i64;
        AttemptOutcome {
            state: if give_up { "failed" } else { "pending" },
            next_attempt_at: next,
            status: status.map(i64::from),
            error: Some(error),
            delivered_at: None,
        }
    }

    /// Drops the events older than [`EventSettings::keep_for`] whose deliveries are all done.
    pub async fn prune_events(&self) -> Result<u64, ServiceError> {
        Ok(self.store.prune_events(now() - self.settings.events.keep_for.as_secs() as i64).await?)
    }

    /// The wait after `attempts` failed attempts.
    fn backoff(&self, attempts: i64) -> Duration {
        let settings = &self.settings.events;
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(20);
        settings.first_retry.saturating_mul(1 << doublings).min(settings.max_backoff)
    }
}

/// Every replica's delivery loop, for as long as the service lives.
pub async fn dispatch(service: Weak<Service>) {
    loop {
        let Some(service) = service.upgrade() else { return };
        let poll = service.settings.events.poll;
        match service.deliver_due_events().await {
            // A full batch: more may be due.
            Ok(n) if n as i64 == BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!("looking for due webhook deliveries: {e}"),
        }
        drop(service);
        tokio::time::sleep(poll).await;
    }
}

fn event_id(seq: i64) -> String {
    format!("evt_{seq}")
}

fn event_body(e: &EventRecord) -> EventBody {
    EventBody {
        id: event_id(e.seq),
        event_type: e.event_type.clone(),
        connection_id: e.connection_id.clone(),
        integration_id: e.integration_id.clone(),
        at: rfc3339(e.at),
        status: e.status.clone(),
        last_error: e.last_error.clone(),
    }
}

fn webhook_view(r: &WebhookRecord) -> WebhookView {
    WebhookView {
        id: r.id.clone(),
        url: r.url.clone(),
        integration_id: r.integration_id.clone(),
        created_at: rfc3339(r.created_at),
    }
}

fn delivery_view(d: &DeliveryRecord) -> DeliveryView {
    DeliveryView {
        webhook_id: d.webhook_id.clone(),
        state: d.state.clone(),
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error.clone(),
        next_attempt_at: (d.state == "pending").then(|| rfc3339(d.next_attempt_at)),
        delivered_at: d.delivered_at.map(rfc3339),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() {
        // The README's verification recipe computes the same value in Python:
        // hmac.new(b"whsec_test", b'1733200000.{"id":"evt_1"}', hashlib.sha256).hexdigest()
        assert_eq!(
            signature("whsec_test", 1_733_200_000, r#"{"id":"evt_1"}"#),
            "t=1733200000,v1=c810da17bd951baf4d87d78184c94c7c47fbc0e43a1f6f41ebc0401a90c5ccbe"
        );
        assert_ne!(
            signature("whsec_test", 1_733_200_001, r#"{"id":"evt_1"}"#),
            signature("whsec_test", 1_733_200_000, r#"{"id":"evt_1"}"#),
            "the timestamp is signed"
        );
    }
}
