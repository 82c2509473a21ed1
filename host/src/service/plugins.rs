//! Plugin management (admin): install, list, remove.

use super::model::PluginView;
use super::{Service, ServiceError, require_admin, rfc3339};
use crate::keys::Principal;
use crate::registry::CatalogEntry;
use keyway_store::Store as _;

impl Service {
    /// Installs a component (admin). Takes effect at once, without a restart.
    pub async fn install_plugin(&self, who: &Principal, bytes: &[u8]) -> Result<PluginView, ServiceError> {
        require_admin(who, "managing plugins")?;
        if bytes.is_empty() {
            return Err(ServiceError::BadRequest(
                "the body is empty; send the component's bytes (`--data-binary @plugin.wasm`)".into(),
            ));
        }
        let plugin = self.plugins.install(bytes).await?;
        let entry = self
            .plugins
            .entries()
            .into_iter()
            .find(|e| e.hash == plugin.hash)
            .ok_or_else(|| ServiceError::Internal("an installed plugin is missing from the catalog".into()))?;
        Ok(self.plugin_view(&entry))
    }

    /// Every installed version, the built-in one first.
    pub async fn list_plugins(&self, _who: &Principal) -> Result<Vec<PluginView>, ServiceError> {
        Ok(self.plugins.entries().iter().map(|e| self.plugin_view(e)).collect())
    }

    /// Removes `name@version` (admin), unless an integration uses it.
    pub async fn remove_plugin(&self, who: &Principal, spec: &str) -> Result<(), ServiceError> {
        require_admin(who, "managing plugins")?;
        let entries = self.plugins.entries();
        let Some(entry) = entries.iter().find(|e| format!("{}@{}", e.name, e.version) == spec || e.hash == spec) else {
            return Err(ServiceError::NotFound(format!("no installed plugin `{spec}`; write it as name@version")));
        };
        let pinned = format!("{}@{}", entry.name, entry.version);
        let others = entries.iter().filter(|e| e.name == entry.name && e.hash != entry.hash).count();
        let users: Vec<String> = self
            .store
            .list_integrations()
            .await?
            .into_iter()
            .filter(|i| i.plugin == pinned || (i.plugin == entry.name && others == 0))
            .map(|i| i.name)
            .collect();
        if !users.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "{pinned} is used by the integrations {}; move them to another version first (PATCH their `plugin`)",
                users.join(", ")
            )));
        }
        self.plugins.remove(&entry.hash).await?;
        Ok(())
    }

    fn plugin_view(&self, e: &CatalogEntry) -> PluginView {
        let loaded = self.plugins.loaded(&e.hash);
        let manifest = loaded.as_ref().map(|p| &p.manifest);
        PluginView {
            name: e.name.clone(),
            version: e.version.clone(),
            hash: e.hash.clone(),
            builtin: e.builtin,
            api_version: loaded.as_ref().map(|p| p.api_version.clone()),
            description: manifest.map(|m| m.description.clone()).unwrap_or_default(),
            hosts: manifest.map(|m| m.hosts.clone()).unwrap_or_default(),
            inputs: manifest.map(|m| m.inputs.iter().map(|i| i.name.clone()).collect()).unwrap_or_default(),
            actions: manifest.map(|m| m.actions.iter().map(|a| a.name.clone()).collect()).unwrap_or_default(),
            installed_at: (!e.builtin).then(|| rfc3339(e.installed_at)),
        }
    }
}
