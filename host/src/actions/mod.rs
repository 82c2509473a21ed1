//! Custom actions: what the host enforces around them, whoever wrote them.
//!
//! An action is a plugin's `actions.invoke` export, or a stored declarative definition run by
//! the built-in `keyway-declarative` component. Either way the host validates the input and
//! output against the action's JSON Schemas, and every API call goes through an
//! [`ActionLimits`]-bounded session that attaches credentials the action never sees.

pub mod schema;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Per-invocation bounds on an action's API calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionLimits {
    /// Requests one invocation may send, retries and the retry after a refresh included.
    pub max_calls: u32,
    /// Wall-clock time one invocation may take, its API calls included.
    pub deadline: Duration,
    /// Attempts per call when the API answers 429 (any method) or 5xx (idempotent methods
    /// only: a `POST` that failed with 502 may have been carried out), the first included.
    pub max_attempts: u32,
    /// The longest wait before a retry, whatever `Retry-After` asks; a longer ask ends the
    /// retries and hands the action the 429.
    pub max_retry_wait: Duration,
}

impl Default for ActionLimits {
    fn default() -> Self {
        Self {
            max_calls: 50,
            deadline: Duration::from_secs(30),
            max_attempts: 3,
            max_retry_wait: Duration::from_secs(10),
        }
    }
}

/// One API call an action made, as the API reports it. Never credentials: the path has no
/// query string (an app may take its token there), and no headers are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallSummary {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path the action asked for, or the path of the absolute URL it gave.
    pub path: String,
    /// The answer's status; absent when no answer came (refused, timed out).
    pub status: Option<u16>,
    /// How long the request took, in milliseconds.
    pub duration_ms: u64,
    /// Why there was no answer, or what the host did about it (`retried after 429`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The path of `path_or_url` without its query or fragment.
pub fn summary_path(path_or_url: &str) -> String {
    match url::Url::parse(path_or_url) {
        Ok(url) => url.path().to_string(),
        Err(_) => path_or_url.split(['?', '#']).next().unwrap_or_default().to_string(),
    }
}

/// Whether a response is worth sending again, by RFC 9110's idempotency: 429 means the
/// request was not processed; a 5xx may mean it was, so only idempotent methods retry it.
pub fn is_retryable(method: &str, status: u16) -> bool {
    let idempotent = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"].iter().any(|m| m.eq_ignore_ascii_case(method));
    status == 429 || (idempotent && matches!(status, 500 | 502 | 503 | 504))
}

/// How long to wait before attempt `attempt + 1`: the server's `Retry-After` when it gave
/// one, else a short exponential backoff.
pub fn retry_delay(retry_after: Option<Duration>, attempt: u32) -> Duration {
    retry_after.unwrap_or_else(|| Duration::from_millis(250u64.saturating_mul(1 << attempt.min(6))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_drop_the_query() {
        assert_eq!(summary_path("/user/repos?page=2&access_token=x"), "/user/repos");
        assert_eq!(summary_path("https://api.example.com/v1/users?token=x#f"), "/v1/users");
    }

    #[test]
    fn only_idempotent_methods_retry_a_5xx() {
        assert!(is_retryable("POST", 429));
        assert!(!is_retryable("POST", 503));
        assert!(is_retryable("get", 503));
        assert!(is_retryable("DELETE", 502));
        assert!(!is_retryable("GET", 501));
        assert!(!is_retryable("GET", 404));
    }

    #[test]
    fn retry_after_wins_over_backoff() {
        assert_eq!(retry_delay(Some(Duration::from_secs(2)), 1), Duration::from_secs(2));
        assert_eq!(retry_delay(None, 1), Duration::from_millis(500));
        assert_eq!(retry_delay(None, 0), Duration::from_millis(250));
    }
}
