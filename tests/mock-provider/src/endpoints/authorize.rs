//! `GET /oauth/authorize`: the authorization request (RFC 6749 §4.1.1) and the simulated consent.

use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::Consent;
use crate::params::{Params, parse_scopes};
use crate::server::Refusal;
use crate::store::{AuthCode, CODE_TTL, CodeState, Shared, lock, random_token};

pub(crate) async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();

    // Until client_id and redirect_uri check out, errors go to the user, never to the unverified URI.
    let redirect_uri = match verified_redirect_uri(&params, &config, "client_id") {
        Ok(uri) => uri,
        Err(message) => return Refusal::Page(message).into_response(),
    };
    let state = params.get("state").map(str::to_owned);
    let redirect = Redirect { to: redirect_uri, state, issuer: config.issuer.clone() };

    if let Some(name) = params.repeated() {
        return redirect
            .error("invalid_request", &format!("parameter `{name}` is sent more than once (RFC 6749 §3.1)"));
    }
    if redirect.state.is_none() {
        return redirect.error("invalid_request", "`state` is missing: this provider requires it (CSRF protection)");
    }
    match params.get("response_type") {
        None => {
            return redirect.error("invalid_request", "`response_type` is missing: send `response_type=code`");
        }
        Some("code") => {}
        Some(other) => {
            return redirect.error(
                "unsupported_response_type",
                &format!("response_type `{other}` is not supported: send `response_type=code`"),
            );
        }
    }
    let scopes = match parse_scopes(params.get("scope")) {
        Ok(scopes) => scopes,
        Err(message) => return redirect.error("invalid_scope", &message),
    };
    if !config.scopes_supported.is_empty()
        && let Some(unknown) = scopes.iter().find(|s| !config.scopes_supported.contains(s))
    {
        return redirect.error(
            "invalid_scope",
            &format!("scope `{unknown}` is not supported; known scopes: {}", config.scopes_supported.join(" ")),
        );
    }
    let code_challenge = match pkce_challenge(&params, config.require_pkce) {
        Ok(challenge) => challenge,
        Err(message) => return redirect.error("invalid_request", &message),
    };
    if config.consent == Consent::Deny {
        return redirect.error("access_denied", "The user denied the authorization request");
    }

    let code = random_token("mock-code-");
    lock(&shared).codes.insert(
        code.clone(),
        AuthCode {
            client_id: config.client_id.clone(),
            redirect_uri: redirect.to.to_string(),
            code_challenge,
            scopes,
            expires_at: Instant::now() + CODE_TTL,
            state: CodeState::Fresh,
        },
    );
    redirect.answer(&[("code", &code)])
}

/// The `redirect_uri` exactly as sent, once it is known to be safe to redirect to. The client id is read from
/// `client_param` (`client_id`, or an app's own name for it, such as TikTok's `client_key`).
pub(crate) fn verified_redirect_uri(
    params: &Params,
    config: &crate::MockConfig,
    client_param: &str,
) -> Result<String, String> {
    for name in [client_param, "redirect_uri"] {
        if params.is_repeated(name) {
            return Err(format!("`{name}` is sent more than once"));
        }
    }
    let Some(client_id) = params.get(client_param) else {
        return Err(format!("`{client_param}` is missing"));
    };
    if client_id != config.client_id {
        return Err(format!("unknown {client_param} `{client_id}`"));
    }
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err("`redirect_uri` is missing".to_owned());
    };
    let url =
        Url::parse(redirect_uri).map_err(|e| format!("redirect_uri `{redirect_uri}` is not an absolute URL ({e})"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect_uri `{redirect_uri}` has a fragment (RFC 6749 §3.1.2)"));
    }
    if !config.redirect_uris.is_empty() && !config.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(format!("redirect_uri `{redirect_uri}` is not registered for this client"));
    }
    Ok(redirect_uri.to_owned())
}

/// The S256 code challenge, checked for shape (RFC 7636 §4.2, §4.3).
pub(crate) fn pkce_challenge(params: &Params, required: bool) -> Result<Option<String>, String> {
    let method = params.get("code_challenge_method");
    let Some(challenge) = params.get("code_challenge") else {
        if method.is_some() {
            return Err("`code_challenge_method` is sent without a `code_challenge`".to_owned());
        }
        if required {
            return Err("`code_challenge` is missing: this provider requires PKCE with S256 (RFC 7636)".to_owned());
        }
        return Ok(None);
    };
    match method {
        Some("S256") => {}
        None => {
            return Err(
                "`code_challenge_method` is missing, which means `plain`: send `code_challenge_method=S256`".to_owned()
            );
        }
        Some(other) => {
            return Err(format!("code_challenge_method `{other}` is refused: use `S256`"));
        }
    }
    let well_formed =
        challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(format!(
            "code_challenge `{challenge}` is not an S256 challenge: it must be the 43-character unpadded \
             base64url SHA-256 of the code verifier"
        ));
    }
    Ok(Some(challenge.to_owned()))
}

/// A redirect back to the verified `redirect_uri`, echoing `state` and adding `iss` when configured.
pub(crate) struct Redirect {
    pub to: String,
    pub state: Option<String>,
    pub issuer: Option<String>,
}

impl Redirect {
    /// An RFC 6749 §4.1.2.1 error response.
    pub fn error(&self, error: &str, description: &str) -> Response {
        tracing::debug!(error, description, "mock provider refused an authorization request");
        self.answer(&[("error", error), ("error_description", description)])
    }

    pub fn answer(&self, pairs: &[(&str, &str)]) -> Response {
        let mut url = Url::parse(&self.to).expect("redirect_uri was verified to be an absolute URL");
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
            if let Some(issuer) = &self.issuer {
                query.append_pair("iss", issuer);
            }
        }
        let mut response = StatusCode::FOUND.into_response();
        let location = HeaderValue::from_str(url.as_str()).expect("a serialized URL is a valid header value");
        response.headers_mut().insert(header::LOCATION, location);
        response
    }
}
