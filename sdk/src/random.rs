//! Random values from WASI's `random` interface, which the host backs with its operating
//! system's secure generator: nonces (OAuth 1.0a's `oauth_nonce`), a JWT `jti`, a correlation
//! id per request. Through the `getrandom` crate, which supports `wasm32-wasip2`.
//!
//! The host always provides WASI random, so these functions do not return errors; if it ever
//! failed they would panic, which stops the hook with a trap the admin sees.

/// Fills `buffer` with secure random bytes.
pub fn fill(buffer: &mut [u8]) {
    getrandom::fill(buffer).expect("WASI random is unavailable: the Keyway host always provides it");
}

/// `len` secure random bytes.
pub fn bytes(len: usize) -> Vec<u8> {
    let mut buffer = vec![0; len];
    fill(&mut buffer);
    buffer
}

/// `len` random bytes as `2 * len` lowercase hex digits: `hex(16)` is a 128-bit nonce.
///
/// ```
/// let nonce = keyway_sdk::random::hex(16);
/// assert_eq!(nonce.len(), 32);
/// assert!(nonce.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
/// ```
pub fn hex(len: usize) -> String {
    crate::digest::to_hex(&bytes(len))
}

/// `len` random characters from `A-Z a-z 0-9`, each equally likely (about 5.95 bits each): the
/// form OAuth 1.0a nonces and many `state`-like values take.
///
/// ```
/// let nonce = keyway_sdk::random::alphanumeric(32);
/// assert_eq!(nonce.len(), 32);
/// assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
/// ```
pub fn alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Rejection sampling: bytes from 248 up would favour the first characters (256 % 62 = 8),
    // so they are drawn again.
    const LIMIT: u8 = 248;
    let mut text = String::with_capacity(len);
    let mut pool = [0u8; 64];
    while text.len() < len {
        fill(&mut pool);
        for byte in pool.iter().filter(|&&b| b < LIMIT) {
            if text.len() == len {
                break;
            }
            text.push(ALPHABET[usize::from(byte % 62)] as char);
        }
    }
    text
}

/// A random (version 4) UUID in its hyphenated lowercase form,
/// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`: a request or correlation id. From the `uuid` crate.
///
/// ```
/// let id = keyway_sdk::random::uuid_v4();
/// assert_eq!((id.len(), &id[14..15]), (36, "4"));
/// ```
pub fn uuid_v4() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_have_the_length_asked_for() {
        assert_eq!(bytes(0), Vec::<u8>::new());
        assert_eq!(bytes(33).len(), 33);
        // 128 bits colliding would mean the generator is broken.
        assert_ne!(hex(16), hex(16));
        assert_ne!(alphanumeric(22), alphanumeric(22));
        assert_ne!(uuid_v4(), uuid_v4());
    }

    #[test]
    fn alphanumeric_uses_the_whole_alphabet_and_nothing_else() {
        let text = alphanumeric(5000);
        assert_eq!(text.len(), 5000);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric()), "{text}");
        // 5000 draws from 62 characters miss one with probability about 62 * e^-80.
        for class in [b'A'..=b'Z', b'a'..=b'z', b'0'..=b'9'] {
            for c in class {
                assert!(text.as_bytes().contains(&c), "never drew {}", c as char);
            }
        }
    }

    #[test]
    fn uuids_are_version_4_variant_1() {
        let id = uuid_v4();
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(id, id.to_lowercase());
        assert_eq!(id.matches('-').count(), 4);
    }
}
