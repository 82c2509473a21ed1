//! The app's API, for actions.
//!
//! The host resolves a relative path against the connection's API base (`api_base`), attaches
//! credentials the way `api_auth` says, refreshes and retries once after a 401, retries 429 and
//! 5xx answers (honouring `Retry-After`), enforces the egress allowlist, and counts and times the
//! call against the action's limits. Action code never sees a token.
//!
//! [`get`], [`post`], [`put`], [`patch`] and [`delete`] send one call each and turn anything but
//! a 2xx answer into an [`ApiError`], which `?` turns into an [`ActionError`](crate::ActionError).
//! [`paginate_link`] and [`paginate_cursor`] follow an API's pages. [`call`] is the raw import,
//! for code that wants every status as it came.
//!
//! An action that chains three calls reads like the three calls:
//!
//! ```no_run
//! use keyway_sdk::api::{self, ApiRequest};
//! use keyway_sdk::prelude::*;
//! use keyway_sdk::serde_json::{Value, json};
//!
//! /// Lists the repository's labels, creates the missing one, and opens an issue with it.
//! fn triage(repo: &str, title: &str) -> Result<Value, ActionError> {
//!     let labels: Vec<Value> = api::paginate_link(&ApiRequest::get(format!("/repos/{repo}/labels"))).items()?;
//!     if !labels.iter().any(|label| label["name"] == "triage") {
//!         api::post(&format!("/repos/{repo}/labels"), &json!({ "name": "triage" }))?;
//!     }
//!     let issue: Value = api::post(&format!("/repos/{repo}/issues"), &json!({ "title": title, "labels": ["triage"] }))?
//!         .json()?;
//!     Ok(json!({ "number": issue["number"] }))
//! }
//! ```

mod error;
mod link;
mod pages;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::bindings::keyway::plugin::api;
use crate::{HttpError, HttpResponse};

pub use crate::ApiRequest;
pub use error::ApiError;
pub use link::{Link, parse_link_header};
pub use pages::{DEFAULT_MAX_PAGES, HostApi, Pages, Sender, paginate_cursor, paginate_link};

/// Sends an API request through the host and returns the answer whatever its status: the raw
/// import. Only actions may call it; an auth hook that tries gets [`HttpError::Denied`] (hooks use
/// [`crate::http::send`]). Most action code wants [`send`], which turns a non-2xx answer into an
/// error.
pub fn call(request: &ApiRequest) -> Result<HttpResponse, HttpError> {
    api::call(request)
}

/// Sends an API request through the host; a 2xx answer is an [`ApiResponse`], anything else
/// (the host refusing or failing the call, or a non-2xx status) an [`ApiError`] naming the call.
pub fn send(request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    send_with(&mut HostApi, request)
}

/// `GET path`: `path` is relative to the API base (`/repos/o/r/issues`), or an absolute URL
/// inside the allowlist.
pub fn get(path: &str) -> Result<ApiResponse, ApiError> {
    send(&ApiRequest::get(path))
}

/// `POST path` with `body` as JSON.
pub fn post(path: &str, body: &impl Serialize) -> Result<ApiResponse, ApiError> {
    send(&ApiRequest::new("POST", path).with_json(body)?)
}

/// `PUT path` with `body` as JSON.
pub fn put(path: &str, body: &impl Serialize) -> Result<ApiResponse, ApiError> {
    send(&ApiRequest::new("PUT", path).with_json(body)?)
}

/// `PATCH path` with `body` as JSON.
pub fn patch(path: &str, body: &impl Serialize) -> Result<ApiResponse, ApiError> {
    send(&ApiRequest::new("PATCH", path).with_json(body)?)
}

/// `DELETE path`, with no body. For a `DELETE` that takes one, build the request:
/// `ApiRequest::new("DELETE", path).with_json(&body)?.send()`.
pub fn delete(path: &str) -> Result<ApiResponse, ApiError> {
    send(&ApiRequest::new("DELETE", path))
}

/// Sends `request` with `sender` and checks the status: what [`send`] does through the host, and
/// what pagination does with any [`Sender`].
pub(crate) fn send_with(sender: &mut impl Sender, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let response = sender.send(request).map_err(|error| ApiError::Http {
        method: request.method.clone(),
        path: request.path.clone(),
        error,
    })?;
    ApiResponse::from_http(request, response).success()
}

impl ApiRequest {
    /// A request with no query, headers or body. `path` is relative to the API base, or an
    /// absolute URL inside the allowlist.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        ApiRequest { method: method.into(), path: path.into(), query: Vec::new(), headers: Vec::new(), body: None }
    }

    /// A `GET`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }

    /// A `DELETE`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new("DELETE", path)
    }

    /// A `POST` with a JSON body and its `Content-Type`. For a body that is not a
    /// [`Value`] yet, use `ApiRequest::new("POST", path).with_json(&body)?`.
    pub fn post_json(path: impl Into<String>, body: &Value) -> Self {
        let mut request = Self::new("POST", path);
        request.body = Some(body.to_string().into_bytes());
        request.with_header("Content-Type", "application/json")
    }

    /// Sets the body to `body` as JSON, and `Content-Type: application/json` (replacing any
    /// `Content-Type` set before). Fails only when `body` cannot be written as JSON (a map with
    /// non-string keys, say), which is the plugin's bug: [`ApiError::Encode`].
    pub fn with_json(mut self, body: &impl Serialize) -> Result<Self, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Encode {
            method: self.method.clone(),
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        self.body = Some(bytes);
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        Ok(self.with_header("Content-Type", "application/json"))
    }

    /// Appends a query parameter; the host encodes it. Numbers and other `Display` values are
    /// written as text: `.with_query("per_page", 100)`.
    pub fn with_query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Sets a query parameter: removes every parameter of that name, then appends this one.
    /// Cursor pagination uses it to move to the next page.
    pub fn set_query(&mut self, name: &str, value: impl ToString) {
        self.query.retain(|(n, _)| n != name);
        self.query.push((name.to_string(), value.to_string()));
    }

    /// Appends a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends the request through the host: [`send`] as a method, to end a chain of builders.
    pub fn send(&self) -> Result<ApiResponse, ApiError> {
        send(self)
    }
}

/// A 2xx answer from the app's API, with the call it answers (for error messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    /// The request's method, `GET`.
    pub method: String,
    /// The request's path as the action gave it (`/user/repos`, or an absolute URL).
    pub path: String,
    /// The HTTP status.
    pub status: u16,
    /// The headers as received; the host lowercases their names.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// The answer `response` to `request`, whatever its status.
    pub fn from_http(request: &ApiRequest, response: HttpResponse) -> Self {
        ApiResponse {
            method: request.method.clone(),
            path: request.path.clone(),
            status: response.status,
            headers: response.headers,
            body: response.body,
        }
    }

    /// Itself when the status is 2xx, else [`ApiError::Status`] with an excerpt of the body.
    pub fn success(self) -> Result<Self, ApiError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        Err(ApiError::Status {
            method: self.method,
            path: self.path,
            status: self.status,
            body: error::excerpt(&self.body),
        })
    }

    /// The first header of that name, ignoring ASCII case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T` (a `serde_json::Value`, or a `#[derive(Deserialize)]`
    /// struct of the fields the action needs). A body that does not fit is
    /// [`ApiError::Decode`], naming the call and quoting the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| self.decode_error(e.to_string()))
    }

    /// Every link of every `Link` header (RFC 8288), in order.
    pub fn links(&self) -> Vec<Link> {
        self.headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("link"))
            .flat_map(|(_, value)| parse_link_header(value))
            .collect()
    }

    /// The target of the first link with relation type `rel` (`next`, `last`), if any.
    pub fn link(&self, rel: &str) -> Option<String> {
        self.links().into_iter().find(|link| link.has_rel(rel)).map(|link| link.target)
    }

    /// An [`ApiError::Decode`] about this response.
    pub(crate) fn decode_error(&self, message: String) -> ApiError {
        ApiError::Decode {
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status,
            message,
            body: error::excerpt(&self.body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn builders_fill_every_field() {
        let request = ApiRequest::post_json("/issues", &json!({"title": "t"}))
            .with_query("per_page", 10)
            .with_header("X-Trace", "1");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/issues");
        assert_eq!(request.query, vec![("per_page".to_string(), "10".to_string())]);
        assert_eq!(
            request.headers,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("X-Trace".to_string(), "1".to_string()),
            ]
        );
        assert_eq!(request.body.as_deref(), Some(&br#"{"title":"t"}"#[..]));
    }

    #[test]
    fn with_json_serialises_the_body_and_replaces_the_content_type() {
        #[derive(Serialize)]
        struct Label<'a> {
            name: &'a str,
        }
        let request = ApiRequest::new("PATCH", "/labels/bug")
            .with_header("content-type", "text/plain")
            .with_json(&Label { name: "defect" })
            .unwrap();
        assert_eq!(request.headers, vec![("Content-Type".to_string(), "application/json".to_string())]);
        assert_eq!(request.body.as_deref(), Some(&br#"{"name":"defect"}"#[..]));

        let mut keys = std::collections::HashMap::new();
        keys.insert(vec![1], "not a string key");
        let error = ApiRequest::new("PUT", "/x").with_json(&keys).unwrap_err();
        assert!(
            matches!(&error, ApiError::Encode { method, path, .. } if method == "PUT" && path == "/x"),
            "{error:?}"
        );
    }

    #[test]
    fn set_query_replaces_every_parameter_of_the_name() {
        let mut request = ApiRequest::get("/items").with_query("cursor", "a").with_query("limit", 5);
        request.query.push(("cursor".into(), "b".into()));
        request.set_query("cursor", "c");
        assert_eq!(request.query, vec![("limit".into(), "5".into()), ("cursor".into(), "c".into())]);
    }

    #[test]
    fn send_with_checks_the_status_and_names_the_call() {
        let request = ApiRequest::get("/repos/o/r");
        let ok = send_with(&mut |_: &ApiRequest| Ok(response(200, r#"{"id":7}"#)), &request).unwrap();
        assert_eq!((ok.method.as_str(), ok.path.as_str(), ok.status), ("GET", "/repos/o/r", 200));
        assert_eq!(ok.json::<Value>().unwrap(), json!({"id": 7}));
        assert_eq!(ok.header("Content-Type"), Some("application/json"));

        let missing = send_with(&mut |_: &ApiRequest| Ok(response(404, r#"{"message":"Not Found"}"#)), &request);
        assert_eq!(
            missing.unwrap_err(),
            ApiError::Status {
                method: "GET".into(),
                path: "/repos/o/r".into(),
                status: 404,
                body: r#"{"message":"Not Found"}"#.into()
            }
        );

        let denied = send_with(&mut |_: &ApiRequest| Err(HttpError::Denied("not allowed".into())), &request);
        assert_eq!(
            denied.unwrap_err(),
            ApiError::Http {
                method: "GET".into(),
                path: "/repos/o/r".into(),
                error: HttpError::Denied("not allowed".into())
            }
        );
    }

    #[test]
    fn json_into_a_struct_reports_the_field_that_does_not_fit() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Issue {
            number: u64,
        }
        let request = ApiRequest::get("/issues/1");
        let ok = ApiResponse::from_http(&request, response(200, r#"{"number":"one"}"#));
        let error = ok.json::<Issue>().unwrap_err();
        let ApiError::Decode { status, message, body, .. } = &error else { panic!("{error:?}") };
        assert_eq!(*status, 200);
        assert!(message.contains("invalid type: string \"one\", expected u64"), "{message}");
        assert_eq!(body, r#"{"number":"one"}"#);
    }

    #[test]
    fn links_are_read_from_every_link_header() {
        let request = ApiRequest::get("/user/repos");
        let mut answer = response(200, "[]");
        answer.headers.push(("link".into(), r#"<https://a.test/r?page=2>; rel="next""#.into()));
        answer.headers.push(("Link".into(), r#"<https://a.test/r?page=9>; rel="last""#.into()));
        let page = ApiResponse::from_http(&request, answer);
        assert_eq!(page.links().len(), 2);
        assert_eq!(page.link("next").as_deref(), Some("https://a.test/r?page=2"));
        assert_eq!(page.link("LAST").as_deref(), Some("https://a.test/r?page=9"));
        assert_eq!(page.link("prev"), None);
    }
}
