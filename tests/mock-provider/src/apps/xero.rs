//! Xero (https://developer.xero.com/documentation/guides/oauth2/auth-flow). The mock plays `login.xero.com`,
//! `identity.xero.com` and `api.xero.com` at one address.
//!
//! - `GET /identity/connect/authorize` (on `login.xero.com`): `response_type=code`, `client_id`, `redirect_uri`,
//!   `scope` (space-separated, e.g. `openid profile email accounting.settings offline_access`), `state`, and PKCE
//!   when the client uses it (https://developer.xero.com/documentation/guides/oauth2/pkce-flow).
//! - `POST /connect/token` (on `identity.xero.com`): a form, the client authenticated with `Authorization: Basic`;
//!   `grant_type=authorization_code`, `code`, `redirect_uri` (and `code_verifier`), or `grant_type=refresh_token`,
//!   `refresh_token`. The answer: `access_token` (30 minutes, `expires_in: 1800`), `token_type`, `scope`, and a
//!   `refresh_token` only with `offline_access`. Refresh tokens rotate, and each lives 60 days
//!   (https://developer.xero.com/documentation/guides/oauth2/token-types/#refresh-token), a lifetime the answer
//!   does not state. Xero lets a replaced refresh token work for a 30-minute grace period; this mock retires it at
//!   once.
//! - `GET /connections` (on `api.xero.com`, https://developer.xero.com/documentation/guides/oauth2/tenants):
//!   `Authorization: Bearer`; the tenants the user connected, `[{"id", "authEventId", "tenantId", "tenantType",
//!   "tenantName", "createdDateUtc", "updatedDateUtc"}]`, in the order they were connected.
//! - `GET /api.xro/2.0/Organisation` (https://developer.xero.com/documentation/api/accounting/organisation):
//!   `Authorization: Bearer` and `xero-tenant-id`, a tenant this token is connected to; otherwise 403 with Xero's
//!   problem body `{"Title": "Forbidden", "Status": 403, "Detail": "AuthorizationUnsuccessful"}`.
//! - `POST /connect/revocation` (https://developer.xero.com/documentation/guides/oauth2/auth-flow/#revoking-tokens):
//!   Basic client authentication and `token=<refresh token>`; it ends the grant and removes its connections.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{
    authenticate_as, authorization_token, begin_authorize, json_answer, mint_code, queued_answer, set_lifetime,
};
use crate::endpoints::authorize::pkce_challenge;
use crate::endpoints::revoke::revoke_in_store;
use crate::endpoints::token::{redeem_code, refresh, token_response};
use crate::params::{Params, parse_scopes, require_form_body};
use crate::server::Refusal;
use crate::store::{Shared, lock};
use crate::{ClientAuthRule, MockConfig, TokenError};

/// The authorization page, on `https://login.xero.com`.
pub const AUTHORIZE_PATH: &str = "/identity/connect/authorize";
/// The token endpoint, on `https://identity.xero.com`.
pub const TOKEN_PATH: &str = "/connect/token";
/// The revocation endpoint, on `https://identity.xero.com`.
pub const REVOKE_PATH: &str = "/connect/revocation";
/// The connected tenants, on `https://api.xero.com`.
pub const CONNECTIONS_PATH: &str = "/connections";
/// The accounting API's organisation, on `https://api.xero.com`.
pub const ORGANISATION_PATH: &str = "/api.xro/2.0/Organisation";
/// The tenants the mock's user connects, in order: (tenant id, name).
pub const TENANTS: [(&str, &str); 2] = [
    ("70784a63-d24b-46a9-a4db-0e70a274b056", "Maple Florists"),
    ("ab2b1c14-5f5c-4fbd-9a3f-0c3b6a4ab5a1", "Demo Company (Global)"),
];
/// Access tokens live 30 minutes.
pub const ACCESS_TOKEN_SECONDS: u64 = 1800;
/// Refresh tokens live 60 days.
pub const REFRESH_TOKEN_SECONDS: u64 = 60 * 24 * 3600;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(REVOKE_PATH, post(revoke))
        .route(CONNECTIONS_PATH, get(connections))
        .route(ORGANISATION_PATH, get(organisation))
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    if params.get("response_type") != Some("code") {
        return redirect.error("unsupported_response_type", "send `response_type=code`");
    }
    let scopes = match parse_scopes(params.get("scope")) {
        Ok(scopes) if !scopes.is_empty() => scopes,
        Ok(_) => return redirect.error("invalid_scope", "`scope` is missing: list the scopes, separated by spaces"),
        Err(message) => return redirect.error("invalid_scope", &message),
    };
    let challenge = match pkce_challenge(&params, config.require_pkce) {
        Ok(challenge) => challenge,
        Err(message) => return redirect.error("invalid_request", &message),
    };
    match mint_code(&shared, &config, &redirect, scopes, challenge) {
        Ok(code) => redirect.answer(&[("code", &code)]),
        Err(denied) => *denied,
    }
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    match exchange(&shared, &headers, &body) {
        Ok(answer) => json_answer(StatusCode::OK, &answer),
        Err(error) => Refusal::OAuth(error).into_response(),
    }
}

fn exchange(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, TokenError> {
    require_form_body(headers)?;
    let params = Params::parse(body);
    params.refuse_repeated()?;
    let config = lock(shared).config.clone();
    let client_id = authenticate_as(ClientAuthRule::Basic, &config, headers, &params)?;
    let no_query = Params::from_pairs(Vec::new());
    let mut store = lock(shared);
    let mut issued = match params.get("grant_type") {
        Some("authorization_code") => {
            let mut issued = redeem_code(&mut store, &config, &client_id, &params, &no_query)?;
            if !issued.scopes.iter().any(|s| s == "offline_access") {
                issued.refresh_token = None;
            }
            issued
        }
        Some("refresh_token") => {
            let rotating = MockConfig { rotate_refresh_tokens: true, ..config };
            refresh(&mut store, &rotating, &client_id, &params, &no_query)?
        }
        None => return Err(TokenError::invalid_request("`grant_type` is missing")),
        Some(other) => {
            return Err(TokenError::unsupported_grant_type(format!("grant_type `{other}` is not supported")));
        }
    };
    set_lifetime(&mut store, &mut issued, Some(ACCESS_TOKEN_SECONDS));
    Ok(token_response(&issued))
}

async fn revoke(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let revoked = (|| {
        require_form_body(&headers)?;
        let params = Params::parse(&body);
        params.refuse_repeated()?;
        let config = lock(&shared).config.clone();
        let client_id = authenticate_as(ClientAuthRule::Basic, &config, &headers, &params)?;
        let token = params.require("token", &Params::from_pairs(Vec::new()), "send the refresh token to revoke")?;
        revoke_in_store(&mut lock(&shared), &client_id, token)
    })();
    match revoked {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => Refusal::OAuth(error).into_response(),
    }
}

/// The 401 or 403 problem answer Xero's API gives.
fn problem(status: StatusCode, detail: &str) -> Response {
    let title = if status == StatusCode::FORBIDDEN { "Forbidden" } else { "Unauthorized" };
    json_answer(status, &json!({"Type": null, "Title": title, "Status": status.as_u16(), "Detail": detail}))
}

/// Checks the request's bearer token, or gives the 401 to answer.
fn bearer(shared: &Shared, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let unauthorized =
        |why: String| Box::new(problem(StatusCode::UNAUTHORIZED, &format!("AuthenticationUnsuccessful: {why}")));
    let token = authorization_token(headers, &["Bearer"]).map_err(unauthorized)?;
    super::check_access_token(shared, &token).map(|_| ()).map_err(unauthorized)
}

async fn connections(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(refused) = bearer(&shared, &headers) {
        return *refused;
    }
    let tenants: Vec<Value> = TENANTS
        .iter()
        .enumerate()
        .map(|(i, (id, name))| {
            json!({
                "id": format!("e1eede29-f875-4a5d-8470-17f6a29a88b{i}"),
                "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
                "tenantId": id,
                "tenantType": "ORGANISATION",
                "tenantName": name,
                "createdDateUtc": "2019-07-09T23:40:30.1833130",
                "updatedDateUtc": "2020-05-15T01:35:13.8491980",
            })
        })
        .collect();
    json_answer(StatusCode::OK, &Value::Array(tenants))
}

async fn organisation(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(refused) = bearer(&shared, &headers) {
        return *refused;
    }
    let tenant = headers.get("xero-tenant-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some((id, name)) = TENANTS.iter().find(|(id, _)| *id == tenant) else {
        let why =
            format!("AuthorizationUnsuccessful: xero-tenant-id `{tenant}` is not a tenant this token is connected to");
        return problem(StatusCode::FORBIDDEN, &why);
    };
    let organisation = json!({"OrganisationID": id, "Name": name, "CountryCode": "NZ", "BaseCurrency": "NZD"});
    json_answer(StatusCode::OK, &json!({"Status": "OK", "Organisations": [organisation]}))
}
