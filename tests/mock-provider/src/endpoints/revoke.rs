//! `POST /oauth/revoke`: token revocation (RFC 7009).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::params::{Params, require_form_body};
use crate::server::Refusal;
use crate::store::{Shared, Store, lock};
use crate::{TokenError, client_auth};

pub(crate) async fn revoke(
    State(shared): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke_token(&shared, query.as_deref(), &headers, &body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => Refusal::OAuth(error).into_response(),
    }
}

fn revoke_token(shared: &Shared, query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<(), TokenError> {
    require_form_body(headers)?;
    let form = Params::parse(body);
    form.refuse_repeated()?;
    let config = lock(shared).config.clone();
    let client_id = client_auth::authenticate(&config, headers, &form)?;
    let token = form.require("token", &Params::from_query(query), "send the token to revoke (RFC 7009 §2.1)")?;
    match form.get("token_type_hint") {
        None | Some("access_token" | "refresh_token") => {}
        Some(other) => {
            return Err(TokenError::invalid_request(format!(
                "token_type_hint `{other}` is not a token type: use `access_token` or `refresh_token`"
            )));
        }
    }

    revoke_in_store(&mut lock(shared), &client_id, token)
}

/// Revokes `token` for `client_id`: a refresh token ends its whole grant, an access token only itself.
pub(crate) fn revoke_in_store(store: &mut Store, client_id: &str, token: &str) -> Result<(), TokenError> {
    // The hint only speeds up a real server's lookup; both kinds are searched whatever it says (RFC 7009 §2.1).
    if let Some(refresh) = store.refresh_tokens.get(token) {
        if refresh.client_id != client_id {
            return Err(TokenError::unauthorized_client("this token was issued to another client"));
        }
        // Revoking a refresh token ends its grant, including the access tokens issued with it (RFC 7009 §2.1).
        let grant = refresh.grant;
        store.revoke_grant(grant);
    } else if let Some(access) = store.access_tokens.get_mut(token) {
        if access.client_id != client_id {
            return Err(TokenError::unauthorized_client("this token was issued to another client"));
        }
        access.revoked = true;
    }
    // Unknown and already revoked tokens get 200 as well: the client's goal is met (RFC 7009 §2.2).
    Ok(())
}
