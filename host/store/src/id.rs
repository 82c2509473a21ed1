//! Opaque random ids.

/// A new opaque id: `prefix`, an underscore, and 128 random bits as 32 lowercase hex digits, for example
/// `new_id("int")` is `int_3fa94c…`. Ids are unguessable, so knowing one grants nothing by itself.
///
/// Prefixes in use: `int` (integrations), `con` (connections), `key` (API keys).
///
/// # Panics
///
/// If the operating system's random number generator fails, which on the platforms Keyway runs on it does not.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    format!("{prefix}_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::new_id;

    #[test]
    fn ids_carry_their_prefix_and_128_random_bits() {
        let id = new_id("con");
        let hex = id.strip_prefix("con_").expect("prefix and underscore");
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{id}");
        let many: std::collections::HashSet<String> = (0..1000).map(|_| new_id("con")).collect();
        assert_eq!(many.len(), 1000, "ids repeat");
    }
}
