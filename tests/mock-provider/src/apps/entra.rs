//! Microsoft Entra ID, the Microsoft identity platform's v2.0 endpoints
//! (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow): every request names the
//! directory as the first segment of its path, `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/...`, where
//! `{tenant}` is `common`, `organizations`, `consumers`, a tenant id (a GUID) or a verified domain name such as
//! `contoso.onmicrosoft.com` (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols#endpoints).
//! Codes and refresh tokens are redeemed at the tenant that issued them.
//!
//! - `GET /{tenant}/oauth2/v2.0/authorize`: `client_id`, `response_type=code`, `redirect_uri`, `scope` (required,
//!   space-separated), `state`, and PKCE `code_challenge` with `code_challenge_method`. An unknown tenant is an
//!   error page (AADSTS90002), never a redirect.
//! - Scopes (https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc): the OpenID Connect scopes
//!   `openid`, `profile`, `email` and `offline_access` (without which no refresh token is issued), plus the
//!   permissions of **one** resource (`https://graph.microsoft.com/User.Read`, or `User.Read` for Graph); a scope
//!   list naming two resources is refused (AADSTS28000). `{resource}/.default` asks for every permission configured
//!   on the app registration and cannot be combined with other permissions of the same resource (AADSTS70011); the
//!   answer's `scope` names the configured permissions instead ([`CONFIGURED_PERMISSION`]).
//! - `POST /{tenant}/oauth2/v2.0/token`: a form (`application/x-www-form-urlencoded`) with `client_id`,
//!   `grant_type`, `code` and `redirect_uri` (or `refresh_token`), `code_verifier`, an optional `scope`, and the
//!   client secret in the body (`client_secret`) or, "per RFC 6749", in an `Authorization: Basic` header, not both.
//!   A refresh must send `scope` (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token),
//!   no wider than the original request. Each refresh answers a new refresh token; this mock retires the old one at
//!   once (Microsoft leaves it valid until its own lifetime ends), so a client that keeps the old one is caught.
//!   Errors are `{"error", "error_description": "AADSTS…: …", "error_codes": […]}` (RFC 6749 §5.2 plus codes).
//! - `GET /v1.0/me` (Microsoft Graph, https://learn.microsoft.com/en-us/graph/api/user-get): `Authorization:
//!   Bearer`; refusals are Graph's `{"error": {"code": "InvalidAuthenticationToken", "message"}}`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{authenticate_as, authorization_token, begin_authorize, json_answer, mint_code, queued_answer};
use crate::endpoints::authorize::pkce_challenge;
use crate::endpoints::token::{redeem_code, refresh, token_response};
use crate::params::{Params, parse_scopes, require_form_body};
use crate::server::Refusal;
use crate::store::{Issued, Shared, lock};
use crate::{ClientAuthRule, MockConfig, TokenError};

/// The authorization endpoint, after the tenant segment: `/{tenant}/oauth2/v2.0/authorize`.
pub const AUTHORIZE_PATH: &str = "/oauth2/v2.0/authorize";
/// The token endpoint, after the tenant segment: `/{tenant}/oauth2/v2.0/token`.
pub const TOKEN_PATH: &str = "/oauth2/v2.0/token";
/// Microsoft Graph's "Get the signed-in user".
pub const ME_PATH: &str = "/v1.0/me";
/// A tenant by its domain name, dots and all.
pub const TENANT: &str = "contoso.onmicrosoft.com";
/// Microsoft Graph's resource identifier, the prefix of its permissions.
pub const GRAPH: &str = "https://graph.microsoft.com";
/// The one permission configured on the mock's app registration: what `.default` grants.
pub const CONFIGURED_PERMISSION: &str = "User.Read";

/// What Entra mode remembers beyond the standard codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// The tenant each code and refresh token was issued at.
    tenant_of: HashMap<String, String>,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(&format!("/{{tenant}}{AUTHORIZE_PATH}"), get(authorize))
        .route(&format!("/{{tenant}}{TOKEN_PATH}"), post(token))
        .route(ME_PATH, get(me))
}

/// Whether `tenant` names a directory: one of the three audiences, a GUID, or a domain name.
fn known_tenant(tenant: &str) -> bool {
    let guid = tenant.len() == 36
        && tenant
            .char_indices()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    let domain = tenant.contains('.')
        && tenant.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    matches!(tenant, "common" | "organizations" | "consumers") || guid || domain
}

fn no_tenant(tenant: &str) -> String {
    format!("AADSTS90002: Tenant '{tenant}' not found: use a tenant id, a verified domain, or common")
}

/// The resource a scope belongs to (`None` for the OpenID Connect scopes) and the permission within it.
fn resource_of(scope: &str) -> Option<(&str, &str)> {
    if matches!(scope, "openid" | "profile" | "email" | "offline_access") {
        return None;
    }
    Some(scope.rsplit_once('/').unwrap_or((GRAPH, scope)))
}

/// Checks a scope list against the v2 rules: one resource, and `.default` alone for its resource.
fn check_scopes(scopes: &[String]) -> Result<(), String> {
    let resources: Vec<(&str, &str)> = scopes.iter().filter_map(|s| resource_of(s)).collect();
    if let Some((other, _)) = resources.iter().find(|(r, _)| *r != resources[0].0) {
        return Err(format!(
            "AADSTS28000: the scope names more than one resource ({} and {other}): ask for one resource's \
             permissions, plus openid, profile, email and offline_access",
            resources[0].0
        ));
    }
    if resources.len() > 1 && resources.iter().any(|(_, permission)| *permission == ".default") {
        return Err("AADSTS70011: the scope combines `.default` with other permissions of the same resource: \
                    `.default` already asks for every permission configured on the app"
            .to_owned());
    }
    Ok(())
}

async fn authorize(State(shared): State<Shared>, Path(tenant): Path<String>, RawQuery(query): RawQuery) -> Response {
    if !known_tenant(&tenant) {
        return Refusal::Page(no_tenant(&tenant)).into_response();
    }
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    if params.get("response_type") != Some("code") {
        return redirect.error("unsupported_response_type", "AADSTS900144: send `response_type=code`");
    }
    let scopes = match parse_scopes(params.get("scope")) {
        Ok(scopes) if !scopes.is_empty() => scopes,
        Ok(_) => {
            return redirect.error("invalid_request", "AADSTS900144: the request must contain the parameter `scope`");
        }
        Err(message) => return redirect.error("invalid_scope", &message),
    };
    if let Err(message) = check_scopes(&scopes) {
        return redirect.error("invalid_scope", &message);
    }
    let challenge = match pkce_challenge(&params, config.require_pkce) {
        Ok(challenge) => challenge,
        Err(message) => return redirect.error("invalid_request", &message),
    };
    match mint_code(&shared, &config, &redirect, scopes, challenge) {
        Ok(code) => {
            lock(&shared).app.entra.tenant_of.insert(code.clone(), tenant);
            redirect.answer(&[("code", &code)])
        }
        Err(denied) => *denied,
    }
}

async fn token(State(shared): State<Shared>, Path(tenant): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    match exchange(&shared, &tenant, &headers, &body) {
        Ok(answer) => json_answer(StatusCode::OK, &answer),
        Err(error) => {
            let code = error.description.as_deref().and_then(|d| d.strip_prefix("AADSTS")?.split(':').next());
            let codes: Vec<u64> = code.and_then(|c| c.parse().ok()).into_iter().collect();
            let body = json!({"error": error.error, "error_description": error.description, "error_codes": codes});
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
            json_answer(status, &body)
        }
    }
}

fn exchange(shared: &Shared, tenant: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, TokenError> {
    if !known_tenant(tenant) {
        return Err(TokenError::invalid_request(no_tenant(tenant)));
    }
    require_form_body(headers)?;
    let params = Params::parse(body);
    params.refuse_repeated()?;
    let config = lock(shared).config.clone();
    // The secret in the body, or in a Basic header "per RFC 6749"; one of the two.
    let rule = if headers.contains_key(header::AUTHORIZATION) { ClientAuthRule::Basic } else { ClientAuthRule::Post };
    let client_id = authenticate_as(rule, &config, headers, &params)?;
    if let Some(scope) = params.get("scope") {
        check_scopes(&parse_scopes(Some(scope)).map_err(TokenError::invalid_scope)?)
            .map_err(TokenError::invalid_scope)?;
    }
    let (presented, refreshing) = match params.get("grant_type") {
        Some("authorization_code") => (params.get("code"), false),
        Some("refresh_token") => (params.get("refresh_token"), true),
        None => return Err(TokenError::invalid_request("AADSTS900144: the request must contain `grant_type`")),
        Some(other) => {
            return Err(TokenError::unsupported_grant_type(format!(
                "AADSTS70003: grant_type `{other}` is not supported here: use `authorization_code` or `refresh_token`"
            )));
        }
    };
    if refreshing && params.get("scope").is_none() {
        return Err(TokenError::invalid_request(
            "AADSTS900144: a refresh must contain `scope`: the scopes of the original request, or fewer",
        ));
    }
    let mut store = lock(shared);
    if let Some(presented) = presented
        && store.app.entra.tenant_of.get(presented).is_some_and(|issuer| issuer != tenant)
    {
        return Err(TokenError::invalid_grant(format!(
            "AADSTS50148: this grant was issued by another tenant than `{tenant}`: redeem it where it was issued"
        )));
    }
    let no_query = Params::from_pairs(Vec::new());
    let granted_offline = |issued: &Issued| issued.scopes.iter().any(|s| s == "offline_access");
    let mut issued = if refreshing {
        refresh(&mut store, &MockConfig { rotate_refresh_tokens: true, ..config }, &client_id, &params, &no_query)?
    } else {
        let mut issued = redeem_code(&mut store, &config, &client_id, &params, &no_query)?;
        if !granted_offline(&issued) {
            issued.refresh_token = None;
        }
        issued
    };
    if let Some(refresh_token) = &issued.refresh_token {
        store.app.entra.tenant_of.insert(refresh_token.clone(), tenant.to_owned());
    }
    issued.scopes = issued.scopes.iter().filter(|s| resource_of(s).is_some()).map(|s| granted(s)).collect();
    let mut answer = token_response(&issued);
    answer["ext_expires_in"] = answer["expires_in"].clone();
    Ok(answer)
}

/// How the answer names a granted scope: a full permission URI, with `.default` replaced by what the app
/// registration configures.
fn granted(scope: &str) -> String {
    match resource_of(scope) {
        Some((resource, ".default")) => format!("{resource}/{CONFIGURED_PERMISSION}"),
        Some((resource, permission)) => format!("{resource}/{permission}"),
        None => scope.to_owned(),
    }
}

async fn me(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let refused = |message: String| {
        let body = json!({"error": {"code": "InvalidAuthenticationToken", "message": message}});
        json_answer(StatusCode::UNAUTHORIZED, &body)
    };
    let token = match authorization_token(&headers, &["Bearer"]) {
        Ok(token) => token,
        Err(message) => return refused(message),
    };
    if let Err(message) = super::check_access_token(&shared, &token) {
        return refused(message);
    }
    let user = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
        "displayName": "Adele Vance",
        "userPrincipalName": format!("AdeleV@{TENANT}"),
    });
    json_answer(StatusCode::OK, &user)
}
