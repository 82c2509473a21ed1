//! API keys: random, high-entropy bearer keys, stored only as SHA-256 hashes.
//!
//! A slow password hash is not needed: the keys are 256 random bits, so a fast hash gives
//! nothing to brute-force and keeps every request cheap.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages integrations, plugins and keys, and may use every connection.
    Admin,
    /// Creates connections and uses those it owns or is allowed on.
    Member,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

crate::secret::secret_type!(
    /// A plaintext API key, given by the operator (`KEYWAY_ADMIN_KEY`) or a client, or
    /// generated. Shown once, at creation; redacted everywhere else.
    ApiKey
);

/// Prefix of every key, so a leaked key is recognisable to secret scanners.
const PREFIX: &str = "kw_";

impl ApiKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        Self(format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The stored form: SHA-256, hex.
    pub fn hash(&self) -> String {
        // Every authenticated request hashes its key: `hex::encode` builds the string a char
        // at a time, this writes it in one go.
        let mut hex = [0u8; 64];
        hex::encode_to_slice(Sha256::digest(self.0.as_bytes()), &mut hex).expect("64 hex digits for 32 bytes");
        String::from_utf8_lossy(&hex).into_owned()
    }
}

/// Who is calling: an authenticated key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's id.
    pub key_id: String,
    /// Its role.
    pub role: Role,
}

impl Principal {
    /// Whether this caller administers the instance.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let a = ApiKey::generate();
        let b = ApiKey::generate();
        assert_ne!(a, b);
        assert!(a.secret().starts_with("kw_") && a.secret().len() > 40);
        assert_eq!(a.hash().len(), 64);
        assert_eq!(a.hash(), ApiKey::new(a.secret()).hash());
        assert_eq!(format!("{a:?}"), "ApiKey([redacted])");
    }
}
