//! RFC 6749 §5.2 error answers of the token and revoke endpoints.

/// An RFC 6749 §5.2 error: what the token endpoint answers when it refuses a request, and what
/// `MockProvider::fail_next_token_request` makes it answer.
///
/// The body is `{"error": error, "error_description": description}` with `status`. An `invalid_client` with
/// status 401 also carries `WWW-Authenticate: Basic realm="mock"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// The error code, e.g. `invalid_grant`.
    pub error: String,
    /// Human-readable detail saying what to fix; omitted from the body when `None`.
    pub description: Option<String>,
    /// The HTTP status.
    pub status: u16,
}

impl TokenError {
    /// An error with this code and description, answered with status 400.
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> Self {
        TokenError { error: error.into(), description: Some(description.into()), status: 400 }
    }

    /// The same error with another HTTP status.
    ///
    /// # Panics
    /// When `status` is not a valid HTTP status code (100..=999).
    pub fn with_status(mut self, status: u16) -> Self {
        assert!((100..=999).contains(&status), "{status} is not an HTTP status code");
        self.status = status;
        self
    }

    /// The same error without `error_description`.
    pub fn without_description(mut self) -> Self {
        self.description = None;
        self
    }

    /// `invalid_request` (400): a parameter is missing, repeated or malformed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    /// `invalid_client` (401): client authentication failed.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", description).with_status(401)
    }

    /// `invalid_grant` (400): the code or refresh token is invalid, expired, revoked or was issued to someone else.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    /// `unauthorized_client` (400): this client may not use this grant or token.
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new("unauthorized_client", description)
    }

    /// `unsupported_grant_type` (400).
    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new("unsupported_grant_type", description)
    }

    /// `invalid_scope` (400).
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", description)
    }

    /// `server_error` (500): what a provider having a bad day answers.
    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new("server_error", description).with_status(500)
    }

    /// `temporarily_unavailable` (503).
    pub fn temporarily_unavailable(description: impl Into<String>) -> Self {
        Self::new("temporarily_unavailable", description).with_status(503)
    }
}
