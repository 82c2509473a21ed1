//! `application/x-www-form-urlencoded`: token request bodies, query strings, and the form
//! bodies some token endpoints answer with (GitHub does by default).
//!
//! Pairs are `Vec<(String, String)>` everywhere in Keyway: they keep their order and may repeat,
//! which is what providers expect on the wire.

/// Encodes pairs as a form body or query string: `a=1&b=x+y`. Spaces become `+` and everything
/// outside `*-._` and alphanumerics is percent-encoded, as the WHATWG URL standard specifies.
///
/// Accepts `&[("k", "v")]` as well as `&[(String, String)]`.
pub fn encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name.as_ref(), value.as_ref());
    }
    serializer.finish()
}

/// Encodes one value the way [`encode`] would, for building a string by hand, and for the
/// client credentials of HTTP Basic (RFC 6749 §2.3.1).
pub fn encode_component(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Decodes a form body or query string into pairs, in order. `+` becomes a space; invalid
/// UTF-8 is replaced rather than rejected.
pub fn parse(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The value of the first pair named `name`, if any. Works on any pairs: query, inputs,
/// metadata, headers (whose names the host lowercases).
pub fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Renames every pair named `from` to `to`, keeping its value and position: for an app that
/// wants `auth_code` where the standard request sends `code`.
pub fn rename(pairs: &mut [(String, String)], from: &str, to: &str) {
    for (name, _) in pairs.iter_mut().filter(|(n, _)| n == from) {
        *name = to.to_string();
    }
}

/// Sets `name` to `value`: replaces the first pair of that name in place and drops any later
/// ones, or appends the pair when there is none.
pub fn set(pairs: &mut Vec<(String, String)>, name: &str, value: &str) {
    match pairs.iter().position(|(n, _)| n == name) {
        Some(first) => {
            pairs[first].1 = value.to_string();
            let mut index = 0;
            pairs.retain(|(n, _)| {
                let keep = index <= first || n != name;
                index += 1;
                keep
            });
        }
        None => pairs.push((name.to_string(), value.to_string())),
    }
}

/// Removes every pair named `name`: for an app that rejects a field the standard request sends
/// (`grant_type` on a refresh, say).
pub fn remove(pairs: &mut Vec<(String, String)>, name: &str) {
    pairs.retain(|(n, _)| n != name);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn encode_uses_plus_for_spaces_and_escapes_reserved_characters() {
        assert_eq!(
            encode(&[("scope", "read write"), ("redirect_uri", "https://h/oauth?x=1&y")]),
            "scope=read+write&redirect_uri=https%3A%2F%2Fh%2Foauth%3Fx%3D1%26y"
        );
        assert_eq!(encode_component("a+b c:d"), "a%2Bb+c%3Ad");
    }

    #[test]
    fn parse_round_trips_encode_and_keeps_order_and_repeats() {
        let pairs = owned(&[("b", "x y"), ("a", "1+1=2"), ("b", "")]);
        assert_eq!(parse(encode(&pairs).as_bytes()), pairs);
    }

    #[test]
    fn rename_set_and_remove_edit_pairs_in_place() {
        let mut pairs = owned(&[("code", "c"), ("grant_type", "g"), ("code", "d")]);
        rename(&mut pairs, "code", "auth_code");
        assert_eq!(pairs, owned(&[("auth_code", "c"), ("grant_type", "g"), ("auth_code", "d")]));

        set(&mut pairs, "auth_code", "z");
        assert_eq!(pairs, owned(&[("auth_code", "z"), ("grant_type", "g")]));
        set(&mut pairs, "extra", "1");
        assert_eq!(get(&pairs, "extra"), Some("1"));

        remove(&mut pairs, "grant_type");
        assert_eq!(pairs, owned(&[("auth_code", "z"), ("extra", "1")]));
        assert_eq!(get(&pairs, "grant_type"), None);
    }
}
