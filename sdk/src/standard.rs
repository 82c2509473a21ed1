//! The standard OAuth2 authorization-code flow, exactly as the help article's "First Request"
//! and "Second Request" describe it (with the redirect URI the authorize request used, not the
//! article's typo). Every [`Plugin`](crate::Plugin) method defaults to the function of the same
//! name here; they are public so an override can call the standard one and change only what its
//! app does differently.
//!
//! ```
//! # use keyway_sdk::{standard, url, AuthError, AuthorizeRequest, HookContext};
//! fn authorize_url(ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
//!     let url = standard::authorize_url(ctx, req)?;
//!     Ok(url::append_query(&url, &[("access_type", "offline")]))
//! }
//! ```

use serde_json::{Map, Value};

use crate::{
    ActionContext, ActionError, AuthError, AuthMethod, AuthPlacement, AuthorizeRequest, CallbackParams, CallbackResult,
    ClientAuth, Credentials, Expiry, Grant, HookContext, HttpRequest, HttpResponse, Integration, Manifest, PkceSupport,
    ProviderError, RevokeTarget, TokenSet, form, url,
};

/// How many characters of a response body error messages quote.
const SNIPPET_CHARS: usize = 200;

/// The standard manifest: no hosts, inputs, settings or actions; the callback carries `code`
/// and `state`. Name, version and description are empty here; [`export!`](crate::export) fills
/// empty ones from the plugin crate's `Cargo.toml`. Override with struct update syntax:
///
/// ```
/// # use keyway_sdk::{standard, Manifest};
/// let manifest = Manifest { hosts: vec!["https://api.example.com".into()], ..standard::manifest() };
/// ```
pub fn manifest() -> Manifest {
    Manifest {
        name: String::new(),
        version: String::new(),
        description: String::new(),
        hosts: Vec::new(),
        inputs: Vec::new(),
        settings: Vec::new(),
        callback: CallbackParams { code: "code".to_string(), state: "state".to_string() },
        actions: Vec::new(),
        pkce: PkceSupport::Supported,
        signs_requests: false,
    }
}

/// The standard request signing: none. The host calls `sign_request` only for plugins whose
/// manifest sets `signs_requests`.
pub fn sign_request(
    _ctx: &HookContext,
    request: HttpRequest,
    _credentials: &Credentials,
) -> Result<HttpRequest, AuthError> {
    Ok(request)
}

/// The First Request: `authorization_url` plus `scope` (space-separated, so `+` on the wire;
/// omitted without scopes), `response_type=code`, `client_id`, `redirect_uri`, `state`, and with
/// PKCE `code_challenge` and `code_challenge_method=S256`, form-encoded, in that order. Appended
/// with `&` when the authorization URL already has a query. For other scope separators, a renamed
/// client id or extra parameters, see [`authorize_url_with`].
pub fn authorize_url(ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
    authorize_url_with(ctx, req, &AuthorizeOptions::STANDARD)
}

/// What an app's authorize URL does differently from the standard one. Start from
/// [`AuthorizeOptions::STANDARD`] and change what differs:
///
/// ```
/// # use keyway_sdk::{standard::{self, AuthorizeOptions}, AuthError, AuthorizeRequest, HookContext};
/// fn authorize_url(ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
///     let options = AuthorizeOptions {
///         scope_separator: ",",
///         extra: &[("access_type", "offline"), ("prompt", "consent")],
///         ..AuthorizeOptions::STANDARD
///     };
///     standard::authorize_url_with(ctx, req, &options)
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthorizeOptions<'a> {
    /// What joins the integration's scopes: `" "` (RFC 6749 §3.3, `+` on the wire) or `","`
    /// (GitHub, Slack, TikTok, Instagram; `%2C` on the wire).
    pub scope_separator: &'a str,
    /// The name the client id goes under: `client_id`, or `client_key` (TikTok).
    pub client_id_param: &'a str,
    /// Fixed parameters after the standard ones: `audience`, `prompt=consent`, `owner=user`.
    pub extra: &'a [(&'a str, &'a str)],
}

impl AuthorizeOptions<'static> {
    /// The standard URL: scopes joined by spaces, `client_id`, nothing extra.
    pub const STANDARD: AuthorizeOptions<'static> =
        AuthorizeOptions { scope_separator: " ", client_id_param: "client_id", extra: &[] };
}

impl Default for AuthorizeOptions<'static> {
    fn default() -> Self {
        Self::STANDARD
    }
}

/// [`authorize_url`] with `options`: `scope` (joined by the separator,
/// omitted without scopes), `response_type=code`, the client id, `redirect_uri`, `state`, with
/// PKCE `code_challenge` and `code_challenge_method=S256`, then `extra`, form-encoded, in that
/// order.
pub fn authorize_url_with(
    ctx: &HookContext,
    req: &AuthorizeRequest,
    options: &AuthorizeOptions,
) -> Result<String, AuthError> {
    let integration = &ctx.integration;
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(7 + options.extra.len());
    let scope = integration.scopes.join(options.scope_separator);
    if !integration.scopes.is_empty() {
        pairs.push(("scope", &scope));
    }
    pairs.push(("response_type", "code"));
    pairs.push((options.client_id_param, &integration.client_id));
    pairs.push(("redirect_uri", &req.redirect_uri));
    pairs.push(("state", &req.state));
    if let Some(challenge) = &req.code_challenge {
        pairs.push(("code_challenge", challenge));
        pairs.push(("code_challenge_method", "S256"));
    }
    pairs.extend_from_slice(options.extra);
    Ok(url::append_query(&integration.authorization_url, &pairs))
}

/// Reads the callback with the standard parameter name, `code`. See [`parse_callback_with`].
pub fn parse_callback(ctx: &HookContext, query: &[(String, String)]) -> Result<CallbackResult, AuthError> {
    let _ = ctx;
    parse_callback_with(query, "code")
}

/// Reads the callback query: an `error` parameter (RFC 6749 §4.1.2.1, with `error_description`
/// and `error_uri`) becomes [`AuthError::Provider`]; otherwise the code is the `code_param`
/// parameter (`spapi_oauth_code` for Amazon, say), with no metadata kept.
pub fn parse_callback_with(query: &[(String, String)], code_param: &str) -> Result<CallbackResult, AuthError> {
    if let Some(code) = form::get(query, "error") {
        return Err(AuthError::Provider(ProviderError {
            code: code.to_string(),
            description: form::get(query, "error_description").map(str::to_string),
            uri: form::get(query, "error_uri").map(str::to_string),
        }));
    }
    match form::get(query, code_param) {
        Some(code) => Ok(CallbackResult { code: code.to_string(), metadata: Vec::new() }),
        None => {
            let names: Vec<&str> = query.iter().map(|(name, _)| name.as_str()).collect();
            let had = if names.is_empty() { "none".to_string() } else { names.join(", ") };
            Err(AuthError::InvalidResponse(format!(
                "the callback had no `{code_param}` parameter (it had: {had}); if the app names the \
                 code differently, declare that name in the plugin manifest's callback parameters"
            )))
        }
    }
}

/// The Second Request: `POST site + token_path` with `Accept: application/json`, the form's
/// `Content-Type`, and client authentication as the integration says (see
/// [`client_authenticated_request`]). The form is `code`, `redirect_uri` (exactly the grant's),
/// `grant_type=authorization_code` and, with PKCE, `code_verifier`; for a refresh it is
/// `grant_type=refresh_token` and `refresh_token`.
pub fn token_request(ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
    let mut form: Vec<(&str, &str)> = Vec::with_capacity(6);
    match grant {
        Grant::AuthorizationCode(code) => {
            form.push(("code", &code.code));
            form.push(("redirect_uri", &code.redirect_uri));
            form.push(("grant_type", "authorization_code"));
            if let Some(verifier) = &code.code_verifier {
                form.push(("code_verifier", verifier));
            }
        }
        Grant::Refresh(refresh) => {
            let Some(refresh_token) = &refresh.refresh_token else {
                return Err(AuthError::InvalidConfig(
                    "the connection has no refresh token, so its access token cannot be refreshed; \
                     reconnect it (or use a plugin that refreshes with the access token)"
                        .to_string(),
                ));
            };
            form.push(("grant_type", "refresh_token"));
            form.push(("refresh_token", refresh_token));
        }
    }
    Ok(client_authenticated_request(&ctx.integration, ctx.integration.token_url(), &form))
}

/// A `POST` to `url` authenticated as the client the way the integration says (RFC 6749 §2.3.1):
/// headers `Accept: application/json`, `Content-Type: application/x-www-form-urlencoded` and,
/// for `basic`/`basic-and-post`, `Authorization: Basic` ([`basic_auth`](crate::basic_auth)); the
/// form is `pairs` followed, for `post`/`basic-and-post`, by `client_id` and `client_secret`.
/// The token and revoke requests share it.
pub fn client_authenticated_request<K: AsRef<str>, V: AsRef<str>>(
    integration: &Integration,
    url: String,
    pairs: &[(K, V)],
) -> HttpRequest {
    let mut form: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    let (basic, post) = match integration.client_auth {
        ClientAuth::Basic => (true, false),
        ClientAuth::Post => (false, true),
        ClientAuth::BasicAndPost => (true, true),
    };
    if post {
        form.push(("client_id", &integration.client_id));
        form.push(("client_secret", &integration.client_secret));
    }
    let mut request = HttpRequest::new("POST", url)
        .with_header("Accept", "application/json")
        .with_header("Content-Type", "application/x-www-form-urlencoded");
    if basic {
        request =
            request.with_header("Authorization", crate::basic_auth(&integration.client_id, &integration.client_secret));
    }
    request.body = Some(form::encode(&form).into_bytes());
    request
}

/// Reads the token endpoint's answer (RFC 6749 §5.1, §5.2): the body is parsed with
/// [`parse_body`]; an `error` field, or any non-2xx status, is an error
/// ([`AuthError::Provider`] when the body says which, [`AuthError::InvalidResponse`] otherwise);
/// otherwise the tokens come from [`token_set_from_json`].
pub fn parse_token_response(ctx: &HookContext, grant: &Grant, response: &HttpResponse) -> Result<TokenSet, AuthError> {
    let _ = (ctx, grant);
    let body = parse_body(response)?;
    if let Some(error) = provider_error(&body) {
        return Err(AuthError::Provider(error));
    }
    if !response.is_success() {
        return Err(AuthError::InvalidResponse(format!(
            "the token endpoint answered HTTP {} without an OAuth2 `error`: {}",
            response.status,
            body_snippet(response)
        )));
    }
    token_set_from_json(&body)
}

/// Parses a response body into JSON: by its `Content-Type` (JSON, or a form, which becomes an
/// object of strings, first value winning), falling back to sniffing the body when the type is
/// missing, wrong or something else (`text/plain`). Reuse it for apps that nest their tokens.
pub fn parse_body(response: &HttpResponse) -> Result<Value, AuthError> {
    let media_type = response
        .header("content-type")
        .and_then(|value| value.split(';').next())
        .map(|media_type| media_type.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let declared = if media_type == "application/json" || media_type.ends_with("+json") {
        parse_json(&response.body)
    } else if media_type == "application/x-www-form-urlencoded" {
        parse_form(&response.body)
    } else {
        None
    };
    declared.or_else(|| sniff(&response.body)).ok_or_else(|| {
        AuthError::InvalidResponse(format!(
            "HTTP {} with a body that is neither JSON nor form-encoded: {}",
            response.status,
            body_snippet(response)
        ))
    })
}

/// Parses JSON; `None` when it is not JSON.
fn parse_json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// Parses a form body into a JSON object of strings; `None` when it does not look like a form
/// (no `name=value`, or whitespace or markup, which forms never contain).
fn parse_form(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let looks_like_form =
        text.contains('=') && !text.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '{' | '"'));
    if !looks_like_form {
        return None;
    }
    let mut object = Map::new();
    for (name, value) in form::parse(text.as_bytes()) {
        object.entry(name).or_insert(Value::String(value));
    }
    Some(Value::Object(object))
}

/// Guesses the format of a body whose `Content-Type` did not help.
fn sniff(body: &[u8]) -> Option<Value> {
    parse_json(body).or_else(|| parse_form(body))
}

/// The body as text, cut to about 200 characters: for error messages that must quote what the
/// provider said without flooding the admin's screen.
pub fn body_snippet(response: &HttpResponse) -> String {
    let text = response.text();
    match text.trim() {
        "" => "(empty body)".to_string(),
        text => truncate(text),
    }
}

/// The RFC 6749 §5.2 error in a parsed body, if any: `error` (a string, or an object with a
/// `code`/`type` and `message`, as some apps nest it), `error_description` and `error_uri`.
/// `"error": null` or `false` is no error.
pub fn provider_error(body: &Value) -> Option<ProviderError> {
    let error = body.get("error")?;
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
    let mut description = text(body.get("error_description"));
    let code = match error {
        Value::Null | Value::Bool(false) => return None,
        Value::String(code) => code.clone(),
        Value::Object(fields) => {
            description = description.or_else(|| text(fields.get("message")));
            text(fields.get("code"))
                .or_else(|| fields.get("code").filter(|c| c.is_number()).map(Value::to_string))
                .or_else(|| text(fields.get("type")))
                .unwrap_or_else(|| "error".to_string())
        }
        other => other.to_string(),
    };
    Some(ProviderError { code, description, uri: text(body.get("error_uri")) })
}

/// The tokens in a successful token response (RFC 6749 §5.1): `access_token` (required),
/// `refresh_token`, `token_type`, `expires_in` (seconds, as a number or a numeric string),
/// `refresh_token_expires_in` (the same) and `scope` (space-separated, or a list); no metadata. For an app that nests its tokens, call it
/// on the nested object: `token_set_from_json(&body["data"])`.
pub fn token_set_from_json(body: &Value) -> Result<TokenSet, AuthError> {
    let Some(fields) = body.as_object() else {
        return Err(AuthError::InvalidResponse(format!(
            "expected a JSON object with an `access_token`, got: {}",
            truncate(&body.to_string())
        )));
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_string);
    let Some(access_token) = text("access_token").filter(|token| !token.is_empty()) else {
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        return Err(AuthError::InvalidResponse(format!(
            "the token response has no `access_token` (its fields: {})",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )));
    };
    let expiry =
        match fields.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(value) => Some(Expiry::ExpiresIn(seconds(value).ok_or_else(|| {
                AuthError::InvalidResponse(format!("`expires_in` is {value}, not a number of seconds"))
            })?)),
        };
    let refresh_expiry = match fields.get("refresh_token_expires_in") {
        None | Some(Value::Null) => None,
        Some(value) => Some(Expiry::ExpiresIn(seconds(value).ok_or_else(|| {
            AuthError::InvalidResponse(format!("`refresh_token_expires_in` is {value}, not a number of seconds"))
        })?)),
    };
    let scopes = scopes_of(fields.get("scope"), |scope| scope.split_whitespace().map(str::to_string).collect());
    Ok(TokenSet {
        access_token,
        refresh_token: text("refresh_token"),
        token_type: text("token_type"),
        expiry,
        scopes,
        metadata: Vec::new(),
        refresh_expiry,
        secrets: Vec::new(),
    })
}

/// A non-negative number of seconds from a JSON number or numeric string; fractions are dropped.
fn seconds(value: &Value) -> Option<u64> {
    let number = match value {
        Value::Number(n) => return n.as_u64().or_else(|| n.as_f64().and_then(whole_seconds)),
        Value::String(s) => s.trim(),
        _ => return None,
    };
    number.parse::<u64>().ok().or_else(|| number.parse::<f64>().ok().and_then(whole_seconds))
}

/// Drops the fraction of a finite, non-negative number of seconds.
fn whole_seconds(value: f64) -> Option<u64> {
    (value.is_finite() && value >= 0.0 && value < u64::MAX as f64).then(|| value.trunc() as u64)
}

/// Cuts text to about 200 characters for an error message.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Splits a scope list the way apps write it: separated by commas (`repo,gist`, as GitHub, Slack
/// and TikTok answer), by spaces (RFC 6749 §3.3), or both; empty entries dropped. For a token
/// response whose `scope` is not space-separated:
/// `set.scopes = body["scope"].as_str().map(standard::split_scopes)`.
///
/// ```
/// assert_eq!(keyway_sdk::standard::split_scopes("repo, gist user"), ["repo", "gist", "user"]);
/// ```
pub fn split_scopes(list: &str) -> Vec<String> {
    list.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The scopes in a token response's scope field: a string, split by `split`, or a JSON list.
/// Blank entries are dropped, since a blank is no scope (`"scope": ["", "read"]`). Any other
/// value is no scope field at all.
pub(crate) fn scopes_of(field: Option<&Value>, split: fn(&str) -> Vec<String>) -> Option<Vec<String>> {
    match field? {
        Value::String(list) => Some(split(list)),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

/// The named fields of a parsed response, as connection metadata (`workspace_id`, `bot_id`,
/// `instance_url`): strings as they are, numbers and booleans as written; missing, null and
/// nested values are skipped. A dotted name reads a nested field and keeps the dotted name as
/// its key (`team.id`, which API templates name `{metadata.team.id}`). Never name a token:
/// metadata is not secret storage, and the host refuses a token in it.
///
/// ```
/// # use keyway_sdk::{serde_json::json, standard::metadata_fields};
/// let body = json!({"workspace_id": "w1", "bot_id": "b1", "team": {"id": 7}, "owner": {"user": {}}});
/// assert_eq!(
///     metadata_fields(&body, &["workspace_id", "team.id", "owner", "missing"]),
///     [("workspace_id".to_string(), "w1".to_string()), ("team.id".to_string(), "7".to_string())]
/// );
/// ```
pub fn metadata_fields(body: &Value, names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|name| {
            let value = name.split('.').try_fold(body, |value, key| value.get(key))?;
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                _ => return None,
            };
            Some((name.to_string(), text))
        })
        .collect()
}

/// The RFC 7009 revocation request, or `None` when the integration has no revoke path: `POST
/// site + revoke_path` with the form `token` and `token_type_hint`, authenticated like the token
/// request.
pub fn revoke_request(ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
    let Some(url) = ctx.integration.revoke_url() else {
        return Ok(None);
    };
    let form = [("token", target.token.as_str()), ("token_type_hint", target.token_type_hint.as_str())];
    Ok(Some(client_authenticated_request(&ctx.integration, url, &form)))
}

/// The site, without a trailing `/`: relative API paths resolve against it.
pub fn api_base(ctx: &HookContext) -> Result<String, AuthError> {
    Ok(ctx.integration.site.trim_end_matches('/').to_string())
}

/// `Authorization: Bearer {access_token}` for OAuth2 and token integrations, HTTP Basic from the
/// connection's `{username}` and `{password}` for basic ones. The host fills in the templates.
/// A plugin whose app also wants a fixed header pushes another placement onto this list.
pub fn api_auth(ctx: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
    Ok(vec![match ctx.integration.auth_method {
        AuthMethod::Oauth2 | AuthMethod::Token => {
            AuthPlacement::Header(("Authorization".to_string(), "Bearer {access_token}".to_string()))
        }
        AuthMethod::Basic => AuthPlacement::Basic(("{username}".to_string(), "{password}".to_string())),
    }])
}

/// The standard plugin offers no actions, so every name is unknown.
pub fn invoke(ctx: &ActionContext, name: &str, input: Value) -> Result<Value, ActionError> {
    let _ = (ctx, input);
    Err(ActionError::InvalidInput(format!("unknown action `{name}`: this plugin declares no actions")))
}

#[cfg(test)]
pub(crate) mod tests;
