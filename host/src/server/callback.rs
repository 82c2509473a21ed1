//! `GET /oauth`: the redirect URI. Completes the flow and answers the user's browser with a
//! page that says what happened and, on failure, what to check.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::AppState;
use crate::egress::EgressError;
use crate::flows::FlowError;
use crate::service::{CallbackError, CallbackOutcome};

/// Completes the authorization.
pub async fn complete(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let outcome = state.service.complete_callback(pairs).await;
    // Someone signed in to the console who started this from its pages goes back to the
    // connection's page, which says the same and shows what was exchanged.
    if let Some(page) = console_page(&state, &headers, &outcome).await {
        let mut response = Redirect::to(&page).into_response();
        no_leaks(response.headers_mut());
        return response;
    }
    let mut retry_after = None;
    let (status, body) = match outcome {
        Ok(outcome) => (
            StatusCode::OK,
            page(
                "Connected",
                &format!(
                    "<p>The connection <strong>{}</strong> to <strong>{}</strong> is ready. You can close this window.</p>\
                     <p class=\"id\">Connection id: <code>{}</code></p>",
                    escape(&outcome.connection_name),
                    escape(&outcome.integration_name),
                    escape(&outcome.connection_id)
                ),
            ),
        ),
        Err(e) => (
            match e.retry_after {
                Some(wait) => {
                    retry_after = Some(wait);
                    StatusCode::SERVICE_UNAVAILABLE
                }
                None => StatusCode::BAD_REQUEST,
            },
            page(
                "The connection could not be completed",
                &format!(
                    "<p>{}</p><p><strong>What to check:</strong> {}</p>",
                    escape(&e.message),
                    escape(hint_for(&e.message).unwrap_or(e.hint))
                ),
            ),
        ),
    };
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    if let Some(wait) = retry_after {
        headers.insert(header::RETRY_AFTER, wait.as_secs().max(1).into());
    }
    no_leaks(headers);
    headers
        .insert("content-security-policy", HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
    response
}

/// The URL carried a code and state: never let them leak through Referer or a cache.
fn no_leaks(headers: &mut HeaderMap) {
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The console page to send the browser to, when its cookie holds a live console session that
/// may see the connection; `None` otherwise (a connect link's visitor, a plain API user).
async fn console_page(
    state: &AppState,
    headers: &HeaderMap,
    outcome: &Result<CallbackOutcome, CallbackError>,
) -> Option<String> {
    let (id, result) = match outcome {
        Ok(done) => (done.connection_id.as_str(), "connected=1"),
        // Busy: the plain page says to reload in a moment, which the connection's page cannot.
        Err(e) if e.retry_after.is_none() => (e.connection_id.as_deref()?, "failed=1"),
        Err(_) => return None,
    };
    let session_id = super::ui::cookie_session_id(headers)?;
    let session = state.service.console_session(&session_id).await.ok()?;
    state.service.get_connection(&session.principal, id).await.ok()?;
    Some(format!("/ui/connections/{id}?{result}"))
}

const HINT_TOKEN_PATH: &str = "Keyway found no token endpoint at the Site plus the Token Path. The Token Path \
should be the path after the site, such as /login/oauth/access_token, not the full URL; the Site is only the scheme \
and host, such as https://yourapp.com.";
const HINT_CLIENT: &str = "The app did not accept the client's credentials. Check the Client ID and the Client \
Secret (copied whole, from this app's settings), and the client authentication: `basic` sends them in an \
Authorization header, `post` in the request body, and the app's documentation says which it expects.";
const HINT_FORMAT: &str = "The app refused the form of the token request. Compare the client authentication \
(an Authorization header, or fields in the body) and the body's format (a form or JSON) with the app's \
documentation for its token endpoint; when the app wants a format the standard plugin does not send, a plugin \
can send it.";
const HINT_GRANT: &str = "The app refused the authorization code: it expires quickly and works once, so start the \
connection again. If it happens every time, the redirect URI Keyway sends must be registered with the app exactly.";
const HINT_UNREADABLE: &str = "The app's answer to the token request could not be read. If it is a web page, the \
Token Path points at a page rather than the token endpoint; otherwise the app answers in a format the plugin does \
not read, and a plugin can read it.";
const HINT_SITE: &str = "Keyway could not reach the app's token endpoint. Check the Site's host name and port (such \
as https://yourapp.com), and that the app is up and reachable from the Keyway server.";
const HINT_EGRESS: &str = "Keyway's outbound rules refused the token endpoint's address. The Site must be a public \
https address; an operator can allow a private one (`allowed_networks`, `insecure_http_hosts`).";

/// What to check, chosen from what failed: the service's message is a [`FlowError`] in its own words (the
/// line above the hint, which quotes the provider), so its form says which part of the exchange broke. `None`
/// for failures outside the token exchange (a stale link, a declined consent, a busy plugin), whose hint the
/// service already chose.
pub(crate) fn hint_for(message: &str) -> Option<&'static str> {
    // Each form's fixed words: the error's text up to a marker put where the variable part goes.
    let prefix = |e: FlowError| e.to_string().split('\u{0}').next().unwrap_or_default().to_string();
    let transport = prefix(FlowError::Egress(EgressError::Transport("\u{0}".into())));
    let denied = prefix(FlowError::Egress(EgressError::Denied("\u{0}".into())));
    let timeout = prefix(FlowError::Egress(EgressError::Timeout(Duration::ZERO)));
    let timeout = timeout.split(char::is_numeric).next().unwrap_or_default();
    let unreadable = prefix(FlowError::InvalidResponse("\u{0}".into()));
    let provider = prefix(FlowError::Provider { code: "\u{0}".into(), description: None });

    if message.starts_with(&transport) || message.starts_with(timeout) {
        return Some(HINT_SITE);
    }
    if message.starts_with(&denied) {
        return Some(HINT_EGRESS);
    }
    if let Some(rest) = message.strip_prefix(&unreadable) {
        let status = |code: &str| rest.contains(&format!("HTTP {code}")) || rest.contains(&format!("answered {code}"));
        return Some(match () {
            _ if status("404") || status("405") => HINT_TOKEN_PATH,
            _ if status("401") => HINT_CLIENT,
            _ if status("415") => HINT_FORMAT,
            _ => HINT_UNREADABLE,
        });
    }
    let code = message.strip_prefix(&provider)?.split('`').next()?;
    match code {
        "invalid_client" | "unauthorized_client" => Some(HINT_CLIENT),
        "invalid_request" | "unsupported_grant_type" | "unsupported_media_type" => Some(HINT_FORMAT),
        "invalid_grant" => Some(HINT_GRANT),
        // What some servers (and the mock provider) answer for a path they do not serve, in an OAuth2 shape.
        "not_found" => Some(HINT_TOKEN_PATH),
        _ => None,
    }
}

/// A page in the house style: `title` as its heading, `body` already escaped.
pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Keyway</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}\
         code{{background:#f3f3f3;padding:0 .2rem}}</style></head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    )
}

/// HTML-escapes text from providers and users.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages as the flows word them, scrubbed as the service sends them.
    #[test]
    fn the_hint_follows_what_failed() {
        let provider = |code: &str, description: &str| {
            FlowError::Provider { code: code.into(), description: Some(description.into()) }.to_string()
        };
        let cases = [
            (
                FlowError::InvalidResponse(
                    "the token endpoint answered HTTP 404 without an OAuth2 `error`: Not Found".into(),
                )
                .to_string(),
                Some(HINT_TOKEN_PATH),
            ),
            (
                FlowError::InvalidResponse("HTTP 404 with a body that is neither JSON nor form-encoded: ".into())
                    .to_string(),
                Some(HINT_TOKEN_PATH),
            ),
            (
                FlowError::InvalidResponse("HTTP 200 with a body that is neither JSON nor form-encoded: <html>".into())
                    .to_string(),
                Some(HINT_UNREADABLE),
            ),
            (provider("invalid_client", "client authentication failed"), Some(HINT_CLIENT)),
            (provider("invalid_request", "Content-Type `application/json` is not accepted"), Some(HINT_FORMAT)),
            (provider("invalid_grant", "the code has expired"), Some(HINT_GRANT)),
            (provider("not_found", "no such endpoint"), Some(HINT_TOKEN_PATH)),
            (
                FlowError::Egress(EgressError::Transport("error sending request: connection refused".into()))
                    .to_string(),
                Some(HINT_SITE),
            ),
            (FlowError::Egress(EgressError::Timeout(Duration::from_secs(30))).to_string(), Some(HINT_SITE)),
            (FlowError::Egress(EgressError::Denied("loopback".into())).to_string(), Some(HINT_EGRESS)),
            // Not the exchange's: the service's own hint stays.
            (provider("access_denied", "the user declined"), None),
            ("This authorization link is unknown or was already used.".to_string(), None),
        ];
        for (message, hint) in cases {
            assert_eq!(hint_for(&message), hint, "{message}");
        }
        for hint in [HINT_TOKEN_PATH, HINT_CLIENT, HINT_FORMAT, HINT_GRANT, HINT_UNREADABLE, HINT_SITE, HINT_EGRESS] {
            assert!(!hint.contains("almost always"), "{hint}");
        }
    }

    #[test]
    fn provider_text_is_escaped() {
        assert_eq!(
            super::escape("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
    }
}
