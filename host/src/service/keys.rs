//! API keys: authentication, the bootstrap admin key, and key management (admin).

use keyway_store::Store as _;
use keyway_store::{ApiKeyRecord, new_id};

use super::model::{KeyCreated, KeyInput, KeyView};
use super::{Service, ServiceError, now, require_admin, rfc3339};
use crate::keys::{ApiKey, Principal, Role};

impl Service {
    /// The caller behind a bearer key.
    pub async fn authenticate(&self, key: &ApiKey) -> Result<Principal, ServiceError> {
        let record = self.store.cached_api_key(&key.hash()).await?;
        match record {
            Some(r) if r.revoked_at.is_none() => Ok(Principal {
                key_id: r.id.clone(),
                role: Role::parse(&r.role)
                    .ok_or_else(|| ServiceError::Internal(format!("stored role `{}`", r.role)))?,
            }),
            Some(_) => {
                Err(ServiceError::Unauthenticated("this API key has been revoked; ask an admin for a new one".into()))
            }
            None => Err(ServiceError::Unauthenticated("unknown API key; check `Authorization: Bearer <key>`".into())),
        }
    }

    /// Makes sure an admin key exists. With `configured` (from `KEYWAY_ADMIN_KEY`), that key
    /// is registered if it is not yet. Otherwise, on first start only, a key is generated
    /// and returned so the caller can print it once.
    pub async fn bootstrap_admin_key(&self, configured: Option<ApiKey>) -> Result<Option<ApiKey>, ServiceError> {
        if let Some(key) = configured {
            if self.store.get_api_key_by_hash(&key.hash()).await?.is_none() {
                match self.insert_key(&key, Role::Admin, "bootstrap (KEYWAY_ADMIN_KEY)").await {
                    // Replicas starting together race to register the same key; the loser
                    // finds it registered, which is all it wanted.
                    Ok(_) | Err(ServiceError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(None);
        }
        if self.store.count_api_keys().await? > 0 {
            return Ok(None);
        }
        let key = ApiKey::generate();
        self.insert_key(&key, Role::Admin, "bootstrap").await?;
        Ok(Some(key))
    }

    async fn insert_key(&self, key: &ApiKey, role: Role, name: &str) -> Result<ApiKeyRecord, ServiceError> {
        let record = ApiKeyRecord {
            id: new_id("key"),
            name: name.to_string(),
            role: role.as_str().into(),
            key_hash: key.hash(),
            created_at: now(),
            revoked_at: None,
        };
        self.store.insert_api_key(&record).await?;
        Ok(record)
    }

    /// Creates a key (admin). The only time the key itself is returned.
    pub async fn create_key(&self, who: &Principal, input: KeyInput) -> Result<KeyCreated, ServiceError> {
        require_admin(who, "managing API keys")?;
        let key = ApiKey::generate();
        let name =
            input.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| format!("{} key", input.role.as_str()));
        let record = self.insert_key(&key, input.role, &name).await?;
        Ok(KeyCreated {
            id: record.id,
            name: record.name,
            role: input.role,
            key: key.secret().to_string(),
            created_at: rfc3339(record.created_at),
        })
    }

    /// Every key, without the keys themselves (admin).
    pub async fn list_keys(&self, who: &Principal) -> Result<Vec<KeyView>, ServiceError> {
        require_admin(who, "managing API keys")?;
        Ok(self
            .store
            .list_api_keys()
            .await?
            .into_iter()
            .map(|r| KeyView {
                role: Role::parse(&r.role).unwrap_or(Role::Member),
                id: r.id,
                name: r.name,
                created_at: rfc3339(r.created_at),
                revoked_at: r.revoked_at.map(rfc3339),
            })
            .collect())
    }

    /// Revokes a key (admin). The last active admin key cannot be revoked: nobody could
    /// manage the instance afterwards.
    pub async fn revoke_key(&self, who: &Principal, id: &str) -> Result<(), ServiceError> {
        require_admin(who, "managing API keys")?;
        let keys = self.store.list_api_keys().await?;
        let Some(target) = keys.iter().find(|k| k.id == id) else {
            return Err(ServiceError::NotFound(format!("no API key `{id}`")));
        };
        let active_admins = keys.iter().filter(|k| k.role == "admin" && k.revoked_at.is_none()).count();
        if target.role == "admin" && target.revoked_at.is_none() && active_admins == 1 {
            return Err(ServiceError::Conflict(
                "this is the last active admin key; create another admin key first".into(),
            ));
        }
        self.store.revoke_api_key(id, now()).await?;
        Ok(())
    }
}
