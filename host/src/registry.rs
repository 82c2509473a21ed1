//! The plugins this host can run.
//!
//! Installed plugins are content-addressed and stored in the database, so every replica sees
//! them; each replica compiles them once (or loads its own cached artifact) and keeps them
//! in memory by hash. An integration names a plugin as `name` (the newest installed version)
//! or `name@version` (pinned). Installing takes effect without a restart: the next lookup
//! sees it, here at once and on other replicas within [`CATALOG_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use keyway_store::{PluginRecord, PluginVersion, Store};

use crate::builtin::{DECLARATIVE_WASM, STANDARD_OAUTH2_WASM, STANDARD_PLUGIN};
use crate::egress::EgressClient;
use crate::engine::{LoadError, LoadedPlugin, PluginEngine};

/// How long a replica trusts its list of installed versions before asking the database.
pub const CATALOG_TTL: Duration = Duration::from_secs(5);

/// Why a plugin could not be installed or removed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The upload is not a valid plugin.
    #[error(transparent)]
    Invalid(#[from] LoadError),
    /// It clashes with what is installed.
    #[error("{0}")]
    Conflict(String),
    /// No such plugin.
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error("plugin storage: {0}")]
    Store(#[from] keyway_store::StoreError),
}

/// One installed version, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The manifest name.
    pub name: String,
    /// The manifest version.
    pub version: String,
    /// SHA-256 of the component.
    pub hash: String,
    /// Built into the binary (cannot be deleted).
    pub builtin: bool,
    /// Unix seconds when installed (0 for the built-in one).
    pub installed_at: i64,
}

#[derive(Debug)]
struct Catalog {
    entries: Vec<CatalogEntry>,
    refreshed: Instant,
}

/// Loaded plugins and the catalog of installed versions.
#[derive(Debug)]
pub struct PluginRegistry {
    engine: Arc<PluginEngine>,
    egress: EgressClient,
    store: Arc<dyn Store>,
    loaded: RwLock<HashMap<String, Arc<LoadedPlugin>>>,
    catalog: RwLock<Catalog>,
    declarative: Arc<LoadedPlugin>,
}

impl PluginRegistry {
    /// Loads the built-in standard component and every installed plugin.
    pub async fn open(
        engine: Arc<PluginEngine>,
        egress: EgressClient,
        store: Arc<dyn Store>,
    ) -> Result<Self, RegistryError> {
        let standard = engine.load(STANDARD_OAUTH2_WASM, &egress).await?;
        let declarative = engine.load(DECLARATIVE_WASM, &egress).await?;
        let builtin = CatalogEntry {
            name: standard.manifest.name.clone(),
            version: standard.manifest.version.clone(),
            hash: standard.hash.clone(),
            builtin: true,
            installed_at: 0,
        };
        let registry = Self {
            engine,
            egress,
            store,
            loaded: RwLock::new(HashMap::from([(standard.hash.clone(), standard)])),
            catalog: RwLock::new(Catalog { entries: vec![builtin], refreshed: Instant::now() }),
            declarative,
        };
        let installed = registry.refresh_catalog().await?;
        tracing::info!(plugins = installed.len(), "loading the installed plugins");
        for version in installed {
            // A plugin that no longer loads (say, after a host upgrade) must not stop the
            // host: its integrations fail with a clear error instead.
            if let Err(e) = registry.loaded_or_load(&version.hash).await {
                tracing::error!(plugin = %format!("{}@{}", version.name, version.version), "an installed plugin failed to load: {e}");
            }
        }
        Ok(registry)
    }

    /// The built-in component that runs stored declarative actions. It is not in the catalog:
    /// no integration uses it for auth.
    pub fn declarative(&self) -> &Arc<LoadedPlugin> {
        &self.declarative
    }

    /// Validates and installs a component. Installing the same bytes again is a no-op; a
    /// different component under an installed name and version is refused.
    pub async fn install(&self, bytes: &[u8]) -> Result<Arc<LoadedPlugin>, RegistryError> {
        let plugin = self.engine.load(bytes, &self.egress).await?;
        let (name, version) = (&plugin.manifest.name, &plugin.manifest.version);
        if name == STANDARD_PLUGIN {
            return Err(RegistryError::Conflict(format!(
                "`{STANDARD_PLUGIN}` is built in; give your plugin its own name in Cargo.toml"
            )));
        }
        self.refresh_catalog().await?;
        if let Some(existing) = self.entries().into_iter().find(|e| &e.name == name && &e.version == version) {
            if existing.hash == plugin.hash {
                return self.loaded_or_load(&existing.hash).await;
            }
            return Err(RegistryError::Conflict(format!(
                "{name} {version} is already installed with different content; bump the version in Cargo.toml to install a new build"
            )));
        }
        self.store
            .put_plugin(&PluginRecord {
                hash: plugin.hash.clone(),
                name: name.clone(),
                version: version.clone(),
                bytes: bytes.to_vec(),
                created_at: crate::service::now(),
            })
            .await?;
        self.loaded.write().expect("registry lock").insert(plugin.hash.clone(), plugin.clone());
        self.refresh_catalog().await?;
        Ok(plugin)
    }

    /// Removes an installed version, named `name@version`. The caller checks that no
    /// integration uses it.
    pub async fn remove(&self, spec: &str) -> Result<CatalogEntry, RegistryError> {
        self.refresh_catalog().await?;
        let entry = self
            .entries()
            .into_iter()
            .find(|e| format!("{}@{}", e.name, e.version) == spec || e.hash == spec)
            .ok_or_else(|| {
                RegistryError::NotFound(format!("no installed plugin `{spec}`; write it as name@version"))
            })?;
        if entry.builtin {
            return Err(RegistryError::Conflict(format!("`{}` is built in and cannot be removed", entry.name)));
        }
        self.store.delete_plugin(&entry.hash).await?;
        self.loaded.write().expect("registry lock").remove(&entry.hash);
        self.refresh_catalog().await?;
        Ok(entry)
    }

    /// Adds an already loaded plugin to this replica only, without storing it (embedding
    /// hosts that ship their own components use this).
    pub fn insert(&self, plugin: Arc<LoadedPlugin>) {
        let mut catalog = self.catalog.write().expect("registry lock");
        catalog.entries.retain(|e| !(e.name == plugin.manifest.name && e.version == plugin.manifest.version));
        catalog.entries.push(CatalogEntry {
            name: plugin.manifest.name.clone(),
            version: plugin.manifest.version.clone(),
            hash: plugin.hash.clone(),
            builtin: true,
            installed_at: 0,
        });
        self.loaded.write().expect("registry lock").insert(plugin.hash.clone(), plugin);
    }

    /// The plugin an integration names: `name` is the newest installed version,
    /// `name@version` a pinned one.
    ///
    /// Every API call resolves its plugin here, and almost always finds it loaded: the rare
    /// paths (re-reading the catalog, loading a component) are boxed, so the common future,
    /// which each request carries and copies, has no room for them.
    pub async fn resolve(&self, spec: &str) -> Result<Arc<LoadedPlugin>, RegistryError> {
        if self.catalog.read().expect("registry lock").refreshed.elapsed() > CATALOG_TTL {
            Box::pin(self.refresh_catalog()).await?;
        }
        let entry = match self.find(spec) {
            Some(entry) => entry,
            None => {
                // Maybe installed on another replica since the last refresh.
                Box::pin(self.refresh_catalog()).await?;
                self.find(spec).ok_or_else(|| {
                    RegistryError::NotFound(format!(
                        "no plugin `{spec}` is installed (installed: {}); install it with `keyway plugin install`",
                        self.names().join(", ")
                    ))
                })?
            }
        };
        self.loaded_or_load(&entry.hash).await
    }

    fn find(&self, spec: &str) -> Option<CatalogEntry> {
        // Under the lock, cloning only the match: every API call resolves its plugin here.
        let catalog = self.catalog.read().expect("registry lock");
        let mut entries = catalog.entries.iter();
        match spec.split_once('@') {
            Some((name, version)) => entries.find(|e| e.name == name && e.version == version).cloned(),
            None => entries.filter(|e| e.name == spec).max_by(|a, b| newer(a, b)).cloned(),
        }
    }

    async fn loaded_or_load(&self, hash: &str) -> Result<Arc<LoadedPlugin>, RegistryError> {
        match self.loaded(hash) {
            Some(plugin) => Ok(plugin),
            // Boxed: reading and compiling a component is most of this future's size.
            None => Box::pin(self.load_stored(hash)).await,
        }
    }

    /// Reads the component `hash` from the store and loads it.
    async fn load_stored(&self, hash: &str) -> Result<Arc<LoadedPlugin>, RegistryError> {
        let record = self
            .store
            .get_plugin(hash)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("plugin {hash} was removed")))?;
        self.load_record(record).await
    }

    async fn load_record(&self, record: PluginRecord) -> Result<Arc<LoadedPlugin>, RegistryError> {
        let plugin = self.engine.load(&record.bytes, &self.egress).await?;
        self.loaded.write().expect("registry lock").insert(plugin.hash.clone(), plugin.clone());
        Ok(plugin)
    }

    /// Re-reads the installed versions from the database, without the components' bytes
    /// (every replica does this every few seconds); returns the versions read.
    async fn refresh_catalog(&self) -> Result<Vec<PluginVersion>, RegistryError> {
        let records = self.store.list_plugin_versions().await?;
        let mut catalog = self.catalog.write().expect("registry lock");
        catalog.entries.retain(|e| e.builtin);
        catalog.entries.extend(records.iter().map(|r| CatalogEntry {
            name: r.name.clone(),
            version: r.version.clone(),
            hash: r.hash.clone(),
            builtin: false,
            installed_at: r.created_at,
        }));
        catalog.refreshed = Instant::now();
        Ok(records)
    }

    /// Every installed version, built-in first.
    pub fn entries(&self) -> Vec<CatalogEntry> {
        self.catalog.read().expect("registry lock").entries.clone()
    }

    /// The loaded plugin with this hash, if this replica has it.
    pub fn loaded(&self, hash: &str) -> Option<Arc<LoadedPlugin>> {
        self.loaded.read().expect("registry lock").get(hash).cloned()
    }

    /// Every plugin name, sorted, without duplicates.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.entries().into_iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The distinct callback `state` parameter names the loaded plugins declare (`state` first).
    pub fn state_params(&self) -> Vec<String> {
        let mut names = vec!["state".to_string()];
        for plugin in self.loaded.read().expect("registry lock").values() {
            if !names.contains(&plugin.manifest.callback_state_param) {
                names.push(plugin.manifest.callback_state_param.clone());
            }
        }
        names
    }

    /// The built-in components that are not loaded (`/readyz` asks): none once
    /// [`PluginRegistry::open`] has succeeded, unless the standard plugin's catalog entry or
    /// its loaded component went missing since.
    pub fn missing_builtins(&self) -> Vec<&'static str> {
        let standard = self.entries().into_iter().find(|e| e.builtin && e.name == STANDARD_PLUGIN);
        let mut missing = Vec::new();
        if standard.and_then(|e| self.loaded(&e.hash)).is_none() {
            missing.push(STANDARD_PLUGIN);
        }
        // `declarative` is a field, loaded by `open` or the registry would not exist.
        missing
    }

    /// The default plugin's name.
    pub fn default_name() -> &'static str {
        STANDARD_PLUGIN
    }
}

/// Orders versions: semantic versions numerically, then install time.
fn newer(a: &CatalogEntry, b: &CatalogEntry) -> std::cmp::Ordering {
    match (semver::Version::parse(&a.version), semver::Version::parse(&b.version)) {
        (Ok(x), Ok(y)) => x.cmp(&y).then(a.installed_at.cmp(&b.installed_at)),
        _ => a.installed_at.cmp(&b.installed_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str, installed_at: i64) -> CatalogEntry {
        CatalogEntry { name: "x".into(), version: version.into(), hash: version.into(), builtin: false, installed_at }
    }

    #[test]
    fn the_newest_version_wins_by_semver_not_by_text() {
        let versions = [entry("0.9.0", 1), entry("0.10.0", 0), entry("0.2.1", 2)];
        let newest = versions.iter().max_by(|a, b| newer(a, b)).unwrap();
        assert_eq!(newest.version, "0.10.0");
    }
}
