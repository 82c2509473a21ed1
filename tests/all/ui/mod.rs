//! The admin console under `/ui`: its protections over plain HTTP ([`protections`]), and the
//! help article's whole path in a real Chromium against a real OAuth server ([`admin_path`]).

mod admin_path;
mod protections;

use reqwest::header::{COOKIE, SET_COOKIE};

use crate::api::Reply;

/// A browser played over HTTP: it keeps the console's session cookie, never follows
/// redirects, and posts forms with their CSRF token.
pub struct ConsoleClient {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The `keyway_session` cookie's value, once signed in.
    pub session: Option<String>,
    http: reqwest::Client,
}

impl ConsoleClient {
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_string(), session: None, http: keyway_tests::http::client() }
    }

    /// Signs in with `key`; returns the answer, keeping the cookie it sets.
    pub async fn sign_in(&mut self, key: &str) -> Reply {
        let reply = self.post_raw("/ui/sign-in", &[("key", key)], None).await;
        if let Some(cookie) = set_cookie(&reply) {
            self.session = cookie_value(&cookie).filter(|v| !v.is_empty());
        }
        reply
    }

    /// `GET path` with the session cookie.
    pub async fn get(&self, path: &str) -> Reply {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(session) = &self.session {
            request = request.header(COOKIE, format!("keyway_session={session}"));
        }
        reply(request.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"))).await
    }

    /// Posts `fields` to `path` with the CSRF token read from the page at `form_page`.
    pub async fn submit(&self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Reply {
        let page = self.get(form_page).await;
        assert_eq!(page.status, 200, "GET {form_page}: {}", page.text);
        let token = csrf(&page.text);
        let mut with_token = vec![("_csrf", token.as_str())];
        with_token.extend_from_slice(fields);
        self.post_raw(path, &with_token, None).await
    }

    /// Posts a `multipart/form-data` body of `(name, bytes)` parts, as a file upload form does;
    /// `component` goes as a file.
    pub async fn post_multipart(&self, path: &str, parts: &[(&str, &[u8])]) -> Reply {
        const BOUNDARY: &str = "keyway-test-boundary-7d1f";
        let mut body = Vec::new();
        for (name, bytes) in parts {
            let file = if *name == "component" { "; filename=\"plugin.wasm\"" } else { "" };
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(body);
        if let Some(session) = &self.session {
            request = request.header(COOKIE, format!("keyway_session={session}"));
        }
        reply(request.send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"))).await
    }

    /// Posts exactly `fields` (no token added) with an optional `Origin`.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Reply {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(fields);
        if let Some(session) = &self.session {
            request = request.header(COOKIE, format!("keyway_session={session}"));
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        reply(request.send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"))).await
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    Reply { status, headers, text }
}

/// The `Set-Cookie` header of `reply`, if any.
pub fn set_cookie(reply: &Reply) -> Option<String> {
    reply.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn cookie_value(set_cookie: &str) -> Option<String> {
    set_cookie.split(';').next()?.strip_prefix("keyway_session=").map(str::to_string)
}

/// The CSRF token in a console page's forms.
#[track_caller]
pub fn csrf(html: &str) -> String {
    let marker = r#"name="_csrf" value=""#;
    let at = html.find(marker).unwrap_or_else(|| panic!("no CSRF field on the page:\n{html}")) + marker.len();
    html[at..].split('"').next().unwrap().to_string()
}
