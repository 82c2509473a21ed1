//! App modes: the provider plays one real app, with that app's documented endpoints, request formats and quirks,
//! so each per-app plugin is checked against what the app's public documentation says.
//!
//! One file per app. Each cites the documentation page next to its fixtures, serves only that app's endpoints
//! (at the app's own paths, below the provider's base URL), and reuses the strict standard pieces: client
//! authentication, parameter parsing, code redemption, refresh and the token store. Every rule a mode enforces
//! has a request that breaks it in `tests/apps/`.

pub mod atlassian;
pub mod entra;
pub mod github;
pub mod instagram;
pub mod notion;
pub mod quirks;
pub mod shopify;
pub mod slack;
pub mod tiktok;
pub mod tiktok_shop;
pub mod xero;
pub mod zendesk;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::endpoints::api::access_token_scopes;
use crate::endpoints::authorize::{Redirect, verified_redirect_uri};
use crate::params::{Params, media_type};
use crate::server::Refusal;
use crate::store::{AuthCode, CODE_TTL, CodeState, Issued, Shared, Store, TokenOverride, lock, random_token};
use crate::{ClientAuthRule, Consent, MockConfig, TokenError, client_auth};

/// Which app the provider plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum App {
    /// The strict RFC 6749 provider at `/oauth/authorize`, `/oauth/token`, `/oauth/revoke` and `/api`.
    #[default]
    Standard,
    /// Notion's public integrations: see [`notion`].
    Notion,
    /// GitHub's OAuth apps (and GitHub Apps' expiring user tokens) on an Enterprise Server layout: see [`github`].
    Github,
    /// Slack's OAuth v2, bot and user tokens: see [`slack`].
    Slack,
    /// TikTok API for Business, the accounts API: see [`tiktok`].
    Tiktok,
    /// Instagram API with Instagram Login, short- and long-lived tokens: see [`instagram`].
    Instagram,
    /// Zendesk, an account per subdomain: see [`zendesk`].
    Zendesk,
    /// The standard provider with a renamed callback code, a `realmId` in the callback and the API's paths, and
    /// the token in an `Access-Token` header: see [`quirks`].
    Quirks,
    /// Microsoft Entra ID's v2.0 endpoints, a tenant in every path: see [`entra`].
    Entra,
    /// Atlassian's OAuth 2.0 (3LO) for Jira Cloud, the API under a cloud id: see [`atlassian`].
    Atlassian,
    /// Xero: tenants listed by `/connections`, `xero-tenant-id` on API calls, rotating refresh tokens: see
    /// [`xero`].
    Xero,
    /// Shopify, a host per shop and an HMAC-signed callback: see [`shopify`].
    Shopify,
    /// TikTok Shop's Open API, every API call signed: see [`tiktok_shop`].
    TiktokShop,
}

/// What app modes remember beyond the standard codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct AppData {
    pub github: github::Memory,
    pub slack: slack::Memory,
    pub instagram: instagram::Memory,
    pub zendesk: zendesk::Memory,
    pub entra: entra::Memory,
    pub shopify: shopify::Memory,
}

/// The routes of an app mode; `None` for the standard provider, which `server::app` serves itself.
pub(crate) fn routes(app: App) -> Option<Router<Shared>> {
    match app {
        App::Standard => None,
        App::Notion => Some(notion::routes()),
        App::Github => Some(github::routes()),
        App::Slack => Some(slack::routes()),
        App::Tiktok => Some(tiktok::routes()),
        App::Instagram => Some(instagram::routes()),
        App::Zendesk => Some(zendesk::routes()),
        App::Quirks => Some(quirks::routes()),
        App::Entra => Some(entra::routes()),
        App::Atlassian => Some(atlassian::routes()),
        App::Xero => Some(xero::routes()),
        App::Shopify => Some(shopify::routes()),
        App::TiktokShop => Some(tiktok_shop::routes()),
    }
}

/// The checks every app's authorization endpoint makes first: the client, under the app's name for the parameter,
/// and the redirect URI. Until both check out, errors go to the user as a 400 page, never to an unverified URI
/// (RFC 6749 §4.1.2.1); after that a repeated parameter is refused by redirect (RFC 6749 §3.1). The error is the
/// answer to give.
pub(crate) fn begin_authorize(
    params: &Params,
    config: &MockConfig,
    client_param: &str,
) -> Result<Redirect, Box<Response>> {
    let to =
        verified_redirect_uri(params, config, client_param).map_err(|m| Box::new(Refusal::Page(m).into_response()))?;
    let redirect = Redirect { to, state: params.get("state").map(str::to_owned), issuer: config.issuer.clone() };
    if let Some(name) = params.repeated() {
        let message = format!("parameter `{name}` is sent more than once (RFC 6749 §3.1)");
        return Err(Box::new(redirect.error("invalid_request", &message)));
    }
    Ok(redirect)
}

/// The simulated user's answer to an accepted authorization request: `access_denied` by redirect, or a fresh code
/// bound to the client, the redirect URI, the scopes and the PKCE challenge, for the caller to send back. The error
/// is the answer to give.
pub(crate) fn mint_code(
    shared: &Shared,
    config: &MockConfig,
    redirect: &Redirect,
    scopes: Vec<String>,
    code_challenge: Option<String>,
) -> Result<String, Box<Response>> {
    if config.consent == Consent::Deny {
        return Err(Box::new(redirect.error("access_denied", "The user denied the authorization request")));
    }
    let code = random_token("mock-code-");
    lock(shared).codes.insert(
        code.clone(),
        AuthCode {
            client_id: config.client_id.clone(),
            redirect_uri: redirect.to.clone(),
            code_challenge,
            scopes,
            expires_at: std::time::Instant::now() + CODE_TTL,
            state: CodeState::Fresh,
        },
    );
    Ok(code)
}

/// The answer queued with `MockProvider::fail_next_token_request` or `respond_next_token_request`, if any: app
/// token endpoints honour the queue like the standard one.
pub(crate) fn queued_answer(shared: &Shared) -> Option<Response> {
    let queued = lock(shared).token_overrides.pop_front()?;
    Some(match queued {
        TokenOverride::Error(error) => Refusal::OAuth(error).into_response(),
        TokenOverride::Raw { status, content_type, body } => {
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
    })
}

/// A JSON object body as parameters (strings as they are, numbers and booleans as written), after checking
/// `Content-Type: application/json`: the token requests of apps that want JSON, read with the standard checks.
pub(crate) fn json_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, TokenError> {
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = content_type.as_deref().map(|c| media_type(c).0);
    if essence.as_deref() != Some("application/json") {
        return Err(TokenError::invalid_request(format!(
            "Content-Type `{}` is not accepted: this endpoint takes a JSON body (`application/json`)",
            content_type.as_deref().unwrap_or("(none)")
        )));
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(TokenError::invalid_request("the body is not a JSON object"));
    };
    let pairs = fields
        .into_iter()
        .filter_map(|(name, value)| match value {
            Value::String(text) => Some((name, text)),
            Value::Number(_) | Value::Bool(_) => Some((name, value.to_string())),
            _ => None,
        })
        .collect();
    Ok(Params::from_pairs(pairs))
}

/// Authenticates the client the way the app demands (`rule`), whatever the config's own rule says.
pub(crate) fn authenticate_as(
    rule: ClientAuthRule,
    config: &MockConfig,
    headers: &HeaderMap,
    params: &Params,
) -> Result<String, TokenError> {
    client_auth::authenticate(&MockConfig { client_auth: rule, ..config.clone() }, headers, params)
}

/// Makes freshly issued access tokens non-expiring, for apps whose tokens do not expire whatever
/// `access_token_ttl` says; the answer then has no `expires_in`.
pub(crate) fn never_expire(store: &mut Store, issued: &mut Issued) {
    set_lifetime(store, issued, None);
}

/// Gives a freshly issued access token the app's own lifetime (`None`: it never expires), whatever
/// `access_token_ttl` says; the answer's `expires_in` follows.
pub(crate) fn set_lifetime(store: &mut Store, issued: &mut Issued, seconds: Option<u64>) {
    if let Some(token) = store.access_tokens.get_mut(&issued.access_token) {
        token.expires_at = seconds.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
    }
    issued.expires_in = seconds;
}

/// The scopes of a valid access token, or why it is not one (unknown, a refresh token, revoked, expired), for app
/// APIs to answer in their own error format.
pub(crate) fn check_access_token(shared: &Shared, token: &str) -> Result<Vec<String>, String> {
    access_token_scopes(shared, token).map_err(|refusal| match refusal {
        Refusal::InvalidToken(why) => why,
        other => format!("{other:?}"),
    })
}

/// The token of a single `Authorization: <scheme> <token>` header whose scheme is one of `schemes` (compared
/// ignoring case), or why there is none.
pub(crate) fn authorization_token(headers: &HeaderMap, schemes: &[&str]) -> Result<String, String> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(format!("send exactly one `Authorization: {} <token>` header", schemes[0]));
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    let (scheme, token) = value.split_once(' ').unwrap_or((&value, ""));
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(format!("Authorization scheme `{scheme}` is not accepted: send `{} <token>`", schemes[0]));
    }
    Ok(token.trim().to_owned())
}

/// Hex HMAC-SHA256 of `message` under `key`: the signature Shopify's callbacks and TikTok Shop's API calls carry.
pub fn hmac_sha256_hex(key: &str, message: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A JSON answer with a status.
pub(crate) fn json_answer(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
