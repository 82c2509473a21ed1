//! The store, one suite for both backends: every `check_*` runs on SQLite (a real file in a
//! temporary directory) and on PostgreSQL (a fresh database from `keyway_tests::postgres`; with
//! `CI=true` a missing PostgreSQL fails these tests instead of skipping them).

use std::sync::Arc;

use keyway_store::{
    ActionRecord, ApiKeyRecord, ConnectionRecord, ConnectionStatus, ConsoleSessionRecord, FailedExchangeRecord,
    IntegrationRecord, PendingFlowRecord, PluginRecord, Store, StoreError,
};
use keyway_store::{Change, Watch};
use keyway_tests::postgres::TestDatabase;
use serde_json::json;
use tokio::sync::Barrier;

/// A store, and what keeps its database alive: the SQLite file's directory, or the PostgreSQL
/// test database.
struct Backend {
    store: Arc<dyn Store>,
    url: String,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDatabase>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("keyway.db").display());
    let store = keyway_store::connect(&url).await.expect("SQLite store opens");
    assert_eq!(store.backend(), "sqlite");
    Backend { store, url, _dir: Some(dir), _db: None }
}

/// `None` when PostgreSQL tests are skipped (outside CI, the harness has said why).
async fn postgres() -> Option<Backend> {
    let db = keyway_tests::postgres::test_database().await?;
    let store = keyway_store::connect(&db.url).await.expect("PostgreSQL store connects");
    assert_eq!(store.backend(), "postgres");
    Some(Backend { store, url: db.url.clone(), _dir: None, _db: Some(db) })
}

/// One test per backend for each check: `store::sqlite::check_x` and `store::postgres::check_x`.
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let backend = super::sqlite().await;
                    super::$check(backend.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(backend) = super::postgres().await else { return };
                    super::$check(backend.store.clone()).await;
                }
            )*
        }
    };
}

on_both_backends!(
    check_integration_round_trip,
    check_duplicate_integration_name_is_a_conflict,
    check_integration_in_use_cannot_be_deleted,
    check_connection_round_trip,
    check_connection_needs_an_existing_integration,
    check_deleting_a_connection_deletes_its_flows_and_lease,
    check_pending_flow_is_single_use,
    check_concurrent_takers_get_a_flow_once,
    check_expired_flows_are_deleted,
    check_connections_whose_refresh_token_expired_are_marked,
    check_refresh_lease_has_one_holder,
    check_concurrent_lease_acquirers_get_one_lease,
    check_api_keys,
    check_plugins_are_content_addressed,
    check_actions_are_unique_per_integration_and_go_with_it,
    check_console_sessions_and_failed_exchanges,
);

// ---------------------------------------------------------------------------------------------
// Records

fn integration(id: &str, name: &str, created_at: i64) -> IntegrationRecord {
    IntegrationRecord {
        id: id.into(),
        name: name.into(),
        auth_method: "oauth2".into(),
        plugin: "standard-oauth2".into(),
        client_id: format!("client-{id}"),
        // Every byte value, including the ones text columns would mangle.
        client_secret_sealed: Some((0..=255u8).rev().chain([0, 0, 0xff]).collect()),
        site: "https://app.example".into(),
        authorization_url: "https://app.example/oauth/authorize".into(),
        token_path: "/oauth/token".into(),
        revoke_path: Some("/oauth/revoke".into()),
        scopes: vec!["read".into(), "write:all".into(), "ünïcødé".into()],
        client_auth: "basic_and_post".into(),
        issuer: Some("https://app.example".into()),
        pkce: true,
        settings: json!({"nested": {"list": [1, 2.5, "three", null, true]}, "empty": {}, "quote": "a \"b\" 'c'"}),
        created_at,
        updated_at: created_at,
        secret_settings_sealed: Some(vec![0xff, 0, 7]),
        mcp_web_request: true,
    }
}

/// The same integration with every optional field empty.
fn bare_integration(id: &str, name: &str, created_at: i64) -> IntegrationRecord {
    IntegrationRecord {
        auth_method: "token".into(),
        client_secret_sealed: None,
        revoke_path: None,
        scopes: vec![],
        issuer: None,
        pkce: false,
        settings: json!(null),
        secret_settings_sealed: None,
        mcp_web_request: false,
        ..integration(id, name, created_at)
    }
}

fn connection(id: &str, integration_id: &str, created_at: i64) -> ConnectionRecord {
    ConnectionRecord {
        id: id.into(),
        integration_id: integration_id.into(),
        name: format!("connection {id}"),
        owner_key_id: "key_owner".into(),
        allowed_keys: vec!["key_b".into(), "key_a".into()],
        status: ConnectionStatus::Active,
        // Order and repeated names must survive.
        inputs: vec![("subdomain".into(), "acme".into()), ("region".into(), "eu".into())],
        metadata: vec![("z".into(), "last first".into()), ("a".into(), "1".into()), ("a".into(), "2".into())],
        scopes: Some(vec!["read".into()]),
        credentials_sealed: Some(vec![0, 1, 2, 0xfe, 0xff]),
        expires_at: Some(1_700_003_600),
        last_error: Some("the provider said: <b>slow down</b>".into()),
        next_retry_at: Some(1_700_000_060),
        created_at,
        updated_at: created_at,
        refresh_expires_at: Some(1_700_100_000),
    }
}

fn pending(state_hash: &str, connection_id: &str, expires_at: i64) -> PendingFlowRecord {
    PendingFlowRecord {
        state_hash: state_hash.into(),
        connection_id: connection_id.into(),
        verifier_sealed: Some(vec![9, 8, 7, 0]),
        redirect_uri: "http://127.0.0.1:8400/oauth".into(),
        expires_at,
        created_at: expires_at - 600,
    }
}

fn api_key(id: &str, role: &str, key_hash: &str, created_at: i64) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.into(),
        name: format!("{role} key {id}"),
        role: role.into(),
        key_hash: key_hash.into(),
        created_at,
        revoked_at: None,
    }
}

fn plugin(hash: &str, name: &str, bytes: Vec<u8>, created_at: i64) -> PluginRecord {
    PluginRecord { hash: hash.into(), name: name.into(), version: "1.2.3".into(), bytes, created_at }
}

/// An integration and a connection to hang flows and leases on.
async fn with_connection(store: &dyn Store, connection_id: &str) {
    if store.get_integration("int_base").await.unwrap().is_none() {
        store.insert_integration(&integration("int_base", "base", 1)).await.unwrap();
    }
    store.insert_connection(&connection(connection_id, "int_base", 2)).await.unwrap();
}

fn assert_conflict(result: Result<(), StoreError>, mentions: &str) {
    match result {
        Err(StoreError::Conflict(message)) => assert!(message.contains(mentions), "`{message}` lacks `{mentions}`"),
        other => panic!("expected a conflict mentioning `{mentions}`, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

async fn check_integration_round_trip(store: Arc<dyn Store>) {
    // Inserted newest first: lists are still oldest first, ties broken by id.
    let full = integration("int_b", "full", 200);
    let bare = bare_integration("int_c", "bare", 100);
    let tie = bare_integration("int_a", "tie", 200);
    for record in [&full, &bare, &tie] {
        store.insert_integration(record).await.unwrap();
    }

    assert_eq!(store.get_integration("int_b").await.unwrap().as_ref(), Some(&full));
    assert_eq!(store.get_integration("int_c").await.unwrap().as_ref(), Some(&bare));
    assert_eq!(store.get_integration_by_name("full").await.unwrap().as_ref(), Some(&full));
    assert_eq!(store.get_integration_by_name("Full").await.unwrap(), None, "names match exactly");
    assert_eq!(store.get_integration("int_missing").await.unwrap(), None);
    assert_eq!(store.list_integrations().await.unwrap(), vec![bare.clone(), tie, full.clone()]);

    // An update replaces every field but created_at; Some becomes None and back.
    let updated = IntegrationRecord {
        name: "renamed".into(),
        client_secret_sealed: None,
        revoke_path: None,
        scopes: vec!["only".into()],
        issuer: None,
        pkce: false,
        settings: json!(["now", "a", "list"]),
        created_at: 999_999,
        updated_at: 300,
        ..full.clone()
    };
    store.update_integration(&updated).await.unwrap();
    let read = store.get_integration("int_b").await.unwrap().unwrap();
    assert_eq!(read, IntegrationRecord { created_at: 200, ..updated.clone() });
    assert_eq!(store.get_integration_by_name("full").await.unwrap(), None, "the old name is free");
    let restored = IntegrationRecord { updated_at: 400, ..full.clone() };
    store.update_integration(&restored).await.unwrap();
    assert_eq!(store.get_integration("int_b").await.unwrap(), Some(restored));

    let missing = integration("int_missing", "missing", 1);
    assert_eq!(store.update_integration(&missing).await, Err(StoreError::NotFound));
    store.delete_integration("int_c").await.unwrap();
    assert_eq!(store.get_integration("int_c").await.unwrap(), None);
    assert_eq!(store.delete_integration("int_c").await, Err(StoreError::NotFound));
    assert_eq!(store.list_integrations().await.unwrap().len(), 2);
}

async fn check_duplicate_integration_name_is_a_conflict(store: Arc<dyn Store>) {
    store.insert_integration(&integration("int_1", "github", 1)).await.unwrap();
    store.insert_integration(&integration("int_2", "gitlab", 2)).await.unwrap();

    assert_conflict(store.insert_integration(&integration("int_3", "github", 3)).await, "named `github`");
    assert_conflict(store.update_integration(&integration("int_2", "github", 2)).await, "named `github`");
    assert_conflict(store.insert_integration(&integration("int_1", "other", 3)).await, "id `int_1`");

    let names: Vec<String> = store.list_integrations().await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["github", "gitlab"], "failed writes change nothing");
}

async fn check_integration_in_use_cannot_be_deleted(store: Arc<dyn Store>) {
    store.insert_integration(&integration("int_1", "busy", 1)).await.unwrap();
    store.insert_connection(&connection("con_1", "int_1", 2)).await.unwrap();
    store.insert_connection(&connection("con_2", "int_1", 3)).await.unwrap();

    assert_conflict(store.delete_integration("int_1").await, "delete its 2 connections first");
    store.delete_connection("con_1").await.unwrap();
    assert_conflict(store.delete_integration("int_1").await, "delete its 1 connection first");
    assert!(store.get_integration("int_1").await.unwrap().is_some());

    store.delete_connection("con_2").await.unwrap();
    store.delete_integration("int_1").await.unwrap();
    assert_eq!(store.get_integration("int_1").await.unwrap(), None);
}

async fn check_connection_round_trip(store: Arc<dyn Store>) {
    store.insert_integration(&integration("int_1", "one", 1)).await.unwrap();
    store.insert_integration(&integration("int_2", "two", 1)).await.unwrap();
    let full = connection("con_b", "int_1", 20);
    // Empty lists and "no scopes said" (None) are different from "no scopes granted" (Some([])).
    let bare = ConnectionRecord {
        allowed_keys: vec![],
        status: ConnectionStatus::Pending,
        inputs: vec![],
        metadata: vec![],
        scopes: None,
        credentials_sealed: None,
        expires_at: None,
        last_error: None,
        next_retry_at: None,
        ..connection("con_a", "int_2", 20)
    };
    let no_scopes = ConnectionRecord { scopes: Some(vec![]), ..connection("con_c", "int_1", 10) };
    for record in [&full, &bare, &no_scopes] {
        store.insert_connection(record).await.unwrap();
    }

    assert_eq!(store.get_connection("con_b").await.unwrap().as_ref(), Some(&full));
    assert_eq!(store.get_connection("con_a").await.unwrap().as_ref(), Some(&bare));
    assert_eq!(store.get_connection("con_c").await.unwrap().as_ref(), Some(&no_scopes));
    assert_eq!(store.get_connection("con_missing").await.unwrap(), None);
    assert_eq!(store.list_connections().await.unwrap(), vec![no_scopes.clone(), bare.clone(), full.clone()]);

    // The refresh path: new credentials, a retry waiting, then reauthorization needed.
    for status in ConnectionStatus::ALL {
        let updated = ConnectionRecord {
            status,
            credentials_sealed: Some(status.as_str().as_bytes().to_vec()),
            last_error: None,
            next_retry_at: None,
            expires_at: None,
            metadata: vec![("instance_url".into(), "https://eu.example".into())],
            scopes: None,
            allowed_keys: vec!["key_c".into()],
            created_at: 0,
            updated_at: 30,
            ..full.clone()
        };
        store.update_connection(&updated).await.unwrap();
        let read = store.get_connection("con_b").await.unwrap().unwrap();
        assert_eq!(read, ConnectionRecord { created_at: 20, ..updated });
    }

    assert_eq!(store.update_connection(&connection("con_missing", "int_1", 1)).await, Err(StoreError::NotFound));
    assert_conflict(store.insert_connection(&connection("con_a", "int_1", 1)).await, "id `con_a`");
    store.delete_connection("con_a").await.unwrap();
    assert_eq!(store.get_connection("con_a").await.unwrap(), None);
    assert_eq!(store.delete_connection("con_a").await, Err(StoreError::NotFound));
    assert_eq!(store.list_connections().await.unwrap().len(), 2);
}

async fn check_connection_needs_an_existing_integration(store: Arc<dyn Store>) {
    assert_conflict(store.insert_connection(&connection("con_1", "int_gone", 1)).await, "integration `int_gone`");
    assert_eq!(store.get_connection("con_1").await.unwrap(), None);

    store.insert_integration(&integration("int_1", "one", 1)).await.unwrap();
    store.insert_connection(&connection("con_1", "int_1", 1)).await.unwrap();
    let moved = ConnectionRecord { integration_id: "int_gone".into(), ..connection("con_1", "int_1", 1) };
    assert_conflict(store.update_connection(&moved).await, "integration `int_gone`");
    assert_eq!(store.get_connection("con_1").await.unwrap().unwrap().integration_id, "int_1");
}

async fn check_deleting_a_connection_deletes_its_flows_and_lease(store: Arc<dyn Store>) {
    with_connection(&*store, "con_1").await;
    with_connection(&*store, "con_2").await;
    store.insert_pending(&pending("state_1", "con_1", 1_000)).await.unwrap();
    store.insert_pending(&pending("state_2", "con_1", 1_000)).await.unwrap();
    store.insert_pending(&pending("state_3", "con_2", 1_000)).await.unwrap();
    assert!(store.try_acquire_refresh_lease("con_1", "replica-a", 100, 60).await.unwrap());

    store.delete_connection("con_1").await.unwrap();
    assert_eq!(store.take_pending("state_1").await.unwrap(), None);
    assert_eq!(store.take_pending("state_2").await.unwrap(), None);
    assert!(store.take_pending("state_3").await.unwrap().is_some(), "other connections' flows stay");

    // A connection made again under the same id starts without the old lease.
    with_connection(&*store, "con_1").await;
    assert!(store.try_acquire_refresh_lease("con_1", "replica-b", 100, 60).await.unwrap());
}

async fn check_pending_flow_is_single_use(store: Arc<dyn Store>) {
    with_connection(&*store, "con_1").await;
    let flow = pending("hash_1", "con_1", 1_000);
    let without_verifier = PendingFlowRecord { verifier_sealed: None, ..pending("hash_2", "con_1", 2_000) };
    store.insert_pending(&flow).await.unwrap();
    store.insert_pending(&without_verifier).await.unwrap();

    assert_eq!(store.take_pending("hash_1").await.unwrap(), Some(flow.clone()));
    assert_eq!(store.take_pending("hash_1").await.unwrap(), None, "a state works once");
    assert_eq!(store.take_pending("hash_2").await.unwrap(), Some(without_verifier));
    assert_eq!(store.take_pending("unknown").await.unwrap(), None);

    // The store returns an expired flow, so the service can say "expired" rather than "unknown".
    let expired = pending("hash_3", "con_1", 5);
    store.insert_pending(&expired).await.unwrap();
    assert_eq!(store.take_pending("hash_3").await.unwrap(), Some(expired));

    store.insert_pending(&pending("hash_4", "con_1", 1_000)).await.unwrap();
    assert_conflict(store.insert_pending(&pending("hash_4", "con_1", 1_000)).await, "already exists");
    assert_conflict(store.insert_pending(&pending("hash_5", "con_gone", 1_000)).await, "connection `con_gone`");
}

async fn check_concurrent_takers_get_a_flow_once(store: Arc<dyn Store>) {
    const TAKERS: usize = 20;
    with_connection(&*store, "con_1").await;
    for round in 0..3 {
        let state = format!("contended_{round}");
        store.insert_pending(&pending(&state, "con_1", 1_000)).await.unwrap();
        let barrier = Arc::new(Barrier::new(TAKERS));
        let takers: Vec<_> = (0..TAKERS)
            .map(|_| {
                let (store, barrier, state) = (store.clone(), barrier.clone(), state.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.take_pending(&state).await.expect("take_pending fails under contention")
                })
            })
            .collect();
        let mut winners = 0;
        for taker in takers {
            if let Some(flow) = taker.await.unwrap() {
                assert_eq!(flow.state_hash, state);
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}: {winners} of {TAKERS} concurrent callbacks got the same state");
    }
}

async fn check_expired_flows_are_deleted(store: Arc<dyn Store>) {
    with_connection(&*store, "con_1").await;
    for (hash, expires_at) in [("early", 100), ("on_time", 200), ("late", 300)] {
        store.insert_pending(&pending(hash, "con_1", expires_at)).await.unwrap();
    }
    assert_eq!(store.delete_expired_pending(50).await.unwrap(), 0);
    assert_eq!(store.delete_expired_pending(200).await.unwrap(), 2, "a flow is expired at its expiry time");
    assert_eq!(store.take_pending("early").await.unwrap(), None);
    assert_eq!(store.take_pending("on_time").await.unwrap(), None);
    assert!(store.take_pending("late").await.unwrap().is_some());
    assert_eq!(store.delete_expired_pending(1_000).await.unwrap(), 0);
}

async fn check_connections_whose_refresh_token_expired_are_marked(store: Arc<dyn Store>) {
    with_connection(&*store, "con_1").await;
    with_connection(&*store, "con_2").await;
    with_connection(&*store, "con_3").await;
    let mut never = store.get_connection("con_3").await.unwrap().unwrap();
    never.refresh_expires_at = None;
    store.update_connection(&never).await.unwrap();
    let mut pending = store.get_connection("con_2").await.unwrap().unwrap();
    pending.status = ConnectionStatus::Pending;
    store.update_connection(&pending).await.unwrap();

    let at = connection("x", "x", 0).refresh_expires_at.unwrap();
    assert_eq!(store.mark_refresh_expired(at - 1, "expired").await.unwrap(), 0);
    assert_eq!(store.mark_refresh_expired(at, "expired").await.unwrap(), 1, "only the active one, at its expiry");
    let marked = store.get_connection("con_1").await.unwrap().unwrap();
    assert_eq!((marked.status.as_str(), marked.last_error.as_deref()), ("needs_reauth", Some("expired")));
    assert_eq!((marked.next_retry_at, marked.updated_at), (None, at));
    assert_eq!(store.get_connection("con_2").await.unwrap().unwrap().status, ConnectionStatus::Pending);
    assert_eq!(store.get_connection("con_3").await.unwrap().unwrap().status, ConnectionStatus::Active);
    assert_eq!(store.mark_refresh_expired(at + 10, "expired").await.unwrap(), 0, "marked once");
}

async fn check_refresh_lease_has_one_holder(store: Arc<dyn Store>) {
    with_connection(&*store, "con_1").await;
    with_connection(&*store, "con_2").await;
    let now = 1_000;

    assert!(store.try_acquire_refresh_lease("con_1", "a", now, 30).await.unwrap());
    assert!(!store.try_acquire_refresh_lease("con_1", "b", now + 1, 30).await.unwrap(), "a holds it");
    assert!(store.try_acquire_refresh_lease("con_2", "b", now, 30).await.unwrap(), "leases are per connection");
    assert!(store.try_acquire_refresh_lease("con_1", "a", now + 10, 30).await.unwrap(), "the holder renews");
    assert!(!store.try_acquire_refresh_lease("con_1", "b", now + 35, 30).await.unwrap(), "renewed until +40");

    store.release_refresh_lease("con_1", "b").await.unwrap();
    assert!(!store.try_acquire_refresh_lease("con_1", "b", now + 36, 30).await.unwrap(), "only the holder releases");
    store.release_refresh_lease("con_1", "a").await.unwrap();
    assert!(store.try_acquire_refresh_lease("con_1", "b", now + 37, 30).await.unwrap(), "free after release");
    assert!(!store.try_acquire_refresh_lease("con_1", "a", now + 38, 30).await.unwrap());

    // b stalls: its lease expires at +67, and then a takes over.
    assert!(!store.try_acquire_refresh_lease("con_1", "a", now + 66, 30).await.unwrap());
    assert!(store.try_acquire_refresh_lease("con_1", "a", now + 67, 30).await.unwrap(), "an expired lease is free");
    store.release_refresh_lease("con_1", "b").await.unwrap();
    assert!(!store.try_acquire_refresh_lease("con_1", "b", now + 68, 30).await.unwrap(), "b's late release is a no-op");

    assert_eq!(store.try_acquire_refresh_lease("con_gone", "a", now, 30).await, Err(StoreError::NotFound));
    store.release_refresh_lease("con_gone", "a").await.unwrap();
}

async fn check_concurrent_lease_acquirers_get_one_lease(store: Arc<dyn Store>) {
    const REPLICAS: usize = 20;
    with_connection(&*store, "con_1").await;
    // First a free lease, then an expired one: either way exactly one replica refreshes.
    for (round, now) in [(0, 1_000), (1, 5_000)] {
        let barrier = Arc::new(Barrier::new(REPLICAS));
        let acquirers: Vec<_> = (0..REPLICAS)
            .map(|i| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let holder = format!("replica-{round}-{i}");
                    store.try_acquire_refresh_lease("con_1", &holder, now, 60).await.expect("acquire fails")
                })
            })
            .collect();
        let mut winners = 0;
        for acquirer in acquirers {
            winners += usize::from(acquirer.await.unwrap());
        }
        assert_eq!(winners, 1, "round {round}: {winners} of {REPLICAS} replicas got the lease");
    }
}

async fn check_api_keys(store: Arc<dyn Store>) {
    assert_eq!(store.count_api_keys().await.unwrap(), 0, "a first start has no keys");
    let admin = api_key("key_2", "admin", &"a".repeat(64), 10);
    let member = api_key("key_1", "member", &"b".repeat(64), 20);
    store.insert_api_key(&member).await.unwrap();
    store.insert_api_key(&admin).await.unwrap();

    assert_eq!(store.get_api_key_by_hash(&"a".repeat(64)).await.unwrap().as_ref(), Some(&admin));
    assert_eq!(store.get_api_key_by_hash(&"c".repeat(64)).await.unwrap(), None);
    assert_eq!(store.get_api_key_by_hash(&"A".repeat(64)).await.unwrap(), None, "hashes match exactly");
    assert_eq!(store.list_api_keys().await.unwrap(), vec![admin.clone(), member.clone()]);
    assert_eq!(store.count_api_keys().await.unwrap(), 2);

    store.revoke_api_key("key_1", 30).await.unwrap();
    store.revoke_api_key("key_1", 40).await.unwrap();
    let revoked = store.get_api_key_by_hash(&"b".repeat(64)).await.unwrap().unwrap();
    assert_eq!(revoked, ApiKeyRecord { revoked_at: Some(30), ..member }, "the first revocation time stays");
    assert_eq!(store.count_api_keys().await.unwrap(), 2, "revoked keys still count");
    assert_eq!(store.revoke_api_key("key_missing", 30).await, Err(StoreError::NotFound));

    assert_conflict(store.insert_api_key(&api_key("key_3", "member", &"a".repeat(64), 50)).await, "hash");
    assert_conflict(store.insert_api_key(&api_key("key_2", "member", &"d".repeat(64), 50)).await, "id `key_2`");
    match store.insert_api_key(&api_key("key_4", "owner", &"e".repeat(64), 50)).await {
        Err(StoreError::Database(message)) => assert!(message.contains("`owner`"), "{message}"),
        other => panic!("an unknown role was accepted: {other:?}"),
    }
    assert_eq!(store.count_api_keys().await.unwrap(), 2);
}

async fn check_console_sessions_and_failed_exchanges(store: Arc<dyn Store>) {
    store.insert_api_key(&api_key("key_1", "member", &"a".repeat(64), 10)).await.unwrap();
    let session = |id_hash: &str, expires_at| ConsoleSessionRecord {
        id_hash: id_hash.into(),
        key_id: "key_1".into(),
        created_at: 10,
        expires_at,
    };
    store.insert_console_session(&session("s1", 100)).await.unwrap();
    store.insert_console_session(&session("s2", 50)).await.unwrap();
    let found = store.get_console_session("s1").await.unwrap().expect("s1");
    assert_eq!(found.session, session("s1", 100));
    assert_eq!(
        (found.key_name.as_str(), found.key_role.as_str(), found.key_revoked_at),
        ("member key key_1", "member", None)
    );
    assert!(store.get_console_session("S1").await.unwrap().is_none(), "hashes match exactly");

    // The key's revocation shows through the session (the service refuses it then).
    store.revoke_api_key("key_1", 20).await.unwrap();
    assert_eq!(store.get_console_session("s1").await.unwrap().unwrap().key_revoked_at, Some(20));

    assert_eq!(store.delete_expired_console_sessions(60).await.unwrap(), 1, "only s2 had expired");
    assert!(store.get_console_session("s2").await.unwrap().is_none());
    store.delete_console_session("s1").await.unwrap();
    store.delete_console_session("s1").await.unwrap();
    assert!(store.get_console_session("s1").await.unwrap().is_none(), "signed out");

    // One failed exchange per connection: the last one replaces the one before.
    with_connection(store.as_ref(), "con_1").await;
    assert!(store.get_failed_exchange("con_1").await.unwrap().is_none());
    let failure = |at, message: &str| FailedExchangeRecord {
        connection_id: "con_1".into(),
        kind: "code exchange".into(),
        at,
        message: message.into(),
        hint: Some("check the secret".into()),
        trace: "[]".into(),
    };
    store.put_failed_exchange(&failure(30, "first")).await.unwrap();
    store.put_failed_exchange(&failure(40, "second")).await.unwrap();
    assert_eq!(store.get_failed_exchange("con_1").await.unwrap(), Some(failure(40, "second")));
    // A connection deleted meanwhile: nothing to keep, and no error.
    let orphan = FailedExchangeRecord { connection_id: "con_gone".into(), ..failure(50, "late") };
    store.put_failed_exchange(&orphan).await.unwrap();
    assert!(store.get_failed_exchange("con_gone").await.unwrap().is_none());
    store.delete_connection("con_1").await.unwrap();
    assert!(store.get_failed_exchange("con_1").await.unwrap().is_none(), "it goes with its connection");
}

async fn check_plugins_are_content_addressed(store: Arc<dyn Store>) {
    // A component-sized blob with every byte value.
    let big: Vec<u8> = (0..3 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let first = plugin("h_big", "zendesk", big, 20);
    let small = plugin("h_small", "notion", b"\0asm\x0d\0\x01\0".to_vec(), 10);
    store.put_plugin(&first).await.unwrap();
    store.put_plugin(&small).await.unwrap();

    // The same hash again is the same plugin: nothing changes.
    store.put_plugin(&first).await.unwrap();
    store.put_plugin(&PluginRecord { name: "other".into(), created_at: 99, ..first.clone() }).await.unwrap();
    assert_eq!(store.get_plugin("h_big").await.unwrap().as_ref(), Some(&first));
    assert_eq!(store.list_plugins().await.unwrap(), vec![small.clone(), first.clone()]);
    let versions: Vec<(String, String, String, i64)> = store
        .list_plugin_versions()
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.hash, v.name, v.version, v.created_at))
        .collect();
    let expected = |r: &PluginRecord| (r.hash.clone(), r.name.clone(), r.version.clone(), r.created_at);
    assert_eq!(versions, [expected(&small), expected(&first)], "the catalog listing, without bytes");
    assert_eq!(store.get_plugin("h_missing").await.unwrap(), None);

    store.delete_plugin("h_big").await.unwrap();
    assert_eq!(store.get_plugin("h_big").await.unwrap(), None);
    assert_eq!(store.delete_plugin("h_big").await, Err(StoreError::NotFound));
    assert_eq!(store.list_plugins().await.unwrap(), vec![small]);
}

async fn check_actions_are_unique_per_integration_and_go_with_it(store: Arc<dyn Store>) {
    store.insert_integration(&integration("int_1", "one", 1)).await.unwrap();
    store.insert_integration(&integration("int_2", "two", 2)).await.unwrap();
    let action = |integration_id: &str, name: &str, definition: &str, at: i64| ActionRecord {
        integration_id: integration_id.into(),
        name: name.into(),
        definition: definition.into(),
        created_at: at,
        updated_at: at,
    };
    let first = action("int_1", "sync", r#"{"steps":[]}"#, 10);
    store.insert_action(&first).await.unwrap();
    store.insert_action(&action("int_1", "archive", "{}", 11)).await.unwrap();
    // The same name on another integration is another action.
    store.insert_action(&action("int_2", "sync", "{}", 12)).await.unwrap();

    assert_conflict(
        store.insert_action(&action("int_1", "sync", "{}", 13)).await,
        "already has an action named `sync`",
    );
    assert_conflict(store.insert_action(&action("int_missing", "x", "{}", 13)).await, "does not exist");

    let names = |list: Vec<ActionRecord>| list.into_iter().map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(names(store.list_actions("int_1").await.unwrap()), ["archive", "sync"], "listed by name");
    assert_eq!(store.get_action("int_1", "sync").await.unwrap(), Some(first.clone()));

    let replaced = ActionRecord { definition: r#"{"steps":[1]}"#.into(), updated_at: 20, ..first.clone() };
    store.update_action(&replaced).await.unwrap();
    assert_eq!(store.get_action("int_1", "sync").await.unwrap(), Some(replaced), "created_at stays");
    assert_eq!(store.update_action(&action("int_1", "nope", "{}", 21)).await, Err(StoreError::NotFound));

    store.delete_action("int_1", "archive").await.unwrap();
    assert_eq!(store.delete_action("int_1", "archive").await, Err(StoreError::NotFound));
    assert_eq!(store.get_action("int_1", "archive").await.unwrap(), None);

    // Deleting an integration deletes its actions, and only its own.
    store.delete_integration("int_1").await.unwrap();
    assert!(store.list_actions("int_1").await.unwrap().is_empty());
    assert_eq!(names(store.list_actions("int_2").await.unwrap()), ["sync"]);
}

// ---------------------------------------------------------------------------------------------
// Reopening, and opening

/// Everything written before the store is dropped is there when the same URL is opened again,
/// and opening an up-to-date database (migrations already applied) works.
async fn check_survives_reopening(backend: Backend) {
    let Backend { store, url, _dir, _db } = backend;
    let int = integration("int_1", "kept", 1);
    let con = connection("con_1", "int_1", 2);
    let flow = pending("state_1", "con_1", 1_000);
    let key = api_key("key_1", "admin", &"f".repeat(64), 3);
    let plug = plugin("h_1", "kept", vec![1, 2, 3], 4);
    store.insert_integration(&int).await.unwrap();
    store.insert_connection(&con).await.unwrap();
    store.insert_pending(&flow).await.unwrap();
    store.insert_api_key(&key).await.unwrap();
    store.put_plugin(&plug).await.unwrap();
    assert!(store.try_acquire_refresh_lease("con_1", "a", 100, 60).await.unwrap());
    drop(store);

    let store = keyway_store::connect(&url).await.expect("the store opens again");
    assert_eq!(store.list_integrations().await.unwrap(), vec![int]);
    assert_eq!(store.list_connections().await.unwrap(), vec![con]);
    assert_eq!(store.list_api_keys().await.unwrap(), vec![key]);
    assert_eq!(store.list_plugins().await.unwrap(), vec![plug]);
    assert_eq!(store.take_pending("state_1").await.unwrap(), Some(flow));
    assert!(!store.try_acquire_refresh_lease("con_1", "b", 120, 60).await.unwrap(), "the lease is kept");

    // After a clean close too.
    store.close().await;
    assert!(store.list_api_keys().await.is_err(), "a closed store refuses work");
    let store = keyway_store::connect(&url).await.expect("the store opens after close");
    assert_eq!(store.count_api_keys().await.unwrap(), 1);
    store.close().await;
}

// The change feed

/// The next `n` changes on `feed`, in the order they come, failing on anything else: a
/// `Changed(Everything)` here would drop a replica's whole cache for a write that changed one row.
async fn next_changes(feed: &mut tokio::sync::mpsc::Receiver<Watch>, n: usize) -> Vec<Change> {
    let mut changes = Vec::new();
    while changes.len() < n {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .unwrap_or_else(|_| panic!("no change within 10 s after {changes:?}"))
            .expect("the feed is open");
        match event {
            Watch::Changed(Change::Everything) => panic!("the feed dropped everything after {changes:?}"),
            Watch::Changed(change) => changes.push(change),
            other => panic!("{other:?} after {changes:?}"),
        }
    }
    changes
}

/// Another writer's commits reach the feed as the rows they changed, so a replica's cache drops
/// just those: on PostgreSQL through the triggers' `NOTIFY`, on SQLite through the
/// `cache_changes` log that `PRAGMA data_version` says to read. A commit to a table no cache
/// holds (a plugin) reports nothing, and a cascade reports the rows it deleted.
async fn check_the_feed_names_the_rows_another_writer_changed(backend: Backend) {
    let Backend { store, url, _dir, _db } = backend;
    let mut feed = store.watch();
    let live = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv()).await.unwrap();
    assert_eq!(live, Some(Watch::Live));
    let other = keyway_store::connect(&url).await.expect("a second writer on the same database");

    other.insert_integration(&integration("int_1", "one", 1)).await.unwrap();
    other.put_plugin(&plugin("h_1", "no cache holds plugins", vec![1], 2)).await.unwrap();
    other.insert_connection(&connection("con_1", "int_1", 3)).await.unwrap();
    let key = api_key("key_1", "member", &"a".repeat(64), 4);
    other.insert_api_key(&key).await.unwrap();
    other.revoke_api_key("key_1", 5).await.unwrap();
    other.delete_connection("con_1").await.unwrap();
    assert_eq!(
        next_changes(&mut feed, 5).await,
        [
            Change::Integration("int_1".into()),
            Change::Connection("con_1".into()),
            Change::ApiKey(key.key_hash.clone()),
            Change::ApiKey(key.key_hash.clone()),
            Change::Connection("con_1".into()),
        ]
    );

    let action = ActionRecord {
        integration_id: "int_1".into(),
        name: "sync".into(),
        definition: "{}".into(),
        created_at: 6,
        updated_at: 6,
    };
    other.insert_action(&action).await.unwrap();
    let inserted = Change::Action { integration_id: "int_1".into(), name: "sync".into() };
    assert_eq!(next_changes(&mut feed, 1).await, std::slice::from_ref(&inserted));
    // Deleting the integration deletes its action by cascade; both are reported, in either order.
    other.delete_integration("int_1").await.unwrap();
    let mut deleted = next_changes(&mut feed, 2).await;
    deleted.sort_by_key(|change| format!("{change:?}"));
    assert_eq!(deleted, [inserted, Change::Integration("int_1".into())]);
    other.close().await;
}

mod change_feed {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_names_the_rows_another_writer_changed() {
        super::check_the_feed_names_the_rows_another_writer_changed(super::sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_names_the_rows_another_writer_changed() {
        let Some(backend) = super::postgres().await else { return };
        super::check_the_feed_names_the_rows_another_writer_changed(backend).await;
    }
}

mod reopening {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_file_survives_reopening() {
        let backend = super::sqlite().await;
        let file = backend.url.strip_prefix("sqlite:").unwrap().to_string();
        assert!(std::path::Path::new(&file).is_file(), "the database file is created");
        super::check_survives_reopening(backend).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_database_survives_reconnecting() {
        let Some(backend) = super::postgres().await else { return };
        super::check_survives_reopening(backend).await;
    }
}

mod opening {
    use keyway_store::StoreError;

    #[tokio::test]
    async fn an_unknown_scheme_is_refused_without_echoing_the_url() {
        let err = keyway_store::connect("mysql://root:hunter2@db/keyway").await.unwrap_err();
        let StoreError::InvalidUrl(message) = &err else { panic!("{err:?}") };
        assert!(message.contains("`mysql`") && message.contains("sqlite:/path/to/keyway.db"), "{message}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn a_sqlite_file_in_a_missing_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir");
        let url = format!("sqlite:{}", missing.join("keyway.db").display());
        match keyway_store::connect(&url).await.unwrap_err() {
            StoreError::InvalidUrl(message) => {
                assert!(message.contains(&missing.display().to_string()) && message.contains("create it"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(!missing.exists(), "nothing is created");
    }

    #[tokio::test]
    async fn sqlite_in_memory_works_for_the_life_of_the_store() {
        let store = keyway_store::connect("sqlite::memory:").await.unwrap();
        store.insert_integration(&super::integration("int_1", "mem", 1)).await.unwrap();
        // More than one operation at a time must see the same database.
        let (a, b) = tokio::join!(store.get_integration("int_1"), store.list_integrations());
        assert!(a.unwrap().is_some());
        assert_eq!(b.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_missing_postgres_database_is_named_without_the_password() {
        let Some(db) = keyway_tests::postgres::test_database().await else { return };
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_path("keyway_no_such_database");
        url.set_password(Some("s3cret-pw")).unwrap();
        let err = keyway_store::connect(url.as_str()).await.unwrap_err();
        let StoreError::Database(message) = &err else { panic!("{err:?}") };
        assert!(message.contains("keyway_no_such_database") && message.contains("could not connect"), "{message}");
        assert!(!message.contains("s3cret-pw"), "{message}");
    }
}
