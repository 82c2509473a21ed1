//! `keyway serve`: assembles the service from settings and runs the HTTP server until
//! SIGTERM or Ctrl-C, finishing in-flight requests first.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::crypto::{MasterKey, Sealer};
use crate::egress::EgressClient;
use crate::engine::PluginEngine;
use crate::flows::Flows;
use crate::keys::ApiKey;
use crate::registry::PluginRegistry;
use crate::server::{AppState, app};
use crate::service::{Service, ServiceSettings};

/// A running server's parts, for `serve` and for the demo, which runs one in-process.
pub struct Running {
    /// The service.
    pub service: Arc<Service>,
    /// The first admin key, when this start created it (shown once).
    pub new_admin_key: Option<ApiKey>,
}

/// The secrets a start needs that are not settings: they come from the environment
/// (`KEYWAY_MASTER_KEY`, `KEYWAY_ADMIN_KEY`), never from flags or files others can read.
#[derive(Debug, Default, Clone)]
pub struct Bootstrap {
    /// The master key; when absent, the data directory's key file (SQLite only).
    pub master_key: Option<MasterKey>,
    /// An admin key to register if it is not yet.
    pub admin_key: Option<ApiKey>,
}

impl Bootstrap {
    /// Reads `KEYWAY_MASTER_KEY` and `KEYWAY_ADMIN_KEY`.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Ok(Self {
            master_key: var("KEYWAY_MASTER_KEY")
                .map(|k| MasterKey::from_base64(&k))
                .transpose()
                .context("KEYWAY_MASTER_KEY")?,
            admin_key: var("KEYWAY_ADMIN_KEY").map(ApiKey::new),
        })
    }
}

/// Opens the store, loads the built-in plugin and makes sure an admin key exists.
pub async fn assemble(settings: &Settings, bootstrap: Bootstrap) -> anyhow::Result<Running> {
    // Opened once: the key file and the compiled-artifact cache are reached only through this handle.
    let data = open_private_dir(&settings.data_dir)?;
    let master_key = match bootstrap.master_key {
        Some(key) => key,
        None => master_key_file(settings, &data)?,
    };
    let store = keyway_store::connect(&settings.database_url)
        .await
        .with_context(|| format!("opening the database `{}`", redact_url(&settings.database_url)))?;
    // Compiled plugins are cached on this host's own disk; the database holds only bytes.
    let compiled = open_private_subdir(&data, "compiled").context("the compiled-plugin cache in the data directory")?;
    let engine = Arc::new(PluginEngine::new(settings.limits.clone())?.with_cache_dir(compiled));
    let egress = EgressClient::new(settings.egress.clone())?;
    let plugins = Arc::new(PluginRegistry::open(engine.clone(), egress.clone(), store.clone()).await?);
    let flows = Flows::new(engine, egress, settings.redirect_uri(), settings.state_ttl);
    let service = Arc::new(Service::new(
        store,
        Sealer::new(&master_key),
        flows,
        plugins,
        ServiceSettings {
            state_ttl: settings.state_ttl,
            refresh_margin: settings.refresh_margin,
            console_session_ttl: settings.console_session_ttl,
            action_limits: settings.actions.clone(),
            cache_entries: settings.cache_entries,
            // A claimed delivery must outlast its own send, or a slow receiver would get it twice.
            events: crate::service::events::EventSettings {
                lease: std::time::Duration::from_secs(60).max(settings.egress.timeout * 2),
                ..Default::default()
            },
            ..Default::default()
        },
    ));
    let new_admin_key = service.bootstrap_admin_key(bootstrap.admin_key).await?;
    // Every replica delivers webhook events; the loop ends with the service.
    tokio::spawn(crate::service::events::dispatch(Arc::downgrade(&service)));
    Ok(Running { service, new_admin_key })
}

/// Runs the server until a shutdown signal.
pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    // Bound first: the redirect URI the flows advertise is built from the address, and port 0 is only a
    // port once bound.
    let listener =
        TcpListener::bind(settings.listen).await.with_context(|| format!("listening on {}", settings.listen))?;
    settings.bound_to(listener.local_addr()?);
    if let Some(addr) = settings.metrics_listen {
        serve_metrics(addr).await?;
    }
    let running = assemble(&settings, Bootstrap::from_env()?).await?;
    if let Some(key) = &running.new_admin_key {
        // Printed once, on the first start; only its hash is stored.
        let mut out = std::io::stdout().lock();
        writeln!(out, "Created the first admin API key (shown once, store it now):\n\n    {}\n", key.secret())?;
        out.flush()?;
    }
    tokio::spawn(housekeeping(running.service.clone()));
    tracing::info!(
        listen = %listener.local_addr()?,
        redirect_uri = %settings.redirect_uri(),
        backend = running.service.store().backend(),
        "keyway is serving"
    );
    let service = running.service.clone();
    let stopping = async move {
        shutdown_signal().await;
        service.begin_shutdown();
    };
    axum::serve(listener, app(AppState { service: running.service })).with_graceful_shutdown(stopping).await?;
    tracing::info!("keyway stopped");
    Ok(())
}

/// Binds the metrics listener and serves `GET /metrics` on it, apart from the public API. The
/// recorder is installed here, so only a serving process records anything.
async fn serve_metrics(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await.with_context(|| format!("listening for metrics on {addr}"))?;
    let handle = crate::metrics::install();
    tokio::spawn(crate::metrics::upkeep(handle.clone()));
    tracing::info!(listen = %listener.local_addr()?, "keyway serves metrics at /metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, crate::server::metrics_app(handle)).await {
            tracing::error!("the metrics listener stopped: {e}");
        }
    });
    Ok(())
}

/// Once a minute: drops the pending rows of authorizations whose user never came back, marks
/// connections whose refresh token has expired, and prunes events past their keeping time. Every replica may sweep: both
/// statements are idempotent.
async fn housekeeping(service: Arc<Service>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match service.store().delete_expired_pending(crate::service::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(removed = n, "swept expired pending authorizations"),
            Err(e) => tracing::warn!("sweeping expired pending authorizations: {e}"),
        }
        // A connection whose refresh token has expired cannot renew itself: say so now,
        // rather than at the first failed call.
        let message = "the refresh token expired; reconnect the connection to sign in again";
        match service.store().mark_refresh_expired(crate::service::now(), message).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(connections = n, "marked connections whose refresh token expired as needs_reauth"),
            Err(e) => tracing::warn!("marking connections whose refresh token expired: {e}"),
        }
        match service.prune_events().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(removed = n, "pruned old events"),
            Err(e) => tracing::warn!("pruning old events: {e}"),
        }
    }
}

/// Ctrl-C or SIGTERM: what ends `keyway serve` and `keyway mock-provider`.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// `path` as a directory handle, created (mode 0700) when missing. Every file under it is then opened
/// relative to the handle: cap-std refuses a name that would leave it (`..`, absolute, a symlink out).
pub fn open_private_dir(path: &Path) -> anyhow::Result<cap_std::fs::Dir> {
    let ambient = cap_std::ambient_authority();
    cap_std::fs::Dir::create_ambient_dir_all(path, ambient).with_context(|| format!("creating {}", path.display()))?;
    cap_std::fs::Dir::open_ambient_dir(path, ambient).with_context(|| format!("opening {}", path.display()))
}

/// `name` inside `dir`, created when missing and kept private to this user (mode 0700).
pub fn open_private_subdir(dir: &cap_std::fs::Dir, name: &str) -> std::io::Result<cap_std::fs::Dir> {
    dir.create_dir_all(name)?;
    #[cfg(unix)]
    dir.set_permissions(name, cap_std::fs::Permissions::from_std(std::os::unix::fs::PermissionsExt::from_mode(0o700)))?;
    dir.open_dir(name)
}

/// The data directory's key file, created (mode 0600) on first start. PostgreSQL replicas
/// cannot each make their own, so there the key must be supplied.
fn master_key_file(settings: &Settings, data: &cap_std::fs::Dir) -> anyhow::Result<MasterKey> {
    if settings.is_postgres() {
        bail!(
            "with PostgreSQL, set KEYWAY_MASTER_KEY (32 bytes, base64; e.g. `openssl rand -base64 32`) to the same value on every replica"
        );
    }
    const NAME: &str = "master.key";
    let path = settings.data_dir.join(NAME);
    let mut options = cap_std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match data.open_with(NAME, &options) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut text = String::new();
            data.open(NAME)
                .and_then(|mut f| f.read_to_string(&mut text))
                .with_context(|| format!("reading {}", path.display()))?;
            return MasterKey::from_base64(&text).with_context(|| format!("the key file {}", path.display()));
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    let key = MasterKey::generate();
    file.write_all(key.to_base64().as_bytes()).and_then(|()| file.sync_all())?;
    // Through the log, so a `log_format = json` stream stays JSON.
    tracing::warn!(
        path = %path.display(),
        "created the master key (mode 0600); back it up: without it stored secrets cannot be read"
    );
    Ok(key)
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_computed_from_input_cannot_leave_the_data_directory() {
        let root = tempfile::tempdir().unwrap();
        let data = open_private_dir(&root.path().join("data")).unwrap();
        let compiled = open_private_subdir(&data, "compiled").unwrap();
        let mut options = cap_std::fs::OpenOptions::new();
        options.write(true).create(true);
        compiled.write("x", b"artifact").unwrap();
        for name in ["../../escape", "../escape", "/tmp/keyway-escape", "a/../../../escape"] {
            assert!(compiled.open_with(name, &options).is_err(), "{name} was opened");
            assert!(compiled.rename("x", &compiled, name).is_err(), "{name} was a rename target");
            assert!(data.open_with(name, &options).is_err(), "{name} was opened from the data directory");
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.path(), root.path().join("data/compiled/out")).unwrap();
        assert!(compiled.open_with("out/escape", &options).is_err(), "a symlink out was followed");
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["data"], "nothing was written outside the data directory");
    }
}
