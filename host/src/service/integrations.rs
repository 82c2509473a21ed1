//! Integrations: the admin's registered apps.

use keyway_store::{IntegrationRecord, new_id};

use super::model::{IntegrationInput, IntegrationView, ScopesInput};
use super::{Service, ServiceError, now, require_admin, rfc3339};
use crate::integration::{AuthMethod, ClientAuth, FieldError, IntegrationConfig, scopes_from_lines};
use crate::keys::Principal;
use crate::secret::ClientSecret;

fn client_secret_context(id: &str) -> String {
    format!("integration:{id}:client_secret")
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
        };
        apply(&mut config, input)?;
        self.check_config(&mut config).await?;
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
        Ok(view(&record))
    }

    /// All integrations. Members may list them: they pick one to connect to.
    pub async fn list_integrations(&self, _who: &Principal) -> Result<Vec<IntegrationView>, ServiceError> {
        Ok(self.store.list_integrations().await?.iter().map(view).collect())
    }

    /// One integration.
    pub async fn get_integration(&self, _who: &Principal, id: &str) -> Result<IntegrationView, ServiceError> {
        Ok(view(&self.integration_record(id).await?))
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
        apply(&mut config, input)?;
        self.check_config(&mut config).await?;
        let updated = self.to_record(id, &config, record.created_at, now());
        self.store.update_integration(&updated).await.map_err(|e| match e {
            keyway_store::StoreError::Conflict(_) => {
                ServiceError::Conflict(format!("an integration named `{}` already exists", config.name))
            }
            other => other.into(),
        })?;
        Ok(view(&updated))
    }

    /// Deletes an integration that has no connections (admin).
    pub async fn delete_integration(&self, who: &Principal, id: &str) -> Result<(), ServiceError> {
        require_admin(who, "managing integrations")?;
        self.integration_record(id).await?;
        self.store.delete_integration(id).await?;
        Ok(())
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
        })
    }

    async fn check_config(&self, config: &mut IntegrationConfig) -> Result<(), ServiceError> {
        config.validate()?;
        let plugin = match self.plugins.resolve(&config.plugin).await {
            Ok(plugin) => plugin,
            Err(crate::registry::RegistryError::NotFound(message)) => {
                return Err(FieldError::new("plugin", message).into());
            }
            Err(e) => return Err(e.into()),
        };
        for spec in plugin.manifest.settings.iter().filter(|s| s.required && s.default.is_none()) {
            if config.settings.get(&spec.name).is_none() {
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
    if config.name.is_empty() {
        return Err(FieldError::new("name", "give the integration a name; users see it in the list").into());
    }
    Ok(())
}

fn view(r: &IntegrationRecord) -> IntegrationView {
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
