//! Connect links: a member or admin makes a single-use, expiring URL; the person who owns the
//! account opens it, without an API key, and is sent to the app's authorize page. The link
//! fixes what the connection will be (its name, inputs, owner and allowed keys); the page may
//! only fill in the inputs the link left open.

use keyway_store::{ConnectLinkRecord, ConnectLinks as _, Store as _, new_id};
use sha2::{Digest, Sha256};

use super::model::{ConnectLinkCreated, ConnectLinkInput, ConnectLinkView, ConnectionInput};
use super::{Service, ServiceError, now, rfc3339};
use crate::engine::InputSpec;
use crate::integration::{AuthMethod, FieldError};
use crate::keys::{Principal, Role};

/// How long a link lives when its creator does not say.
const DEFAULT_LIFETIME: u64 = 3600;
/// The shortest and longest lifetimes a link may ask for.
const LIFETIMES: std::ops::RangeInclusive<u64> = 60..=7 * 24 * 3600;

/// What the link's page shows.
#[derive(Debug, Clone)]
pub struct LinkPage {
    /// The app, by its integration's name.
    pub integration: String,
    /// The scopes it will ask for.
    pub scopes: Vec<String>,
    /// The inputs the user must still give, as the plugin declares them.
    pub open_inputs: Vec<InputSpec>,
    /// The name of the API key the connection will belong to, so the user sees who will use
    /// their account.
    pub owner: String,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Service {
    /// Makes a connect link (member or admin). Returns the URL to give the user, once.
    pub async fn create_connect_link(
        &self,
        who: &Principal,
        integration_id: &str,
        input: ConnectLinkInput,
    ) -> Result<ConnectLinkCreated, ServiceError> {
        let integration_record = self.integration_record(integration_id).await?;
        let integration = self.config_of(&integration_record)?;
        if integration.auth_method != AuthMethod::Oauth2 {
            return Err(ServiceError::BadRequest(format!(
                "integration `{}` connects with {} credentials, not in the browser; create its connections with POST /api/v1/integrations/{{id}}/connections",
                integration.name,
                if integration.auth_method == AuthMethod::Basic { "basic" } else { "token" }
            )));
        }
        let plugin = self.plugin_for(&integration).await?;
        let inputs: Vec<(String, String)> = input.inputs.unwrap_or_default().into_iter().collect();
        for (name, _) in &inputs {
            if !plugin.manifest.inputs.iter().any(|spec| &spec.name == name) {
                let declared: Vec<&str> = plugin.manifest.inputs.iter().map(|s| s.name.as_str()).collect();
                return Err(FieldError::new(
                    format!("inputs.{name}"),
                    format!(
                        "plugin `{}` declares no input `{name}` (it declares: {})",
                        plugin.manifest.name,
                        declared.join(", ")
                    ),
                )
                .into());
            }
        }
        let owner = input.owner_key_id.unwrap_or_else(|| who.key_id.clone());
        if owner != who.key_id && !who.is_admin() {
            return Err(ServiceError::Forbidden("only an admin may make a link for another key's connection".into()));
        }
        let keys = self.store.list_api_keys().await?;
        let active = |id: &str| keys.iter().any(|k| k.id == id && k.revoked_at.is_none());
        if !active(&owner) {
            return Err(FieldError::new("owner_key_id", format!("`{owner}` is not an active API key id")).into());
        }
        let allowed_keys = input.allowed_keys.unwrap_or_default();
        if let Some(unknown) = allowed_keys.iter().find(|id| !active(id)) {
            return Err(FieldError::new("allowed_keys", format!("`{unknown}` is not an active API key id")).into());
        }
        let lifetime = input.expires_in.unwrap_or(DEFAULT_LIFETIME);
        if !LIFETIMES.contains(&lifetime) {
            return Err(FieldError::new(
                "expires_in",
                format!("`expires_in` is {lifetime} seconds; give 60 to 604800 (a week)"),
            )
            .into());
        }
        let token = crate::crypto::random_token("kwl_");
        let at = now();
        let record = ConnectLinkRecord {
            id: new_id("lnk"),
            token_hash: token_hash(&token),
            integration_id: integration_record.id,
            name: input.name.filter(|n| !n.trim().is_empty()),
            inputs,
            owner_key_id: owner,
            allowed_keys,
            created_by: who.key_id.clone(),
            created_at: at,
            expires_at: at + lifetime as i64,
            used_at: None,
            connection_id: None,
        };
        self.store.insert_connect_link(&record).await?;
        let public = self.flows.redirect_uri().trim_end_matches("/oauth");
        Ok(ConnectLinkCreated { link: link_view(&record, at), url: format!("{public}/connect/{token}") })
    }

    /// One link (its creator, or an admin), to learn the connection it made.
    pub async fn get_connect_link(&self, who: &Principal, id: &str) -> Result<ConnectLinkView, ServiceError> {
        let not_found = || ServiceError::NotFound(format!("no connect link `{id}`"));
        let record = self.store.get_connect_link(id).await?.ok_or_else(not_found)?;
        if record.created_by != who.key_id && !who.is_admin() {
            return Err(not_found());
        }
        Ok(link_view(&record, now()))
    }

    /// What the page of the link with `token` shows; refused when the link is unknown, used
    /// or expired.
    pub async fn open_connect_link(&self, token: &str) -> Result<LinkPage, ServiceError> {
        let record = self.usable_link(token).await?;
        let integration = self.config_of(&self.integration_record(&record.integration_id).await?)?;
        let plugin = self.plugin_for(&integration).await?;
        let open_inputs =
            plugin.manifest.inputs.iter().filter(|spec| !record.inputs.iter().any(|(n, _)| n == &spec.name)).cloned();
        let keys = self.store.list_api_keys().await?;
        let owner = keys.iter().find(|k| k.id == record.owner_key_id).map(|k| k.name.clone()).unwrap_or_default();
        Ok(LinkPage {
            integration: integration.name,
            scopes: integration.scopes,
            open_inputs: open_inputs.collect(),
            owner,
        })
    }

    /// Uses the link: creates its connection with the link's fixed fields and `given` for the
    /// inputs it left open, and returns the app's authorize URL. The link is spent only if the
    /// connection was created; a refused input leaves it usable, to correct.
    pub async fn use_connect_link(&self, token: &str, given: Vec<(String, String)>) -> Result<String, ServiceError> {
        let record = self.usable_link(token).await?;
        let mut inputs = record.inputs.clone();
        // The link's own inputs win: the page cannot override what its creator fixed.
        inputs.extend(given.into_iter().filter(|(n, v)| !v.is_empty() && !record.inputs.iter().any(|(f, _)| f == n)));
        let owner = self
            .store
            .list_api_keys()
            .await?
            .into_iter()
            .find(|k| k.id == record.owner_key_id && k.revoked_at.is_none())
            .ok_or_else(|| {
                ServiceError::Conflict("the key this link was made for has been revoked; ask for a new link".into())
            })?;
        let role = if owner.role == Role::Admin.as_str() { Role::Admin } else { Role::Member };
        let principal = Principal { key_id: owner.id, role };
        if !self.store.claim_connect_link(&record.token_hash, now()).await? {
            return Err(ServiceError::Conflict("this link was used a moment ago; ask for a new link".into()));
        }
        let input = ConnectionInput {
            name: record.name.clone(),
            inputs: Some(inputs.into_iter().collect()),
            credentials: None,
            allowed_keys: Some(record.allowed_keys.clone()),
        };
        match self.create_connection(&principal, &record.integration_id, input).await {
            Ok(created) => {
                self.store.set_connect_link_connection(&record.token_hash, &created.id).await?;
                created
                    .authorize_url
                    .ok_or_else(|| ServiceError::Internal("an oauth2 connection came without an authorize URL".into()))
            }
            Err(e) => {
                self.store.unclaim_connect_link(&record.token_hash).await?;
                Err(e)
            }
        }
    }

    /// The link with `token`, if it can still be used.
    async fn usable_link(&self, token: &str) -> Result<ConnectLinkRecord, ServiceError> {
        let record = self.store.get_connect_link_by_hash(&token_hash(token)).await?.ok_or_else(|| {
            ServiceError::NotFound("this link is not valid; ask whoever sent it for a new one".into())
        })?;
        if record.used_at.is_some() {
            return Err(ServiceError::Conflict("this link has already been used; ask for a new link".into()));
        }
        if record.expires_at <= now() {
            return Err(ServiceError::Conflict(format!(
                "this link expired at {}; ask for a new link",
                rfc3339(record.expires_at)
            )));
        }
        Ok(record)
    }
}

fn link_view(r: &ConnectLinkRecord, at: i64) -> ConnectLinkView {
    let status = match (r.used_at, r.expires_at <= at) {
        (Some(_), _) => "used",
        (None, true) => "expired",
        (None, false) => "open",
    };
    ConnectLinkView {
        id: r.id.clone(),
        integration_id: r.integration_id.clone(),
        status: status.into(),
        connection_id: r.connection_id.clone(),
        name: r.name.clone(),
        owner_key_id: r.owner_key_id.clone(),
        expires_at: rfc3339(r.expires_at),
        created_at: rfc3339(r.created_at),
        used_at: r.used_at.map(rfc3339),
    }
}
