//! HMAC-SHA256 and SHA-256, for apps that sign their requests (a `sign` query parameter over the
//! path, sorted parameters and body; a webhook or callback `hmac`). Built on the RustCrypto
//! `hmac` and `sha2` crates, which build for the sandbox; a plugin that needs another digest can
//! depend on them directly.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

/// HMAC-SHA256 of `message` under `key`: the raw 32 bytes, for a signature sent as base64.
///
/// ```
/// let mac = keyway_sdk::hmac_sha256(b"key", b"The quick brown fox jumps over the lazy dog");
/// assert_eq!(mac[..4], [0xf7, 0xbc, 0x83, 0xf4]);
/// ```
pub fn hmac_sha256(key: impl AsRef<[u8]>, message: impl AsRef<[u8]>) -> [u8; 32] {
    // HMAC takes a key of any length (longer ones are hashed first), so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_ref()).expect("HMAC accepts keys of any length");
    mac.update(message.as_ref());
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `message` under `key`, as 64 lowercase hex digits: the form most signing
/// schemes send (TikTok Shop's `sign`, Shopify's callback `hmac`).
///
/// ```
/// assert_eq!(
///     keyway_sdk::hmac_sha256_hex("key", "The quick brown fox jumps over the lazy dog"),
///     "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
/// );
/// ```
pub fn hmac_sha256_hex(key: impl AsRef<[u8]>, message: impl AsRef<[u8]>) -> String {
    to_hex(&hmac_sha256(key, message))
}

/// SHA-256 of `data`, as 64 lowercase hex digits: the body hash some signatures cover (AWS SigV4's
/// payload hash).
///
/// ```
/// assert_eq!(
///     keyway_sdk::sha256_hex(""),
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    to_hex(&Sha256::digest(data.as_ref()))
}

/// Lowercase hex, two digits a byte.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_sha256_hashes_keys_longer_than_a_block() {
        // RFC 4231 §4.7: a 131-byte key of 0xaa.
        let key = [0xaa_u8; 131];
        assert_eq!(
            hmac_sha256_hex(key, "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn hex_is_lowercase_and_two_digits_a_byte() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
