//! `GET /oauth`: the redirect URI. Completes the flow and answers the user's browser with a
//! page that says what happened and, on failure, what to check.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

/// Completes the authorization.
pub async fn complete(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let mut retry_after = None;
    let (status, body) = match state.service.complete_callback(pairs).await {
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
                &format!("<p>{}</p><p><strong>What to check:</strong> {}</p>", escape(&e.message), escape(e.hint)),
            ),
        ),
    };
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    if let Some(wait) = retry_after {
        headers.insert(header::RETRY_AFTER, wait.as_secs().max(1).into());
    }
    // The URL carried a code and state: never let them leak through Referer or a cache.
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers
        .insert("content-security-policy", HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
    response
}

fn page(title: &str, body: &str) -> String {
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
    #[test]
    fn provider_text_is_escaped() {
        assert_eq!(
            super::escape("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
    }
}
