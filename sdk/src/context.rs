//! Lookups on what hooks and actions are given, so plugins need not search pairs by hand.

use serde_json::{Map, Value};

use crate::{ActionContext, HookContext, Integration, form, url};

/// Parses a settings document. The host checks settings are a JSON object when the admin saves
/// them, so the empty object stands for "none" (an empty string) and cannot hide a typo.
fn parse_settings(json: &str) -> Value {
    match serde_json::from_str(json) {
        Ok(value @ Value::Object(_)) => value,
        _ => Value::Object(Map::new()),
    }
}

impl Integration {
    /// `site` + `token_path`, with exactly one `/` between them: where the token request goes.
    pub fn token_url(&self) -> String {
        url::join(&self.site, &self.token_path)
    }

    /// `site` + `revoke_path`, or `None` when the app cannot revoke (no path, or an empty one).
    pub fn revoke_url(&self) -> Option<String> {
        self.revoke_path.as_deref().filter(|path| !path.trim().is_empty()).map(|path| url::join(&self.site, path))
    }

    /// The plugin settings as a JSON object (empty when the admin set none).
    pub fn settings(&self) -> Value {
        parse_settings(&self.settings)
    }
}

impl HookContext {
    /// A per-connection input the manifest declares (a tenant `subdomain`).
    pub fn input(&self, name: &str) -> Option<&str> {
        form::get(&self.inputs, name)
    }

    /// A value kept on the connection, from the callback or an earlier token response.
    pub fn metadata(&self, name: &str) -> Option<&str> {
        form::get(&self.metadata, name)
    }

    /// The integration's plugin settings as a JSON object (empty when the admin set none).
    pub fn settings(&self) -> Value {
        self.integration.settings()
    }

    /// A string setting, or `None` when the admin set none (or set a non-string): for a plugin
    /// setting with a default, `ctx.setting_str("version").unwrap_or_else(|| DEFAULT.into())`.
    pub fn setting_str(&self, name: &str) -> Option<String> {
        self.settings().get(name).and_then(Value::as_str).map(str::to_string)
    }
}

impl ActionContext {
    /// A per-connection input the manifest declares.
    pub fn input(&self, name: &str) -> Option<&str> {
        form::get(&self.inputs, name)
    }

    /// A value kept on the connection (`instance_url`, `workspace_id`).
    pub fn metadata(&self, name: &str) -> Option<&str> {
        form::get(&self.metadata, name)
    }

    /// The integration's plugin settings as a JSON object (empty when the admin set none).
    pub fn settings(&self) -> Value {
        parse_settings(&self.settings)
    }

    /// The stored declarative definition, parsed, when the host passed one.
    pub fn definition(&self) -> Option<Value> {
        self.definition.as_deref().and_then(|json| serde_json::from_str(json).ok())
    }
}
