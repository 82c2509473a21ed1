//! Why an API call made from an action failed, in words an integration author can act on.

use std::fmt;

use crate::{ActionError, HttpError};

/// How much of a response body an error quotes.
const EXCERPT_CHARS: usize = 500;

/// Why an API call failed. Every variant names the call (`GET /repos/o/r/labels`), and its
/// `Display` says what to check.
///
/// `?` turns it into an [`ActionError`]: [`ApiError::Encode`] is the plugin's own bug and
/// becomes [`ActionError::Plugin`]; everything else (the host refusing or failing the call, a
/// non-2xx status, an answer the action cannot read, pagination that does not end) is about the
/// app's API and becomes [`ActionError::Upstream`]. To handle a status yourself, match before
/// `?`: `Err(e) if e.status() == Some(404) => ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// The host did not get an answer: it refused the call (outside the allowlist, over the
    /// action's call cap or deadline, over the size cap), or the call timed out or failed in
    /// transit.
    Http {
        /// The request's method.
        method: String,
        /// The request's path, as the action gave it.
        path: String,
        /// What the host reported.
        error: HttpError,
    },
    /// The app answered with a status other than 2xx (after the host's own retries of 401, 429
    /// and 5xx).
    Status {
        /// The request's method.
        method: String,
        /// The request's path, as the action gave it.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body, for diagnosis.
        body: String,
    },
    /// The app answered 2xx, but the body is not what the action expected.
    Decode {
        /// The request's method.
        method: String,
        /// The request's path, as the action gave it.
        path: String,
        /// The HTTP status.
        status: u16,
        /// What did not fit, from the JSON parser: `missing field `number``.
        message: String,
        /// The start of the body, for diagnosis.
        body: String,
    },
    /// The request body cannot be written as JSON: a bug in the plugin.
    Encode {
        /// The request's method.
        method: String,
        /// The request's path, as the action gave it.
        path: String,
        /// What the JSON writer said.
        message: String,
    },
    /// Pagination stopped before the last page: more pages than the guard allows, or a next page
    /// that points back to one already read.
    Pagination {
        /// The first page's path.
        path: String,
        /// What happened and what to do.
        message: String,
    },
}

impl ApiError {
    /// The HTTP status of a [`ApiError::Status`] (or [`ApiError::Decode`]) answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } | ApiError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The start of the answer's body, when there was an answer.
    pub fn body(&self) -> Option<&str> {
        match self {
            ApiError::Status { body, .. } | ApiError::Decode { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// What to check after the host refused or failed a call.
fn http_hint(error: &HttpError) -> &'static str {
    match error {
        HttpError::Denied(_) => {
            "call a path relative to the API base, or an absolute URL on a host the integration or the plugin \
             manifest's `hosts` allows"
        }
        HttpError::Timeout => "the app did not answer in time: try again, or ask for less in one call",
        HttpError::TooLarge(_) => "ask for less in one call (a smaller page size, fewer fields)",
        HttpError::Transport(_) => "check that the app is reachable from the Keyway host",
    }
}

/// What a status usually means for the action's author or user.
fn status_hint(status: u16) -> &'static str {
    match status {
        400 => "the app refused the request: check the action's input",
        401 => "the app refused the credentials even after a refresh: reconnect the connection",
        403 => {
            "the connected account lacks a permission or scope for this (or hit a rate limit): reconnect with the \
             scope, or use an account with access"
        }
        404 => "not found, or not visible to the connected account: check the names in the input",
        409 => "the request conflicts with the app's current state",
        410 => "it no longer exists",
        422 => "the app refused the request's content: check the fields its answer names",
        429 => "rate limited even after the host's retries: try again later",
        500..=599 => "the app failed: try again later",
        _ => "see the app's answer",
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Http { method, path, error } => write!(f, "`{method} {path}`: {error}; {}", http_hint(error)),
            ApiError::Status { method, path, status, body } => {
                write!(f, "`{method} {path}` answered HTTP {status} ({}): {body}", status_hint(*status))
            }
            ApiError::Decode { method, path, status, message, body } => write!(
                f,
                "`{method} {path}` answered HTTP {status} with a body the action cannot read ({message}): {body}"
            ),
            ApiError::Encode { method, path, message } => {
                write!(f, "`{method} {path}`: the request body cannot be written as JSON: {message}")
            }
            ApiError::Pagination { path, message } => write!(f, "paging through `{path}`: {message}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// See [`ApiError`] for which variant becomes which.
impl From<ApiError> for ActionError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Encode { .. } => ActionError::Plugin(error.to_string()),
            _ => ActionError::Upstream(error.to_string()),
        }
    }
}

/// The start of a body as text, for error messages: `(empty body)`, or up to
/// [`EXCERPT_CHARS`] characters, cut with `…`.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, body: &str) -> ApiError {
        ApiError::Status { method: "POST".into(), path: "/repos/o/r/labels".into(), status, body: body.into() }
    }

    #[test]
    fn status_errors_name_the_call_the_status_and_what_to_check() {
        let error = status(422, r#"{"message":"Validation Failed"}"#);
        assert_eq!(
            error.to_string(),
            "`POST /repos/o/r/labels` answered HTTP 422 (the app refused the request's content: check the fields its \
             answer names): {\"message\":\"Validation Failed\"}"
        );
        assert_eq!(error.status(), Some(422));
        assert_eq!(error.body(), Some(r#"{"message":"Validation Failed"}"#));
        assert!(status(401, "").to_string().contains("reconnect the connection"));
        assert!(status(503, "").to_string().contains("try again later"));
    }

    #[test]
    fn host_errors_say_what_to_change() {
        let error = ApiError::Http {
            method: "GET".into(),
            path: "https://evil.test/".into(),
            error: HttpError::Denied("https://evil.test/ is outside the allowlist".into()),
        };
        let text = error.to_string();
        assert!(text.starts_with("`GET https://evil.test/`: denied by the host's egress policy"), "{text}");
        assert!(text.contains("manifest's `hosts`"), "{text}");
        let large =
            ApiError::Http { method: "GET".into(), path: "/x".into(), error: HttpError::TooLarge("over 8 MiB".into()) };
        assert!(large.to_string().contains("ask for less in one call"), "{large}");
        assert_eq!(large.status(), None);
        assert_eq!(large.body(), None);
    }

    #[test]
    fn into_action_error_is_upstream_except_for_the_plugins_own_encoding_bug() {
        let upstream = [
            status(404, "{}"),
            ApiError::Http { method: "GET".into(), path: "/x".into(), error: HttpError::Timeout },
            ApiError::Http { method: "GET".into(), path: "/x".into(), error: HttpError::TooLarge("8 MiB".into()) },
            ApiError::Http { method: "GET".into(), path: "/x".into(), error: HttpError::Denied("no".into()) },
            ApiError::Decode {
                method: "GET".into(),
                path: "/x".into(),
                status: 200,
                message: "expected a sequence".into(),
                body: "{}".into(),
            },
            ApiError::Pagination { path: "/x".into(), message: "more than 2 pages".into() },
        ];
        for error in upstream {
            let text = error.to_string();
            assert_eq!(ActionError::from(error), ActionError::Upstream(text));
        }
        let encode =
            ApiError::Encode { method: "POST".into(), path: "/x".into(), message: "key must be a string".into() };
        let text = encode.to_string();
        assert_eq!(ActionError::from(encode), ActionError::Plugin(text));
    }

    #[test]
    fn excerpts_are_trimmed_and_cut() {
        assert_eq!(excerpt(b"  \n"), "(empty body)");
        assert_eq!(excerpt(b" {\"a\":1}\n"), "{\"a\":1}");
        let long = "é".repeat(EXCERPT_CHARS + 10);
        let cut = excerpt(long.as_bytes());
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
