//! `POST /oauth/token`: the code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5) and refresh (RFC 6749 §6).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::params::{Params, media_type, parse_scopes, require_form_body};
use crate::server::{Refusal, no_store_json};
use crate::store::{CodeState, Issued, RefreshState, Shared, Store, TokenOverride, lock};
use crate::{MockConfig, TokenError, client_auth};

pub(crate) async fn token(
    State(shared): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (queued, latency) = {
        let mut store = lock(&shared);
        (store.token_overrides.pop_front(), store.config.token_latency)
    };
    crate::delay::sleep(latency).await;
    match queued {
        Some(TokenOverride::Error(error)) => Refusal::OAuth(error).into_response(),
        Some(TokenOverride::Raw { status, content_type, body }) => {
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => match exchange(&shared, query.as_deref(), &headers, &body) {
            Ok(issued) => {
                let mut answer = token_response(&issued);
                let config = lock(&shared).config.clone();
                if let (Some(ttl), true) = (config.refresh_token_ttl, issued.refresh_token.is_some()) {
                    answer["refresh_token_expires_in"] = json!(ttl);
                }
                if config.session_tokens {
                    answer["session_token"] = json!(format!("mock-st-{}", issued.access_token));
                }
                (StatusCode::OK, no_store_json(answer.to_string())).into_response()
            }
            Err(error) => Refusal::OAuth(error).into_response(),
        },
    }
}

fn exchange(shared: &Shared, query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Issued, TokenError> {
    require_json_accepted(headers)?;
    require_form_body(headers)?;
    let form = Params::parse(body);
    let query = Params::from_query(query);
    form.refuse_repeated()?;
    let config = lock(shared).config.clone();
    let client_id = client_auth::authenticate(&config, headers, &form)?;
    match form.get("grant_type") {
        None => {
            Err(TokenError::invalid_request("`grant_type` is missing: send `authorization_code` or `refresh_token`"))
        }
        Some("authorization_code") => redeem_code(&mut lock(shared), &config, &client_id, &form, &query),
        Some("refresh_token") => refresh(&mut lock(shared), &config, &client_id, &form, &query),
        Some(other) => Err(TokenError::unsupported_grant_type(format!(
            "grant_type `{other}` is not supported: use `authorization_code` or `refresh_token`"
        ))),
    }
}

/// The token endpoint answers JSON only to a client that asks for it, as GitHub does; the help article's
/// standard request sends `Accept: application/json`.
pub(crate) fn require_json_accepted(headers: &HeaderMap) -> Result<(), TokenError> {
    let accepts_json = headers
        .get_all(header::ACCEPT)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .flat_map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .any(|range| {
            let (essence, params) = media_type(&range);
            let refused = params.iter().any(|(k, v)| k == "q" && v.parse::<f32>().is_ok_and(|q| q == 0.0));
            essence == "application/json" && !refused
        });
    if accepts_json {
        Ok(())
    } else {
        Err(TokenError::invalid_request(
            "send `Accept: application/json`: this token endpoint answers in JSON only when the request asks for it",
        )
        .with_status(406))
    }
}

pub(crate) fn redeem_code(
    store: &mut Store,
    config: &MockConfig,
    client_id: &str,
    form: &Params,
    query: &Params,
) -> Result<Issued, TokenError> {
    let code = form.require("code", query, "send the code from the authorization redirect")?;
    let redirect_uri = form.require(
        "redirect_uri",
        query,
        "send exactly the redirect_uri of the authorization request (RFC 6749 §4.1.3)",
    )?;
    let Some(entry) = store.codes.get_mut(code) else {
        return Err(TokenError::invalid_grant("unknown authorization code"));
    };
    match entry.state {
        CodeState::Fresh => {}
        CodeState::Burned => {
            return Err(TokenError::invalid_grant("authorization code already presented once; codes are single-use"));
        }
        CodeState::Redeemed(grant) => {
            store.revoke_grant(grant);
            return Err(TokenError::invalid_grant(
                "authorization code already used; the tokens issued for it are now revoked (RFC 6749 §4.1.2)",
            ));
        }
    }
    // One attempt per code: a failed exchange burns it too.
    entry.state = CodeState::Burned;
    if Instant::now() >= entry.expires_at {
        return Err(TokenError::invalid_grant("authorization code expired (codes live 60 seconds)"));
    }
    if entry.client_id != client_id {
        return Err(TokenError::invalid_grant("authorization code was issued to another client"));
    }
    if entry.redirect_uri != redirect_uri {
        return Err(TokenError::invalid_grant(format!(
            "redirect_uri `{redirect_uri}` differs from `{}` of the authorization request; it must be \
             identical (RFC 6749 §4.1.3)",
            entry.redirect_uri
        )));
    }
    check_verifier(entry.code_challenge.as_deref(), form.get("code_verifier"))?;
    let scopes = entry.scopes.clone();
    let grant = store.new_grant();
    if let Some(entry) = store.codes.get_mut(code) {
        entry.state = CodeState::Redeemed(grant);
    }
    Ok(store.issue(client_id, grant, scopes, config.issue_refresh_tokens))
}

/// RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) must equal the challenge.
fn check_verifier(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), TokenError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(TokenError::invalid_grant(
            "`code_verifier` is sent, but the authorization request had no `code_challenge`",
        )),
        (Some(_), None) => Err(TokenError::invalid_grant(
            "`code_verifier` is missing: the authorization request had a `code_challenge` (RFC 7636 §4.5)",
        )),
        (Some(challenge), Some(verifier)) => {
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !well_formed {
                return Err(TokenError::invalid_request(
                    "`code_verifier` must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)",
                ));
            }
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
                return Err(TokenError::invalid_grant(
                    "`code_verifier` does not match the code_challenge: base64url(sha256(verifier)) differs",
                ));
            }
            Ok(())
        }
    }
}

pub(crate) fn refresh(
    store: &mut Store,
    config: &MockConfig,
    client_id: &str,
    form: &Params,
    query: &Params,
) -> Result<Issued, TokenError> {
    let presented = form.require("refresh_token", query, "send the refresh token to renew")?;
    let Some(entry) = store.refresh_tokens.get(presented) else {
        let hint = if store.access_tokens.contains_key(presented) { ": that is an access token" } else { "" };
        return Err(TokenError::invalid_grant(format!("unknown refresh token{hint}")));
    };
    let (grant, original_scopes) = (entry.grant, entry.scopes.clone());
    match entry.state {
        RefreshState::Active => {}
        RefreshState::Revoked => {
            return Err(TokenError::invalid_grant("refresh token was revoked"));
        }
        RefreshState::RotatedOut => {
            // A replayed rotated token means two parties hold it: end the whole grant (RFC 9700 §4.14.2).
            store.revoke_grant(grant);
            return Err(TokenError::invalid_grant(
                "refresh token was already used and replaced by a newer one; replaying it revokes the whole \
                 grant (RFC 9700 §4.14.2)",
            ));
        }
    }
    if entry.client_id != client_id {
        return Err(TokenError::invalid_grant("refresh token was issued to another client"));
    }
    let scopes = match form.get("scope") {
        None => original_scopes.clone(),
        Some(scope) => {
            let requested = parse_scopes(Some(scope)).map_err(TokenError::invalid_scope)?;
            if let Some(extra) = requested.iter().find(|s| !original_scopes.contains(s)) {
                return Err(TokenError::invalid_scope(format!(
                    "scope `{extra}` was not granted originally; a refresh may only narrow the scopes (RFC 6749 §6)"
                )));
            }
            requested
        }
    };
    let mut issued = store.issue(client_id, grant, scopes, false);
    if config.rotate_refresh_tokens {
        if let Some(old) = store.refresh_tokens.get_mut(presented) {
            old.state = RefreshState::RotatedOut;
        }
        // The new refresh token keeps the original grant's scopes, whatever this refresh narrowed.
        issued.refresh_token = Some(store.issue_refresh_token(client_id, grant, original_scopes));
    }
    Ok(issued)
}

/// RFC 6749 §5.1.
pub(crate) fn token_response(issued: &Issued) -> Value {
    let mut body = Map::new();
    body.insert("access_token".into(), json!(issued.access_token));
    body.insert("token_type".into(), json!("Bearer"));
    if let Some(expires_in) = issued.expires_in {
        body.insert("expires_in".into(), json!(expires_in));
    }
    if let Some(refresh_token) = &issued.refresh_token {
        body.insert("refresh_token".into(), json!(refresh_token));
    }
    // An empty scope is not valid syntax (RFC 6749 §3.3), so a grant without scopes omits it.
    if !issued.scopes.is_empty() {
        body.insert("scope".into(), json!(issued.scopes.join(" ")));
    }
    Value::Object(body)
}
