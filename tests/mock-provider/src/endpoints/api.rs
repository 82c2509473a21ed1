//! `/api/*`: a protected resource that takes only valid bearer tokens (RFC 6750 §2.1) and echoes the call.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::params::media_type;
use crate::server::{Refusal, json_body};
use crate::store::{Shared, lock};

/// The one user every token belongs to.
const USER_ID: &str = "mock-user";

/// `GET /api/me`: who the token belongs to.
pub(crate) async fn me(State(shared): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(failure) = overloaded(&shared).await {
        return failure;
    }
    match authorize_bearer(&shared, &uri, &headers) {
        Ok(_) => (StatusCode::OK, json_body(json!({ "id": USER_ID, "name": "Mock User" }).to_string())).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// Any method on `/api` and below: echoes what was asked (method, path, query, headers, body), with the
/// caller's user and scopes, after the configured latency.
pub(crate) async fn echo(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(failure) = overloaded(&shared).await {
        return failure;
    }
    let scopes = match authorize_bearer(&shared, &uri, &headers) {
        Ok(scopes) => scopes,
        Err(refusal) => return refusal.into_response(),
    };
    // Every header as received, credentials included, as an API that reflects its request
    // would: a client must not pass such an answer on unfiltered.
    let received: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), json!(String::from_utf8_lossy(value.as_bytes()))))
        .collect();
    let query: Map<String, Value> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), json!(v))).collect())
        .unwrap_or_default();
    let mut echo = json!({
        "ok": true,
        "method": method.as_str(),
        "path": uri.path(),
        "query": query,
        "user": USER_ID,
        "scopes": scopes,
        "headers": received,
    });
    if !body.is_empty() {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .map(|v| media_type(&String::from_utf8_lossy(v.as_bytes())).0)
            .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"));
        echo["body"] = match serde_json::from_slice::<Value>(&body) {
            Ok(value) if is_json => value,
            _ => json!(String::from_utf8_lossy(&body)),
        };
    }
    (StatusCode::OK, json_body(echo.to_string())).into_response()
}

/// Waits the configured latency, then answers a queued failure (`MockProvider::fail_next_api_requests`) if
/// there is one.
async fn overloaded(shared: &Shared) -> Option<Response> {
    let (latency, failure) = {
        let mut store = lock(shared);
        (store.config.api_latency, store.api_failures.pop_front())
    };
    crate::delay::sleep(latency).await;
    let (status, retry_after) = failure?;
    let mut response = (status, json_body(json!({ "error": "temporarily_unavailable" }).to_string())).into_response();
    if let Some(value) = retry_after.and_then(|v| axum::http::HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// The scopes of the request's valid bearer token, or the 401 to answer.
fn authorize_bearer(shared: &Shared, uri: &Uri, headers: &HeaderMap) -> Result<Vec<String>, Refusal> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        let in_query =
            uri.query().is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token"));
        return Err(Refusal::InvalidToken(if in_query {
            "the access_token query parameter is refused: send `Authorization: Bearer <token>`".to_owned()
        } else {
            "send exactly one `Authorization: Bearer <token>` header".to_owned()
        }));
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    let (scheme, token) = value.split_once(' ').unwrap_or((&value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::InvalidToken(format!(
            "Authorization scheme `{scheme}` is not accepted: send `Authorization: Bearer <token>`"
        )));
    }
    access_token_scopes(shared, token.trim())
}

/// The scopes of a valid access token, or the 401 to answer: unknown, a refresh token, revoked, or expired.
pub(crate) fn access_token_scopes(shared: &Shared, token: &str) -> Result<Vec<String>, Refusal> {
    let mut store = lock(shared);
    let max_uses = store.config.access_token_max_uses;
    let Some(access) = store.access_tokens.get_mut(token) else {
        return Err(Refusal::InvalidToken(if store.refresh_tokens.contains_key(token) {
            "that is a refresh token: send the access token".to_owned()
        } else {
            "unknown access token".to_owned()
        }));
    };
    if access.revoked {
        return Err(Refusal::InvalidToken("the access token was revoked".to_owned()));
    }
    if access.is_expired() {
        return Err(Refusal::InvalidToken("the access token expired".to_owned()));
    }
    if max_uses.is_some_and(|max| access.uses >= max) {
        return Err(Refusal::InvalidToken("the access token has served its requests: refresh it".to_owned()));
    }
    access.uses += 1;
    Ok(access.scopes.clone())
}
