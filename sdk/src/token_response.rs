//! A token-response field map: where an app puts its tokens, expiry, scopes and errors, for the
//! many apps whose token endpoint differs from RFC 6749 only in names, nesting and formats.
//!
//! [`TokenFields::STANDARD`] reads exactly what the standard parser reads; change the fields
//! your app names differently with struct update syntax:
//!
//! ```
//! use keyway_sdk::prelude::*;
//! use keyway_sdk::token_response::{ErrorFields, ExpiryFormat, TokenFields};
//!
//! /// `{"code": 0, "message": "ok", "data": {"accessToken": "…", "expireAt": "2030-01-01T00:00:00Z"}}`
//! const FIELDS: TokenFields = TokenFields {
//!     root: "data",
//!     access_token: "accessToken",
//!     refresh_token: "refreshToken",
//!     expiry: "expireAt",
//!     expiry_format: ExpiryFormat::Rfc3339,
//!     success: Some(("code", "0")),
//!     error: ErrorFields { code: "code", description: "message", uri: "" },
//!     ..TokenFields::STANDARD
//! };
//!
//! # let response = HttpResponse {
//! #     status: 200,
//! #     headers: vec![("content-type".into(), "application/json".into())],
//! #     body: br#"{"code": 0, "data": {"accessToken": "at", "expireAt": "2030-01-01T00:00:00Z"}}"#.to_vec(),
//! # };
//! let tokens = FIELDS.parse(&response)?;
//! assert_eq!(tokens.expiry, Some(Expiry::ExpiresAt(1_893_456_000)));
//! # Ok::<(), AuthError>(())
//! ```
//!
//! Paths are dotted (`data.accessToken`); a segment that is a number indexes an array
//! (`data.0.access_token`); an empty path is a field the app does not send.

use serde_json::{Value, json};

use crate::{AuthError, Expiry, HttpResponse, ProviderError, TokenSet, standard};

/// How an expiry field counts. Numbers may come as JSON numbers or numeric strings; fractions
/// are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryFormat {
    /// Seconds from now (RFC 6749's `expires_in`: `3600` or `"3600"`).
    Seconds,
    /// Milliseconds from now (`3600000`).
    Millis,
    /// A Unix time in seconds (`1767225600`).
    EpochSeconds,
    /// A Unix time in milliseconds (`1767225600000`).
    EpochMillis,
    /// An RFC 3339 date-time (`2026-01-01T00:00:00Z`).
    Rfc3339,
}

/// How a scope field joins its scopes, when it is a string (a JSON list is read as it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeSeparator {
    /// By spaces, as RFC 6749 §3.3 says.
    Space,
    /// By commas, spaces or both (`repo,gist`, as GitHub, Slack and TikTok answer); see
    /// [`standard::split_scopes`].
    Comma,
}

/// Where an app's error response names its error. Paths are from the body's top level; an
/// empty `code` reads no error field of the app's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorFields<'a> {
    /// The error code: a string, a number, or an object with a `code` or `type` (and a
    /// `message`, read as the description when `description` finds none).
    pub code: &'a str,
    /// A human-readable description.
    pub description: &'a str,
    /// A link to documentation about the error.
    pub uri: &'a str,
}

impl ErrorFields<'static> {
    /// RFC 6749 §5.2: `error`, `error_description`, `error_uri`.
    pub const STANDARD: ErrorFields<'static> =
        ErrorFields { code: "error", description: "error_description", uri: "error_uri" };
}

/// Where a token response keeps each value, and how it says it failed. See the
/// [module docs](self) for an example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenFields<'a> {
    /// The object the token fields and `metadata` are read from: `""` for the body itself,
    /// `data` for an envelope.
    pub root: &'a str,
    /// The access token, which must be a non-empty string.
    pub access_token: &'a str,
    /// The refresh token, if the app sends one.
    pub refresh_token: &'a str,
    /// The token type (`Bearer`).
    pub token_type: &'a str,
    /// When the access token expires; missing or `null` is a token that does not expire.
    pub expiry: &'a str,
    /// How [`expiry`](Self::expiry) counts.
    pub expiry_format: ExpiryFormat,
    /// When the refresh token itself expires; missing or `null` keeps what the host knows.
    pub refresh_expiry: &'a str,
    /// How [`refresh_expiry`](Self::refresh_expiry) counts.
    pub refresh_expiry_format: ExpiryFormat,
    /// The granted scopes, a string or a list.
    pub scope: &'a str,
    /// How a scope string is joined.
    pub scope_separator: ScopeSeparator,
    /// Non-secret fields kept as connection metadata, under these names (see
    /// [`standard::metadata_fields`]). Never name a token here.
    pub metadata: &'a [&'a str],
    /// The app's own error fields. An RFC 6749 `error` is read as well, after them.
    pub error: ErrorFields<'a>,
    /// For apps that answer HTTP 200 with an error body: the field, from the body's top level,
    /// and the JSON value that means success (`("code", "0")`, `("ok", "true")`,
    /// `("status", "\"ok\"")`; a string field also matches the text itself, so `("code", "0")`
    /// accepts `"0"`). Any other value is an error, described by the error fields. `None`: an
    /// error field or a non-2xx status is the error, as in RFC 6749.
    pub success: Option<(&'a str, &'a str)>,
    /// Error codes this app uses for a refresh token that no longer works (`bad_refresh_token`),
    /// reported as `invalid_grant` so the host asks the user to reconnect; the app's code leads
    /// the description.
    pub invalid_grant: &'a [&'a str],
}

impl TokenFields<'static> {
    /// RFC 6749 §5.1 and §5.2, as [`standard::parse_token_response`] reads them:
    /// `access_token`, `refresh_token`, `token_type`, `expires_in` and
    /// `refresh_token_expires_in` (seconds), `scope` (space-separated), errors in `error`.
    pub const STANDARD: TokenFields<'static> = TokenFields {
        root: "",
        access_token: "access_token",
        refresh_token: "refresh_token",
        token_type: "token_type",
        expiry: "expires_in",
        expiry_format: ExpiryFormat::Seconds,
        refresh_expiry: "refresh_token_expires_in",
        refresh_expiry_format: ExpiryFormat::Seconds,
        scope: "scope",
        scope_separator: ScopeSeparator::Space,
        metadata: &[],
        error: ErrorFields::STANDARD,
        success: None,
        invalid_grant: &[],
    };
}

impl Default for TokenFields<'static> {
    fn default() -> Self {
        Self::STANDARD
    }
}

impl TokenFields<'_> {
    /// Reads a token endpoint's answer: [`checked_body`](Self::checked_body), then
    /// [`token_set`](Self::token_set). What `parse_token_response` usually returns.
    pub fn parse(&self, response: &HttpResponse) -> Result<TokenSet, AuthError> {
        self.token_set(&self.checked_body(response)?)
    }

    /// The parsed body (JSON or form, see [`standard::parse_body`]) of a successful answer, or
    /// the error it carries: for a plugin that needs more than the tokens from it (a second
    /// call, metadata from elsewhere in the body).
    pub fn checked_body(&self, response: &HttpResponse) -> Result<Value, AuthError> {
        let body = standard::parse_body(response)?;
        if let Some((path, expected)) = self.success {
            let Some(value) = lookup(&body, path).filter(|value| !value.is_null()) else {
                return Err(AuthError::InvalidResponse(format!(
                    "HTTP {} without `{path}`, the field that says whether the call succeeded: {}",
                    response.status,
                    standard::body_snippet(response)
                )));
            };
            if !matches(value, expected) {
                let error = self.provider_error(&body).unwrap_or_else(|| ProviderError {
                    code: "unsuccessful".into(),
                    description: Some(format!(
                        "`{path}` is {value}, not {expected}: {}",
                        standard::body_snippet(response)
                    )),
                    uri: None,
                });
                return Err(AuthError::Provider(error));
            }
        } else if let Some(error) = self.provider_error(&body) {
            return Err(AuthError::Provider(error));
        }
        if !response.is_success() {
            return Err(AuthError::InvalidResponse(format!(
                "the token endpoint answered HTTP {} without an error the plugin knows: {}",
                response.status,
                standard::body_snippet(response)
            )));
        }
        Ok(body)
    }

    /// The error a parsed body carries, if any: the app's [`error`](Self::error) fields, then an
    /// RFC 6749 `error`, with [`invalid_grant`](Self::invalid_grant) codes renamed.
    pub fn provider_error(&self, body: &Value) -> Option<ProviderError> {
        let own = (!self.error.code.is_empty()).then(|| {
            // An empty path is a field the app does not send, not the whole body.
            let field = |path: &str| match path {
                "" => Value::Null,
                path => lookup(body, path).cloned().unwrap_or(Value::Null),
            };
            // In the standard layout, the standard reader's rules apply: null or false is no
            // error, an object's `code`/`type` and `message` are read.
            let standard_layout = json!({
                "error": field(self.error.code),
                "error_description": field(self.error.description),
                "error_uri": field(self.error.uri),
            });
            standard::provider_error(&standard_layout)
        });
        let error = own.flatten().or_else(|| standard::provider_error(body))?;
        if !self.invalid_grant.contains(&error.code.as_str()) {
            return Some(error);
        }
        let description = match &error.description {
            Some(description) => format!("{}: {description}", error.code),
            None => error.code.clone(),
        };
        Some(ProviderError { code: "invalid_grant".into(), description: Some(description), uri: error.uri })
    }

    /// The tokens in a successful body, from the fields this map names.
    pub fn token_set(&self, body: &Value) -> Result<TokenSet, AuthError> {
        let root_name = if self.root.is_empty() { "the body" } else { self.root };
        let root = lookup(body, self.root).filter(|root| root.is_object()).ok_or_else(|| {
            AuthError::InvalidResponse(format!(
                "expected a JSON object at {root_name} with the access token `{}`, got: {}",
                self.access_token,
                snippet(lookup(body, self.root).unwrap_or(&Value::Null))
            ))
        })?;
        let text = |path: &str| lookup(root, path).and_then(Value::as_str).map(str::to_string);
        let Some(access_token) = text(self.access_token).filter(|token| !token.is_empty()) else {
            let names: Vec<&str> = root.as_object().into_iter().flat_map(|o| o.keys()).map(String::as_str).collect();
            return Err(AuthError::InvalidResponse(format!(
                "the token response has no `{}` in {root_name} (its fields: {}); if the app names its \
                 access token differently, change the plugin's token field map",
                self.access_token,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )));
        };
        let scopes = standard::scopes_of(
            lookup(root, self.scope),
            match self.scope_separator {
                ScopeSeparator::Space => |list: &str| list.split_whitespace().map(str::to_string).collect(),
                ScopeSeparator::Comma => standard::split_scopes,
            },
        );
        Ok(TokenSet {
            access_token,
            refresh_token: text(self.refresh_token),
            token_type: text(self.token_type),
            expiry: expiry(root, self.expiry, self.expiry_format)?,
            scopes,
            metadata: standard::metadata_fields(root, self.metadata),
            refresh_expiry: expiry(root, self.refresh_expiry, self.refresh_expiry_format)?,
            secrets: Vec::new(),
        })
    }
}

/// The value at a dotted path; the empty path is `value` itself.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |value, key| match value {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => value.get(key),
    })
}

/// Whether a success field holds the expected JSON value (or, for a string, its text).
fn matches(value: &Value, expected: &str) -> bool {
    serde_json::from_str::<Value>(expected).is_ok_and(|expected| *value == expected) || value.as_str() == Some(expected)
}

/// The expiry at `path`, read as `format` says; `None` when the field is empty, missing or null.
fn expiry(root: &Value, path: &str, format: ExpiryFormat) -> Result<Option<Expiry>, AuthError> {
    let value = match lookup(root, path) {
        _ if path.is_empty() => return Ok(None),
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    let expected = match format {
        ExpiryFormat::Seconds => "a number of seconds",
        ExpiryFormat::Millis => "a number of milliseconds",
        ExpiryFormat::EpochSeconds => "a Unix time in seconds",
        ExpiryFormat::EpochMillis => "a Unix time in milliseconds",
        ExpiryFormat::Rfc3339 => "an RFC 3339 date-time such as `2026-01-01T00:00:00Z`",
    };
    let read = match format {
        ExpiryFormat::Seconds => whole_number(value).map(Expiry::ExpiresIn),
        ExpiryFormat::Millis => whole_number(value).map(|ms| Expiry::ExpiresIn(ms / 1000)),
        ExpiryFormat::EpochSeconds => whole_number(value).map(Expiry::ExpiresAt),
        ExpiryFormat::EpochMillis => whole_number(value).map(|ms| Expiry::ExpiresAt(ms / 1000)),
        ExpiryFormat::Rfc3339 => value
            .as_str()
            .and_then(crate::time::parse_rfc3339)
            .and_then(|seconds| u64::try_from(seconds).ok())
            .map(Expiry::ExpiresAt),
    };
    read.map(Some).ok_or_else(|| {
        AuthError::InvalidResponse(format!(
            "`{path}` is {}, not {expected}; if the app writes it another way, change the expiry format in \
             the plugin's token field map",
            snippet(value)
        ))
    })
}

/// A non-negative whole number from a JSON number or numeric string; fractions are dropped.
fn whole_number(value: &Value) -> Option<u64> {
    let from_float = |f: f64| (f.is_finite() && f >= 0.0 && f < u64::MAX as f64).then(|| f.trunc() as u64);
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(from_float)),
        Value::String(s) => s.trim().parse::<u64>().ok().or_else(|| s.trim().parse::<f64>().ok().and_then(from_float)),
        _ => None,
    }
}

/// A JSON value for an error message, cut to about 200 characters.
fn snippet(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests;
