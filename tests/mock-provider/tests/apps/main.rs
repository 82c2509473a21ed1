//! The app modes' rules, checked over real HTTP: each app's documented requests are accepted, and each rule a mode
//! enforces has a request that breaks it and is refused.

#[allow(dead_code)]
#[path = "../strict/support.rs"]
mod support;

mod atlassian;
mod entra;
mod github;
mod instagram;
mod notion;
mod quirks;
mod shopify;
mod slack;
mod tiktok;
mod tiktok_shop;
mod xero;
mod zendesk;

use reqwest::Method;
use serde_json::Value;

use support::{Call, Harness, Reply};

/// `params` with `set` applied in order: a value replaces the parameter (or adds it), `None` removes it.
pub fn changed(params: &[(&str, &str)], set: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for (name, value) in set {
        params.retain(|(n, _)| n != name);
        if let Some(value) = value {
            params.push((name.to_string(), value.to_string()));
        }
    }
    params
}

/// `GET path?query`, the way a browser follows an authorize URL.
pub async fn get(h: &Harness, path: &str, query: &[(String, String)]) -> Reply {
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
    h.call(Method::GET, &format!("{path}?{query}")).send(h).await
}

/// A `POST` of `body` as JSON.
pub fn post_json(h: &Harness, path: &str, body: &Value) -> Call {
    h.call(Method::POST, path).header("content-type", "application/json").raw_body(&body.to_string())
}

/// The code of a successful authorization redirect.
#[track_caller]
pub fn code_of(reply: &Reply) -> String {
    assert_eq!(reply.status, 302, "authorize refused: {}", reply.text);
    assert_eq!(reply.location_param("error"), None, "authorize refused: {}", reply.location());
    reply.location_param("code").unwrap_or_else(|| panic!("no code in {}", reply.location()))
}

/// The `error` and `error_description` of an authorization redirect.
#[track_caller]
pub fn redirect_error(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, 302, "{}", reply.text);
    let error = reply.location_param("error").unwrap_or_else(|| panic!("no error in {}", reply.location()));
    (error, reply.location_param("error_description").unwrap_or_default())
}
