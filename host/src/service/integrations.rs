//! Integrations: the admin's registered apps.

use keyway_store::Store as _;
use keyway_store::{IntegrationRecord, new_id};

use super::model::{IntegrationInput, IntegrationView, ScopesInput};
use super::{Service, ServiceError, now, require_admin, rfc3339};
use crate::integration::{AuthMethod, ClientAuth, FieldError, IntegrationConfig, scopes_from_lines};
use crate::keys::Principal;
use crate::secret::{ClientSecret, NamedSecretValue};

fn client_secret_context(id: &str) -> String {
    format!("integration:{id}:client_secret")
}

fn secret_settings_context(id: &str) -> String {
    format!("integration:{id}:secret_settings")
}

impl Service {
    /// Registers an integration (admin).
    pub async fn create_integration(
        &self,
        who: &Principal,
        input: IntegrationInput,
    ) -> Result<IntegrationView, ServiceError> {
        require_admin(who, "managing integrations")?;
        let mut config = IntegrationConfig {
            name: String::new(),
            auth_method: AuthMethod::Oauth2,
            plugin: crate::registry::PluginRegistry::default_name().into(),
            client_id: String::new(),
            client_secret: None,
            site: String::new(),
            authorization_url: String::new(),
            token_path: String::new(),
            revoke_path: None,
            scopes: Vec::new(),
            client_auth: ClientAuth::Basic,
            issuer: None,
            pkce: true,
            settings: serde_json::json!({}),
            secret_settings: Vec::new(),
            mcp_web_request: true,
        };
        let pkce_given = input.pkce.is_some();
        apply(&mut config, input)?;
        self.check_config(&mut config, pkce_given).await?;
        let id = new_id("int");
        let at = now();
        let record = self.to_record(&id, &config, at, at);
        self.store.insert_integration(&record).await.map_err(|e| match e {
            keyway_store::StoreError::Conflict(_) => ServiceError::Conflict(format!(
                "an integration named `{}` already exists; choose another name or PATCH the existing one",
                config.name
            )),
            other => other.into(),
        })?;
        self.view(&record)
    }

    /// All integrations. Members may list them: they pick one to connect to.
    pub async fn list_integrations(&self, _who: &Principal) -> Result<Vec<IntegrationView>, ServiceError> {
        self.store.list_integrations().await?.iter().map(|r| self.view(r)).collect()
    }

    /// One integration.
    pub async fn get_integration(&self, _who: &Principal, id: &str) -> Result<IntegrationView, ServiceError> {
        self.view(&self.integration_record(id).await?)
    }

    /// Changes the given fields, then validates the whole integration again (admin).
    pub async fn update_integration(
        &self,
        who: &Principal,
        id: &str,
        input: IntegrationInput,
    ) -> Result<IntegrationView, ServiceError> {
        require_admin(who, "managing integrations")?;
        let record = self.integration_record(id).await?;
        let mut config = self.config_of(&record)?;
        // A plugin swap re-derives PKCE from the new plugin unless the admin says otherwise.
        let pkce_given = input.pkce.is_some() || input.plugin.as_ref().is_none_or(|p| *p == config.plugin);
        apply(&mut config, input)?;
        self.check_config(&mut config, pkce_given).await?;
        let updated = self.to_record(id, &config, record.created_at, now());
        self.store.update_integration(&updated).await.map_err(|e| match e {
            keyway_store::StoreError::Conflict(_) => {
                ServiceError::Conflict(format!("an integration named `{}` already exists", config.name))
            }
            other => other.into(),
        })?;
        self.view(&updated)
    }

    /// Deletes an integration that has no connections (admin).
    pub async fn delete_integration(&self, who: &Principal, id: &str) -> Result<(), ServiceError> {
        require_admin(who, "managing integrations")?;
        self.integration_record(id).await?;
        self.store.delete_integration(id).await?;
        Ok(())
    }

    /// An integration as the API shows it.
    fn view(&self, r: &IntegrationRecord) -> Result<IntegrationView, ServiceError> {
        let names = match r.secret_settings_sealed {
            None => Vec::new(),
            Some(_) => self.config_of(r)?.secret_settings.into_iter().map(|(n, _)| n).collect(),
        };
        Ok(view_with(r, names))
    }

    pub(super) async fn integration_record(&self, id: &str) -> Result<IntegrationRecord, ServiceError> {
        self.store.get_integration(id).await?.ok_or_else(|| ServiceError::NotFound(format!("no integration `{id}`")))
    }

    /// The integration with its secret opened.
    pub(super) fn config_of(&self, r: &IntegrationRecord) -> Result<IntegrationConfig, ServiceError> {
        let client_secret = r
            .client_secret_sealed
            .as_ref()
            .map(|sealed| self.sealer.open(&client_secret_context(&r.id), sealed))
            .transpose()?
            .map(|bytes| ClientSecret::new(String::from_utf8_lossy(&bytes).into_owned()));
        let secret_settings = match &r.secret_settings_sealed {
            None => Vec::new(),
            Some(sealed) => {
                let bytes = self.sealer.open(&secret_settings_context(&r.id), sealed)?;
                let pairs: Vec<(String, String)> = serde_json::from_slice(&bytes)
                    .map_err(|e| ServiceError::Internal(format!("stored secret settings do not parse: {e}")))?;
                pairs.into_iter().map(|(n, v)| (n, NamedSecretValue::new(v))).collect()
            }
        };
        Ok(IntegrationConfig {
            name: r.name.clone(),
            auth_method: parse_enum(&r.auth_method)?,
            plugin: r.plugin.clone(),
            client_id: r.client_id.clone(),
            client_secret,
            site: r.site.clone(),
            authorization_url: r.authorization_url.clone(),
            token_path: r.token_path.clone(),
            revoke_path: r.revoke_path.clone(),
            scopes: r.scopes.clone(),
            client_auth: parse_enum(&r.client_auth)?,
            issuer: r.issuer.clone(),
            pkce: r.pkce,
            settings: r.settings.clone(),
            secret_settings,
            mcp_web_request: r.mcp_web_request,
        })
    }

    /// Validates the integration against its plugin: required settings, secret settings moved
    /// out of `settings`, and PKCE as the plugin's app allows (`pkce_given`: the admin chose).
    async fn check_config(&self, config: &mut IntegrationConfig, pkce_given: bool) -> Result<(), ServiceError> {
        config.validate()?;
        let plugin = match self.plugins.resolve(&config.plugin).await {
            Ok(plugin) => plugin,
            Err(crate::registry::RegistryError::NotFound(message)) => {
                return Err(FieldError::new("plugin", message).into());
            }
            Err(e) => return Err(e.into()),
        };
        let name = &plugin.manifest.name;
        for spec in plugin.manifest.settings.iter().filter(|s| s.secret) {
            let Some(value) = config.settings.as_object_mut().and_then(|o| o.remove(&spec.name)) else {
                continue;
            };
            config.secret_settings.retain(|(n, _)| *n != spec.name);
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::String(text) if !text.is_empty() => {
                    config.secret_settings.push((spec.name.clone(), NamedSecretValue::new(text)));
                }
                _ => {
                    return Err(FieldError::new(
                        format!("settings.{}", spec.name),
                        format!(
                            "`{}` is a secret setting of plugin `{name}` and must be a non-empty string (`null` removes it)",
                            spec.name
                        ),
                    )
                    .into());
                }
            }
        }
        let has_secret = |n: &str| config.secret_settings.iter().any(|(k, _)| k == n);
        for spec in plugin.manifest.settings.iter().filter(|s| s.required && s.default.is_none()) {
            if config.settings.get(&spec.name).is_none() && !has_secret(&spec.name) {
                return Err(FieldError::new(
                    format!("settings.{}", spec.name),
                    format!(
                        "plugin `{}` needs the setting `{}`: {}",
                        plugin.manifest.name, spec.name, spec.description
                    ),
                )
                .into());
            }
        }
        use crate::engine::PkceSupport;
        match (plugin.manifest.pkce, pkce_given, config.pkce) {
            (PkceSupport::Unsupported, false, _) => config.pkce = false,
            (PkceSupport::Unsupported, true, true) => {
                return Err(FieldError::new(
                    "pkce",
                    format!("plugin `{name}` says its app does not support PKCE; set `pkce` to false or leave it out"),
                )
                .into());
            }
            (PkceSupport::Required, _, false) => {
                return Err(FieldError::new(
                    "pkce",
                    format!("plugin `{name}` says its app requires PKCE; set `pkce` to true or leave it out"),
                )
                .into());
            }
            _ => {}
        }
        Ok(())
    }

    fn to_record(&self, id: &str, c: &IntegrationConfig, created_at: i64, updated_at: i64) -> IntegrationRecord {
        IntegrationRecord {
            id: id.to_string(),
            name: c.name.clone(),
            auth_method: enum_text(&c.auth_method),
            plugin: c.plugin.clone(),
            client_id: c.client_id.clone(),
            client_secret_sealed: c
                .client_secret
                .as_ref()
                .map(|s| self.sealer.seal(&client_secret_context(id), s.secret().as_bytes())),
            site: c.site.clone(),
            authorization_url: c.authorization_url.clone(),
            token_path: c.token_path.clone(),
            revoke_path: c.revoke_path.clone(),
            scopes: c.scopes.clone(),
            client_auth: enum_text(&c.client_auth),
            issuer: c.issuer.clone(),
            pkce: c.pkce,
            settings: c.settings.clone(),
            created_at,
            updated_at,
            secret_settings_sealed: (!c.secret_settings.is_empty()).then(|| {
                let pairs: Vec<(&str, &str)> =
                    c.secret_settings.iter().map(|(n, v)| (n.as_str(), v.secret())).collect();
                let json = serde_json::to_vec(&pairs).unwrap_or_default();
                self.sealer.seal(&secret_settings_context(id), &json)
            }),
            mcp_web_request: c.mcp_web_request,
        }
    }
}

/// Applies the given fields of `input` onto `config`.
fn apply(config: &mut IntegrationConfig, input: IntegrationInput) -> Result<(), ServiceError> {
    if let Some(v) = input.name {
        config.name = v.trim().to_string();
    }
    if let Some(v) = input.auth_method {
        config.auth_method = v;
    }
    if let Some(v) = input.plugin {
        config.plugin = v;
    }
    if let Some(v) = input.client_id {
        config.client_id = v.trim().to_string();
    }
    if let Some(v) = input.client_secret {
        config.client_secret = (!v.is_empty()).then(|| ClientSecret::new(v));
    }
    if let Some(v) = input.site {
        config.site = v;
    }
    if let Some(v) = input.authorization_url {
        config.authorization_url = v.trim().to_string();
    }
    if let Some(v) = input.token_path {
        config.token_path = v;
    }
    if let Some(v) = input.revoke_path {
        config.revoke_path = Some(v);
    }
    match (input.client_auth, input.use_body_auth) {
        (Some(auth), Some(body)) if (auth == ClientAuth::BasicAndPost) != body => {
            return Err(FieldError::new(
                "use_body_auth",
                "`use_body_auth` and `client_auth` disagree; send only `client_auth` (`basic`, `post` or `basic_and_post`)",
            )
            .into());
        }
        (Some(auth), _) => config.client_auth = auth,
        (None, Some(true)) => config.client_auth = ClientAuth::BasicAndPost,
        (None, Some(false)) => config.client_auth = ClientAuth::Basic,
        (None, None) => {}
    }
    if let Some(v) = input.issuer {
        config.issuer = (!v.trim().is_empty()).then(|| v.trim().to_string());
    }
    if let Some(v) = input.scopes {
        config.scopes = match v {
            ScopesInput::List(list) => list,
            ScopesInput::Lines(text) => scopes_from_lines(&text),
        };
    }
    if let Some(v) = input.pkce {
        config.pkce = v;
    }
    if let Some(v) = input.settings {
        config.settings = v;
    }
    if let Some(v) = input.mcp_web_request {
        config.mcp_web_request = v;
    }
    if config.name.is_empty() {
        return Err(FieldError::new("name", "give the integration a name; users see it in the list").into());
    }
    Ok(())
}

/// The API's view of an integration: no secret value, and the names of the secret settings
/// that are set (`secret_names`).
fn view_with(r: &IntegrationRecord, secret_names: Vec<String>) -> IntegrationView {
    IntegrationView {
        id: r.id.clone(),
        name: r.name.clone(),
        auth_method: parse_enum(&r.auth_method).unwrap_or_default(),
        plugin: r.plugin.clone(),
        client_id: r.client_id.clone(),
        has_client_secret: r.client_secret_sealed.is_some(),
        site: r.site.clone(),
        authorization_url: r.authorization_url.clone(),
        token_path: r.token_path.clone(),
        revoke_path: r.revoke_path.clone(),
        client_auth: parse_enum(&r.client_auth).unwrap_or_default(),
        issuer: r.issuer.clone(),
        scopes: r.scopes.clone(),
        pkce: r.pkce,
        settings: r.settings.clone(),
        secret_settings: secret_names,
        mcp_web_request: r.mcp_web_request,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

/// An enum's serde spelling (`basic_and_post`).
fn enum_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn parse_enum<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ServiceError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| ServiceError::Internal(format!("stored value `{text}` is not recognised")))
}
