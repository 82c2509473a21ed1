//! Encryption at rest: client secrets, tokens and credentials are sealed with
//! XChaCha20-Poly1305 under the master key before they reach the database.
//!
//! The associated data binds each ciphertext to its row and purpose (`connection:<id>:credentials`),
//! so a ciphertext copied into another row, or into another column, fails to open.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const NONCE_LEN: usize = 24;
/// Leading byte of every sealed value, so the format can change without guessing.
const FORMAT_V1: u8 = 1;

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The master key is not 32 bytes of base64.
    #[error("the master key must be 32 bytes, base64-encoded (generate one with `openssl rand -base64 32`)")]
    BadKey,
    /// Wrong key, wrong row, or tampered data.
    #[error("a sealed value failed to open: wrong master key, or the data was moved or altered")]
    Open,
}

crate::secret::secret_type!(
    /// The master key every sealed value is encrypted under.
    MasterKey: [u8; 32]
);

/// A fresh random token: `prefix` then 32 bytes from the OS, hex. For secrets shown once
/// (webhook secrets) and capabilities stored only as their hash (connect links).
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    format!("{prefix}{}", hex::encode(bytes))
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source is available");
        Self(key)
    }

    /// Parses the base64 form (standard alphabet, padding optional).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(key))
    }

    /// The base64 form, for writing the key file.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.secret())
    }
}

/// Seals and opens values under one master key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// A sealer for `key`.
    pub fn new(key: &MasterKey) -> Self {
        Self { cipher: XChaCha20Poly1305::new(key.secret().into()) }
    }

    /// Encrypts `plaintext`, bound to `context` (the row and purpose).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random source is available");
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory sizes");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Decrypts a value sealed with the same key and `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT_V1 {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_own_row_with_their_own_key() {
        let key = MasterKey::generate();
        let sealer = Sealer::new(&key);
        let sealed = sealer.seal("connection:a:credentials", b"token-123");
        assert!(!sealed.windows(9).any(|w| w == b"token-123"), "ciphertext contains the plaintext");
        assert_eq!(sealer.open("connection:a:credentials", &sealed).unwrap(), b"token-123");
        assert_eq!(sealer.open("connection:b:credentials", &sealed), Err(CryptoError::Open));

        let other = Sealer::new(&MasterKey::generate());
        assert_eq!(other.open("connection:a:credentials", &sealed), Err(CryptoError::Open));

        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("connection:a:credentials", &tampered), Err(CryptoError::Open));
    }

    #[test]
    fn keys_round_trip_through_base64_and_bad_keys_say_how_to_make_one() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.secret(), again.secret());
        let err = MasterKey::from_base64("c2hvcnQ=").unwrap_err();
        assert!(err.to_string().contains("openssl rand -base64 32"));
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
    }
}
