//! Who may run a plugin call now: each integration has its own quota of concurrent calls,
//! under a host-wide cap that no integration can fill alone, and a caller waits a bounded
//! time for a slot.
//!
//! The quota is per integration, not per plugin: the standard and declarative components are
//! shared by every tenant, so a plugin-wide quota would let one tenant's slow API stall all
//! the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Above this many remembered integrations, the idle ones are forgotten: an idle quota is a
/// full semaphore, and a new one is equal to it.
const REMEMBERED: usize = 1024;

/// A running call's slots; dropping it frees them.
pub(crate) struct Slot {
    _integration: Option<OwnedSemaphorePermit>,
    _host: OwnedSemaphorePermit,
}

/// Why no slot was free in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Full {
    /// The integration's own quota.
    Integration(usize),
    /// The host-wide cap.
    Host(usize),
}

pub(crate) struct Quotas {
    per_integration: usize,
    host_cap: usize,
    wait: Duration,
    host: Arc<Semaphore>,
    integrations: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Quotas {
    /// `per_integration` is kept below `host_cap` (unless the host allows one call only), so
    /// that one integration always leaves room for the others.
    pub(crate) fn new(host_cap: usize, per_integration: usize, wait: Duration) -> Self {
        let host_cap = host_cap.max(1);
        let per_integration = per_integration.clamp(1, host_cap.saturating_sub(1).max(1));
        Self {
            per_integration,
            host_cap,
            wait,
            host: Arc::new(Semaphore::new(host_cap)),
            integrations: Mutex::new(HashMap::new()),
        }
    }

    /// How long a caller waits for a slot.
    pub(crate) fn wait(&self) -> Duration {
        self.wait
    }

    /// A slot for a call on `integration` (`""`: not on behalf of one, such as reading a
    /// manifest at install, which only the host cap bounds), waiting at most the configured
    /// time for both.
    pub(crate) async fn acquire(&self, integration: &str) -> Result<Slot, Full> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let own = if integration.is_empty() {
            None
        } else {
            let quota = self.quota_of(integration);
            let permit = tokio::time::timeout_at(deadline, quota.acquire_owned())
                .await
                .map_err(|_| Full::Integration(self.per_integration))?
                .expect("quota semaphores are never closed");
            Some(permit)
        };
        let host = tokio::time::timeout_at(deadline, self.host.clone().acquire_owned())
            .await
            .map_err(|_| Full::Host(self.host_cap))?
            .expect("the host semaphore is never closed");
        Ok(Slot { _integration: own, _host: host })
    }

    fn quota_of(&self, integration: &str) -> Arc<Semaphore> {
        let mut map = self.integrations.lock().expect("quota map");
        if let Some(quota) = map.get(integration) {
            return quota.clone();
        }
        if map.len() >= REMEMBERED {
            // Held or awaited permits keep a clone of their semaphore: only the map holds an
            // idle one.
            map.retain(|_, quota| Arc::strong_count(quota) > 1);
        }
        let quota = Arc::new(Semaphore::new(self.per_integration));
        map.insert(integration.to_string(), quota.clone());
        quota
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.integrations.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_integration_cannot_take_every_slot_and_waits_are_bounded() {
        let quotas = Quotas::new(3, 2, Duration::from_millis(50));
        let a1 = quotas.acquire("a").await.unwrap();
        let _a2 = quotas.acquire("a").await.unwrap();
        assert_eq!(quotas.acquire("a").await.err(), Some(Full::Integration(2)), "a's third call is refused");
        let _b = quotas.acquire("b").await.expect("b still gets the slot a could not take");
        assert_eq!(quotas.acquire("c").await.err(), Some(Full::Host(3)));
        drop(a1);
        quotas.acquire("c").await.expect("a freed slot is usable again");
    }

    #[test]
    fn the_quota_stays_below_the_host_cap() {
        assert_eq!(Quotas::new(4, 10, Duration::ZERO).per_integration, 3);
        assert_eq!(Quotas::new(1, 10, Duration::ZERO).per_integration, 1);
    }

    #[tokio::test]
    async fn idle_integrations_are_forgotten() {
        let quotas = Quotas::new(4, 2, Duration::from_secs(1));
        let held = quotas.acquire("busy").await.unwrap();
        for i in 0..REMEMBERED + 10 {
            drop(quotas.acquire(&format!("idle-{i}")).await.unwrap());
        }
        assert!(quotas.remembered() <= REMEMBERED, "{}", quotas.remembered());
        assert!(quotas.integrations.lock().unwrap().contains_key("busy"), "a held quota is kept");
        drop(held);
    }
}
