//! Client authentication at the token and revoke endpoints, exactly per [`ClientAuthRule`] (RFC 6749 §2.3).

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::params::Params;
use crate::{ClientAuthRule, MockConfig, TokenError};

const ONE_METHOD: &str = "use one client authentication method per request (RFC 6749 §2.3)";

/// Authenticates the client and returns its id, or the error to answer.
pub(crate) fn authenticate(config: &MockConfig, headers: &HeaderMap, form: &Params) -> Result<String, TokenError> {
    let mut authorization = headers.get_all(header::AUTHORIZATION).iter();
    let header_value = authorization.next();
    if authorization.next().is_some() {
        return Err(TokenError::invalid_request("more than one Authorization header"));
    }
    let header_value = header_value.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");

    let (id, secret) = match config.client_auth {
        ClientAuthRule::Basic => {
            if body_secret.is_some() {
                return Err(TokenError::invalid_request(format!(
                    "{ONE_METHOD}: this client authenticates with HTTP Basic, so `client_secret` must not \
                     be in the body"
                )));
            }
            let Some(value) = header_value else {
                return Err(TokenError::invalid_client(
                    "client authentication is missing: send `Authorization: Basic \
                     base64(urlencode(client_id) \":\" urlencode(client_secret))` (RFC 6749 §2.3.1)",
                ));
            };
            let (id, secret) = parse_basic(&value, config)?;
            if let Some(body_id) = body_id
                && body_id != id
            {
                return Err(TokenError::invalid_client(format!(
                    "client_id `{body_id}` in the body disagrees with `{id}` in the Basic header"
                )));
            }
            (id, secret)
        }
        ClientAuthRule::Post => {
            if header_value.is_some() {
                return Err(TokenError::invalid_request(format!(
                    "{ONE_METHOD}: this client sends `client_id` and `client_secret` in the body, so there \
                     must be no Authorization header"
                )));
            }
            let (Some(id), Some(secret)) = (body_id, body_secret) else {
                return Err(TokenError::invalid_client(
                    "client authentication is missing: send `client_id` and `client_secret` in the form body",
                ));
            };
            (id.to_owned(), secret.to_owned())
        }
        ClientAuthRule::BasicAndPost => {
            let Some(value) = header_value else {
                return Err(TokenError::invalid_client(
                    "the Authorization: Basic header is missing: this client sends its credentials both in \
                     the Basic header and in the body",
                ));
            };
            let (id, secret) = parse_basic(&value, config)?;
            let (Some(body_id), Some(body_secret)) = (body_id, body_secret) else {
                return Err(TokenError::invalid_client(
                    "`client_id` and `client_secret` are missing from the body: this client sends its \
                     credentials both in the Basic header and in the body",
                ));
            };
            if body_id != id || body_secret != secret {
                return Err(TokenError::invalid_client("the credentials in the body disagree with the Basic header"));
            }
            (id, secret)
        }
    };

    if id != config.client_id {
        return Err(TokenError::invalid_client(format!("unknown client_id `{id}`")));
    }
    if secret != config.client_secret {
        return Err(TokenError::invalid_client("wrong client secret"));
    }
    Ok(id)
}

/// Reads `Basic base64(urlencode(id) ":" urlencode(secret))`, decoding each part per RFC 6749 §2.3.1.
fn parse_basic(value: &str, config: &MockConfig) -> Result<(String, String), TokenError> {
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(TokenError::invalid_client(format!(
            "Authorization scheme `{scheme}` is not accepted here: use `Basic` (RFC 6749 §2.3.1)"
        )));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| TokenError::invalid_client("the Basic credentials are not valid base64"))?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| TokenError::invalid_client("the Basic credentials are not UTF-8"))?;
    let Some((raw_id, raw_secret)) = decoded.split_once(':') else {
        return Err(TokenError::invalid_client("the Basic credentials have no `:` between client id and secret"));
    };
    let id = form_decode(raw_id).map_err(|e| encoding_error("client id", &e))?;
    let secret = form_decode(raw_secret).map_err(|e| encoding_error("client secret", &e))?;
    if secret != config.client_secret && raw_secret == config.client_secret {
        return Err(encoding_error(
            "client secret",
            "it matches only before decoding, so it was sent without form-urlencoding",
        ));
    }
    Ok((id, secret))
}

fn encoding_error(part: &str, problem: &str) -> TokenError {
    TokenError::invalid_client(format!(
        "the {part} in the Basic header is not form-urlencoded: {problem}. RFC 6749 §2.3.1 requires encoding \
         id and secret with application/x-www-form-urlencoded before base64 (space → `+`, `+` → `%2B`, \
         `:` → `%3A`)"
    ))
}

/// Decodes one `application/x-www-form-urlencoded` value, refusing characters an encoder never leaves raw.
fn form_decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(byte) = byte else {
                    return Err("it has a `%` not followed by two hex digits".to_owned());
                };
                out.push(byte);
                i += 2;
            }
            b if b.is_ascii_alphanumeric() || b"*-._~".contains(&b) => out.push(b),
            b => {
                let shown = char::from_u32(u32::from(b)).filter(|c| c.is_ascii_graphic());
                return Err(match shown {
                    Some(c) => format!("it contains a raw `{c}`"),
                    None if b == b' ' => "it contains a raw space".to_owned(),
                    None => format!("it contains the raw byte 0x{b:02x}"),
                });
            }
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "it decodes to invalid UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn decodes_form_encoding() {
        assert_eq!(form_decode("demo-secret+with%3Aodd%2Bchars").unwrap(), "demo-secret with:odd+chars");
        assert_eq!(form_decode("a%20b~").unwrap(), "a b~");
    }

    #[test]
    fn refuses_raw_reserved_characters_and_broken_escapes() {
        assert_eq!(form_decode("a b").unwrap_err(), "it contains a raw space");
        assert_eq!(form_decode("a:b").unwrap_err(), "it contains a raw `:`");
        assert!(form_decode("a%2").is_err());
        assert!(form_decode("a%zz").is_err());
        assert!(form_decode("%ff").is_err());
    }
}
