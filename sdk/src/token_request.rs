//! The shape of the token and refresh requests, for apps whose token endpoint wants the standard
//! fields sent another way: as JSON, with the client's credentials somewhere else, a field
//! renamed or dropped, or fixed fields added.
//!
//! [`TokenRequest::STANDARD`] builds exactly [`standard::token_request`](crate::standard::token_request);
//! say what differs with struct update syntax. It borrows the context, so nothing is cloned:
//!
//! ```
//! use keyway_sdk::prelude::*;
//! use keyway_sdk::token_request::{Body, ClientCredentials, TokenRequest};
//!
//! fn token_request(ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
//!     TokenRequest {
//!         body: Body::Json,
//!         client: ClientCredentials::Body,
//!         rename: &[("code", "auth_code")],
//!         set: &[("app_type", "web")],
//!         ..TokenRequest::STANDARD
//!     }
//!     .build(ctx, grant)
//! }
//! ```

use serde_json::{Map, Value};

use crate::{AuthError, ClientAuth, Grant, HookContext, HttpRequest, form, url};

/// How the fields are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// `application/x-www-form-urlencoded`, as RFC 6749 says.
    Form,
    /// A JSON object of strings, `Content-Type: application/json`.
    Json,
}

/// Where the client's id and secret go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCredentials {
    /// Where the integration's `client_auth` says: the standard behaviour (Basic, the body, or
    /// both).
    Integration,
    /// `client_id` and `client_secret` among the fields, whatever the integration says.
    Body,
    /// `client_id` and `client_secret` in the URL's query.
    Query,
    /// `Authorization: Basic` only ([`basic_auth`](crate::basic_auth)).
    Basic,
    /// Nowhere: an app that identifies the client some other way.
    None,
}

/// How to send the token and refresh requests. See the [module docs](self).
///
/// The fields start as the standard ones: `code`, `redirect_uri`, `grant_type=authorization_code`
/// and, with PKCE, `code_verifier`; or `grant_type=refresh_token` and `refresh_token`; then
/// `client_id` and `client_secret` when they go in the body. `drop` and `rename` name these
/// standard fields; `set` then names fields as they are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenRequest<'a> {
    /// Form or JSON.
    pub body: Body,
    /// Where the client's credentials go.
    pub client: ClientCredentials,
    /// Standard fields not to send: `&["grant_type"]`.
    pub drop: &'a [&'a str],
    /// Standard fields sent under another name, in place: `&[("code", "auth_code")]`. Also
    /// renames `client_id`/`client_secret` in the query.
    pub rename: &'a [(&'a str, &'a str)],
    /// Fixed fields: each replaces the field of that name in place, or is added at the end:
    /// `&[("grant_type", "authorization_code_v2"), ("type", "refresh")]`.
    pub set: &'a [(&'a str, &'a str)],
    /// Where both requests go; `None` is the integration's token URL (`site` + `token_path`).
    pub url: Option<&'a str>,
    /// Where refreshes go, when that is not [`url`](Self::url): a refresh endpoint of its own.
    pub refresh_url: Option<&'a str>,
}

impl TokenRequest<'static> {
    /// Exactly the standard request: a form, client credentials as the integration says.
    pub const STANDARD: TokenRequest<'static> = TokenRequest {
        body: Body::Form,
        client: ClientCredentials::Integration,
        drop: &[],
        rename: &[],
        set: &[],
        url: None,
        refresh_url: None,
    };
}

impl Default for TokenRequest<'static> {
    fn default() -> Self {
        Self::STANDARD
    }
}

impl TokenRequest<'_> {
    /// The request for `grant`: `POST` with `Accept: application/json`, the body's
    /// `Content-Type` and, for Basic client authentication, `Authorization`, in that order.
    /// A refresh without a refresh token is [`AuthError::InvalidConfig`].
    pub fn build(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let integration = &ctx.integration;
        let mut fields: Vec<(String, String)> = Vec::with_capacity(8);
        let mut push = |name: &str, value: &str| fields.push((name.to_string(), value.to_string()));
        let url = match grant {
            Grant::AuthorizationCode(code) => {
                push("code", &code.code);
                push("redirect_uri", &code.redirect_uri);
                push("grant_type", "authorization_code");
                if let Some(verifier) = &code.code_verifier {
                    push("code_verifier", verifier);
                }
                self.url.map_or_else(|| integration.token_url(), str::to_string)
            }
            Grant::Refresh(refresh) => {
                let Some(refresh_token) = &refresh.refresh_token else {
                    return Err(AuthError::InvalidConfig(
                        "the connection has no refresh token, so its access token cannot be refreshed; \
                         reconnect it (or use a plugin that refreshes with the access token)"
                            .to_string(),
                    ));
                };
                push("grant_type", "refresh_token");
                push("refresh_token", refresh_token);
                self.refresh_url.or(self.url).map_or_else(|| integration.token_url(), str::to_string)
            }
        };
        let (basic, in_body, in_query) = match (self.client, integration.client_auth) {
            (ClientCredentials::Integration, ClientAuth::Basic) => (true, false, false),
            (ClientCredentials::Integration, ClientAuth::Post) => (false, true, false),
            (ClientCredentials::Integration, ClientAuth::BasicAndPost) => (true, true, false),
            (ClientCredentials::Body, _) => (false, true, false),
            (ClientCredentials::Query, _) => (false, false, true),
            (ClientCredentials::Basic, _) => (true, false, false),
            (ClientCredentials::None, _) => (false, false, false),
        };
        let client = [("client_id", &integration.client_id), ("client_secret", &integration.client_secret)];
        if in_body {
            fields.extend(client.iter().map(|(name, value)| (name.to_string(), value.to_string())));
        }
        fields.retain(|(name, _)| !self.drop.contains(&name.as_str()));
        for (from, to) in self.rename {
            form::rename(&mut fields, from, to);
        }
        for (name, value) in self.set {
            form::set(&mut fields, name, value);
        }
        let url = if in_query {
            let renamed = |name: &'static str| self.rename.iter().find(|(from, _)| *from == name).map_or(name, |r| r.1);
            let query: Vec<(&str, &str)> = client.iter().map(|(name, value)| (renamed(name), value.as_str())).collect();
            url::append_query(&url, &query)
        } else {
            url
        };
        let mut request = HttpRequest::new("POST", url).with_header("Accept", "application/json");
        match self.body {
            Body::Form => request.set_form_body(&fields),
            Body::Json => {
                let mut object = Map::new();
                for (name, value) in fields {
                    object.entry(name).or_insert(Value::String(value));
                }
                request.set_json_body(&Value::Object(object));
            }
        }
        if basic {
            request = request
                .with_header("Authorization", crate::basic_auth(&integration.client_id, &integration.client_secret));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests;
