//! The hot-path cache: API keys, integrations, connections and declarative actions, kept in
//! memory so that an API request or an action run reads no SQL.
//!
//! Correctness rules, in order:
//! - **Written through.** The service drops an entry right after every change it commits, so
//!   the replica that made a change never uses the old row again.
//! - **Invalidated across replicas** by the store's change feed ([`keyway_store::changes`]):
//!   PostgreSQL `LISTEN/NOTIFY` from triggers, SQLite's `data_version`. Entries are trusted only
//!   while the feed is live; while it is down, every use reads the store, and when it comes back
//!   the cache starts empty.
//! - **No stale fill.** A reader that read a row before a change was committed must not put it
//!   back after the change dropped it: each map has a generation, bumped by every drop, and a
//!   fill only lands if the generation is still the one seen before the store was read.
//! - **Refreshes bypass it.** A refresh reads the connection from the store under its lock:
//!   with rotating refresh tokens, a stale refresh token would end the grant.
//!
//! Rows are cached as the store returns them, so secrets stay sealed in memory: the service
//! opens a connection's credentials and an integration's client secret per use, and drops them
//! with the request.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use keyway_store::{ActionRecord, ApiKeyRecord, Change, ConnectionRecord, IntegrationRecord, Store, StoreError, Watch};

/// Entries per kind by default: past this, an arbitrary entry makes room.
pub const DEFAULT_ENTRIES: usize = 10_000;

/// The cache. One per service.
#[derive(Debug)]
pub(crate) struct HotCache {
    /// Whether the change feed is live: only then are entries trusted.
    live: AtomicBool,
    capacity: usize,
    /// API keys, by hash.
    pub(crate) keys: Map<String, ApiKeyRecord>,
    /// Integrations, by id.
    pub(crate) integrations: Map<String, IntegrationRecord>,
    /// Connections, by id.
    pub(crate) connections: Map<String, ConnectionRecord>,
    /// Declarative actions, by integration id and name.
    pub(crate) actions: Map<(String, String), ActionRecord>,
}

/// A fill ticket: the generation seen before the store was read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

/// One kind of cached row.
#[derive(Debug)]
pub(crate) struct Map<K, V> {
    entries: RwLock<HashMap<K, Arc<V>>>,
    generation: AtomicU64,
}

impl<K: Eq + Hash + Clone, V> Map<K, V> {
    fn new() -> Self {
        Self { entries: RwLock::new(HashMap::new()), generation: AtomicU64::new(0) }
    }

    fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
    {
        self.entries.read().expect("cache map").get(key).cloned()
    }

    fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    fn fill(&self, ticket: Ticket, key: K, value: Arc<V>, capacity: usize) {
        let mut entries = self.entries.write().expect("cache map");
        // Checked under the lock that drops take too, so no drop can slip in between.
        if self.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.len() >= capacity
            && !entries.contains_key(&key)
            && let Some(victim) = entries.keys().next().cloned()
        {
            entries.remove(&victim);
        }
        entries.insert(key, value);
    }

    fn drop_where(&self, mut stale: impl FnMut(&K) -> bool) {
        let mut entries = self.entries.write().expect("cache map");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|k, _| !stale(k));
    }

    fn drop_key(&self, key: &K) {
        let mut entries = self.entries.write().expect("cache map");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(key);
    }

    fn clear(&self) {
        self.drop_where(|_| true);
    }
}

impl HotCache {
    /// An empty cache, not yet trusted: [`HotCache::follow`] makes it live.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            live: AtomicBool::new(false),
            capacity: capacity.max(1),
            keys: Map::new(),
            integrations: Map::new(),
            connections: Map::new(),
            actions: Map::new(),
        }
    }

    /// Follows the store's change feed for as long as the cache exists.
    pub(crate) fn follow(cache: &Arc<HotCache>, store: &dyn Store) {
        let mut feed = store.watch();
        let cache: Weak<HotCache> = Arc::downgrade(cache);
        tokio::spawn(async move {
            while let Some(event) = feed.recv().await {
                let Some(cache) = cache.upgrade() else { return };
                cache.apply(event);
            }
        });
    }

    /// Applies one event of the change feed.
    pub(crate) fn apply(&self, event: Watch) {
        match event {
            Watch::Live => {
                // Changes may have been missed before the feed was live: start empty.
                self.clear();
                self.live.store(true, Ordering::Release);
                tracing::debug!("hot-path cache: following the change feed");
            }
            Watch::Lost(why) => {
                self.live.store(false, Ordering::Release);
                self.clear();
                tracing::warn!(
                    "hot-path cache off until the change feed is back (every request reads the database meanwhile): {why}"
                );
            }
            Watch::Changed(change) => self.changed(&change),
        }
    }

    /// Drops what `change` names. The service calls this after every change it commits.
    pub(crate) fn changed(&self, change: &Change) {
        match change {
            Change::ApiKey(hash) => self.keys.drop_key(hash),
            Change::Integration(id) => {
                self.integrations.drop_key(id);
                // An integration's deletion takes its actions with it.
                self.actions.drop_where(|(integration, _)| integration == id);
            }
            Change::Connection(id) => self.connections.drop_key(id),
            Change::Action { integration_id, name } => self.actions.drop_key(&(integration_id.clone(), name.clone())),
            Change::Everything => self.clear(),
        }
    }

    fn clear(&self) {
        self.keys.clear();
        self.integrations.clear();
        self.connections.clear();
        self.actions.clear();
    }

    fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// The row under `key` in `map`; `None` (a miss, or a cache that is not live) means: read
    /// the store.
    pub(crate) fn lookup<K, Q, V>(&self, map: &Map<K, V>, key: &Q) -> Option<Arc<V>>
    where
        K: Eq + Hash + Clone + Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if self.is_live() { map.get(key) } else { None }
    }

    /// The ticket to take before reading the store for `map`.
    pub(crate) fn ticket<K: Eq + Hash + Clone, V>(&self, map: &Map<K, V>) -> Ticket {
        map.ticket()
    }

    /// Keeps what the store returned, unless a change was dropped since `ticket` was taken.
    pub(crate) fn fill<K: Eq + Hash + Clone, V>(&self, map: &Map<K, V>, ticket: Ticket, key: K, value: Arc<V>) {
        if self.is_live() {
            map.fill(ticket, key, value, self.capacity);
        }
    }

    /// The row under `key` in `map`, else what `fetch` reads from the store, kept for next time.
    /// `name` is the map's label in the hit and miss counters ([`crate::metrics::cache_lookup`]).
    /// A hit, which every request makes three times, neither copies the key nor builds the
    /// store's query: both happen only on a miss.
    pub(crate) async fn read_through<K, Q, V, Fut>(
        &self,
        name: &'static str,
        map: &Map<K, V>,
        key: &Q,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Option<Arc<V>>, StoreError>
    where
        K: Eq + Hash + Clone + Borrow<Q>,
        Q: Eq + Hash + ToOwned<Owned = K> + ?Sized,
        Fut: Future<Output = Result<Option<V>, StoreError>>,
    {
        let hit = self.lookup(map, key);
        crate::metrics::cache_lookup(name, hit.is_some());
        if let Some(hit) = hit {
            return Ok(Some(hit));
        }
        let ticket = self.ticket(map);
        let Some(found) = fetch().await? else { return Ok(None) };
        let found = Arc::new(found);
        self.fill(map, ticket, key.to_owned(), found.clone());
        Ok(Some(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(name: &str) -> Arc<ActionRecord> {
        Arc::new(ActionRecord {
            integration_id: "int_1".into(),
            name: name.into(),
            definition: "{}".into(),
            created_at: 0,
            updated_at: 0,
        })
    }

    fn key(name: &str) -> (String, String) {
        ("int_1".into(), name.into())
    }

    #[test]
    fn nothing_is_cached_or_served_until_the_feed_is_live() {
        let cache = HotCache::new(10);
        let ticket = cache.ticket(&cache.actions);
        cache.fill(&cache.actions, ticket, key("a"), action("a"));
        assert!(cache.lookup(&cache.actions, &key("a")).is_none());
        cache.apply(Watch::Live);
        let ticket = cache.ticket(&cache.actions);
        cache.fill(&cache.actions, ticket, key("a"), action("a"));
        assert!(cache.lookup(&cache.actions, &key("a")).is_some());
        cache.apply(Watch::Lost("test".into()));
        assert!(cache.lookup(&cache.actions, &key("a")).is_none(), "a lost feed serves nothing");
        cache.apply(Watch::Live);
        assert!(cache.lookup(&cache.actions, &key("a")).is_none(), "and comes back empty");
    }

    #[test]
    fn a_fill_that_read_before_a_change_does_not_land() {
        let cache = HotCache::new(10);
        cache.apply(Watch::Live);
        let ticket = cache.ticket(&cache.actions);
        // The row changes (and is dropped) while this reader is at the store.
        cache.changed(&Change::Action { integration_id: "int_1".into(), name: "a".into() });
        cache.fill(&cache.actions, ticket, key("a"), action("a"));
        assert!(cache.lookup(&cache.actions, &key("a")).is_none());
    }

    #[test]
    fn changes_drop_what_they_name_and_an_integration_takes_its_actions() {
        let cache = HotCache::new(10);
        cache.apply(Watch::Live);
        for name in ["a", "b"] {
            cache.fill(&cache.actions, cache.ticket(&cache.actions), key(name), action(name));
        }
        cache.changed(&Change::Action { integration_id: "int_1".into(), name: "a".into() });
        assert!(cache.lookup(&cache.actions, &key("a")).is_none() && cache.lookup(&cache.actions, &key("b")).is_some());
        cache.changed(&Change::Integration("int_1".into()));
        assert!(cache.lookup(&cache.actions, &key("b")).is_none());
    }

    #[test]
    fn the_capacity_bounds_each_map() {
        let cache = HotCache::new(2);
        cache.apply(Watch::Live);
        for name in ["a", "b", "c"] {
            cache.fill(&cache.actions, cache.ticket(&cache.actions), key(name), action(name));
        }
        let kept = ["a", "b", "c"].iter().filter(|n| cache.lookup(&cache.actions, &key(n)).is_some()).count();
        assert_eq!(kept, 2);
        assert!(cache.lookup(&cache.actions, &key("c")).is_some(), "the newest entry is kept");
    }

    #[tokio::test]
    async fn a_hit_asks_nothing_of_the_store_and_a_miss_reads_it_once_and_keeps_it() {
        let cache = HotCache::new(10);
        cache.apply(Watch::Live);
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(Some((*action("a")).clone()))
        };
        let first = cache.read_through("test", &cache.actions, &key("a"), read).await.unwrap().unwrap();
        let again = cache.read_through("test", &cache.actions, &key("a"), read).await.unwrap().unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 1, "the second use was a hit");
        assert!(Arc::ptr_eq(&first, &again));
        let absent = cache.read_through("test", &cache.actions, &key("b"), || async { Ok(None) }).await.unwrap();
        assert!(absent.is_none() && cache.lookup(&cache.actions, &key("b")).is_none(), "nothing is kept for a miss");
    }
}
