//! Following an API's pages: by `Link: <...>; rel="next"` headers (RFC 8288, GitHub and many
//! others), or by a cursor the body names (Slack's `response_metadata.next_cursor`, Notion's
//! `next_cursor`).
//!
//! [`Pages`] is an iterator of pages, one call per page, and stops at the first error. The
//! calls go through a [`Sender`]: the host's API import ([`HostApi`]) in a plugin, or a closure
//! in a native unit test of the plugin's own paging code.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ApiError, ApiResponse, send_with};
use crate::{ApiRequest, HttpError, HttpResponse};

/// How many pages [`Pages`] reads before it stops with [`ApiError::Pagination`], unless
/// [`Pages::max_pages`] says otherwise. The host's cap on calls per action usually comes first.
pub const DEFAULT_MAX_PAGES: usize = 100;

/// Sends one API request: the host's import in a plugin, anything else in a test.
pub trait Sender {
    /// Sends `request` and returns the answer, whatever its status.
    fn send(&mut self, request: &ApiRequest) -> Result<HttpResponse, HttpError>;
}

/// The host's API import, [`super::call`].
#[derive(Clone, Copy, Debug, Default)]
pub struct HostApi;

impl Sender for HostApi {
    fn send(&mut self, request: &ApiRequest) -> Result<HttpResponse, HttpError> {
        super::call(request)
    }
}

/// Any `FnMut(&ApiRequest) -> Result<HttpResponse, HttpError>`: a fake API for native tests.
impl<F: FnMut(&ApiRequest) -> Result<HttpResponse, HttpError>> Sender for F {
    fn send(&mut self, request: &ApiRequest) -> Result<HttpResponse, HttpError> {
        self(request)
    }
}

/// Reads the next cursor from a page's JSON body.
type NextCursor = Box<dyn FnMut(&Value) -> Option<String>>;

/// How the next page is found.
enum Follow {
    /// The `Link` header's `rel="next"` target.
    Link,
    /// A cursor from the body, sent back as the query parameter `param`.
    Cursor { param: String, next: NextCursor },
}

/// The pages of a paginated API call, read one call at a time as the iterator advances.
///
/// Each item is one 2xx page, or the error that ended the pagination (a failed call, a non-2xx
/// page, an unreadable cursor, a page seen twice, or more pages than [`Pages::max_pages`]): the
/// iterator ends after an error, so `collect::<Result<Vec<_>, _>>()` gets every page or the
/// error. [`Pages::items`] gathers the items of pages whose body is a JSON array.
pub struct Pages<S: Sender = HostApi> {
    sender: S,
    /// The first page's path, for errors.
    first_path: String,
    next: Option<ApiRequest>,
    follow: Follow,
    fetched: usize,
    max_pages: usize,
    /// The pages asked for so far (path and query), so a next page that points back ends the
    /// loop instead of spending the action's calls.
    seen: HashSet<String>,
}

/// Follows `Link: <url>; rel="next"` headers from `request` until a page has none, through the
/// host. Each next request is the `next` target with the first request's method and headers, no
/// body, and no other query (the target carries the whole query, `per_page` included). An absolute target
/// is sent as it is, which the host allows inside the allowlist; a target that is only a query
/// (`?page=2`) replaces the first request's query. GitHub's pagination works this way
/// (<https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api>).
///
/// ```no_run
/// # fn run() -> Result<(), keyway_sdk::api::ApiError> {
/// use keyway_sdk::api::{self, ApiRequest};
/// # #[derive(serde::Deserialize)] struct Repository {}
/// let repositories: Vec<Repository> =
///     api::paginate_link(&ApiRequest::get("/user/repos").with_query("per_page", 100)).items()?;
/// # Ok(()) }
/// ```
pub fn paginate_link(request: &ApiRequest) -> Pages {
    Pages::link_with(HostApi, request)
}

/// Follows a cursor from `request`, through the host: after each page, `next_cursor` reads the
/// cursor from the page's JSON body, and the next request is the first one with the query
/// parameter `cursor_param` set to it. No cursor, or an empty one, was the last page.
///
/// ```no_run
/// # fn run() -> Result<(), keyway_sdk::api::ApiError> {
/// use keyway_sdk::api::{self, ApiRequest};
/// use keyway_sdk::serde_json::Value;
/// // Slack: https://api.slack.com/apis/pagination
/// let channels: Vec<Value> = api::paginate_cursor(
///     &ApiRequest::get("/api/conversations.list").with_query("limit", 200),
///     "cursor",
///     |body| body["response_metadata"]["next_cursor"].as_str().map(str::to_string),
/// )
/// .items_at("/channels")?;
/// # Ok(()) }
/// ```
pub fn paginate_cursor(
    request: &ApiRequest,
    cursor_param: &str,
    next_cursor: impl FnMut(&Value) -> Option<String> + 'static,
) -> Pages {
    Pages::cursor_with(HostApi, request, cursor_param, next_cursor)
}

impl<S: Sender> Pages<S> {
    /// [`paginate_link`] through `sender`.
    pub fn link_with(sender: S, request: &ApiRequest) -> Self {
        Self::new(sender, request, Follow::Link)
    }

    /// [`paginate_cursor`] through `sender`.
    pub fn cursor_with(
        sender: S,
        request: &ApiRequest,
        cursor_param: &str,
        next_cursor: impl FnMut(&Value) -> Option<String> + 'static,
    ) -> Self {
        Self::new(sender, request, Follow::Cursor { param: cursor_param.to_string(), next: Box::new(next_cursor) })
    }

    fn new(sender: S, request: &ApiRequest, follow: Follow) -> Self {
        Pages {
            sender,
            first_path: request.path.clone(),
            next: Some(request.clone()),
            follow,
            fetched: 0,
            max_pages: DEFAULT_MAX_PAGES,
            seen: HashSet::new(),
        }
    }

    /// Reads at most `max_pages` pages; a further page is [`ApiError::Pagination`] rather than
    /// a silently shorter list. At least one page is always read.
    pub fn max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Every page's items, in order, for pages whose body is a JSON array (GitHub's lists).
    pub fn items<T: DeserializeOwned>(self) -> Result<Vec<T>, ApiError> {
        self.items_at("")
    }

    /// Every page's items, in order, for pages whose items are the JSON array at `pointer`
    /// (RFC 6901: `/channels`, `/data/items`; `""` is the whole body).
    pub fn items_at<T: DeserializeOwned>(self, pointer: &str) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        for page in self {
            let page = page?;
            let body: Value = page.json()?;
            let Some(Value::Array(list)) = body.pointer(pointer) else {
                let at = if pointer.is_empty() { "the body".to_string() } else { format!("`{pointer}`") };
                return Err(page.decode_error(format!("expected a JSON array of items at {at}")));
            };
            for item in list {
                items.push(T::deserialize(item).map_err(|e| page.decode_error(format!("an item: {e}")))?);
            }
        }
        Ok(items)
    }

    /// The request for the page after `response`, if there is one.
    fn following(&mut self, request: &ApiRequest, response: &ApiResponse) -> Result<Option<ApiRequest>, ApiError> {
        match &mut self.follow {
            Follow::Link => Ok(response.link("next").map(|target| {
                let path = match target.strip_prefix('?') {
                    Some(query) => format!("{}?{query}", request.path.split('?').next().unwrap_or_default()),
                    None => target,
                };
                ApiRequest { path, query: Vec::new(), body: None, ..request.clone() }
            })),
            Follow::Cursor { param, next } => {
                let body: Value = response.json()?;
                Ok(next(&body).filter(|cursor| !cursor.is_empty()).map(|cursor| {
                    let mut following = request.clone();
                    following.set_query(param, cursor);
                    following
                }))
            }
        }
    }
}

/// What identifies a page request: its path and query.
fn page_key(request: &ApiRequest) -> String {
    let query: Vec<String> = request.query.iter().map(|(name, value)| format!("{name}={value}")).collect();
    format!("{}?{}", request.path, query.join("&"))
}

impl<S: Sender> Iterator for Pages<S> {
    type Item = Result<ApiResponse, ApiError>;

    fn next(&mut self) -> Option<Self::Item> {
        let request = self.next.take()?;
        let error = |message: String| ApiError::Pagination { path: self.first_path.clone(), message };
        if self.fetched == self.max_pages {
            return Some(Err(error(format!(
                "there are more than {} pages: ask for larger pages or fewer items, or raise `max_pages`",
                self.max_pages
            ))));
        }
        if !self.seen.insert(page_key(&request)) {
            return Some(Err(error(format!(
                "the next page, `{}`, was already read: the app's pagination loops",
                page_key(&request)
            ))));
        }
        self.fetched += 1;
        let page = send_with(&mut self.sender, &request).and_then(|response| {
            self.next = self.following(&request, &response)?;
            Ok(response)
        });
        Some(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A fake API: answers each request with the page its path and query name, from `pages`
    /// (`(key, status, link, body)`), and records what was asked.
    struct Fake {
        pages: Vec<(&'static str, u16, Option<&'static str>, Value)>,
        asked: Vec<String>,
    }

    impl Sender for &mut Fake {
        fn send(&mut self, request: &ApiRequest) -> Result<HttpResponse, HttpError> {
            let key = page_key(request);
            self.asked.push(key.clone());
            let Some((_, status, link, body)) = self.pages.iter().find(|(k, ..)| *k == key) else {
                return Err(HttpError::Transport(format!("the fake has no page `{key}`")));
            };
            let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
            headers.extend(link.map(|l| ("link".to_string(), l.to_string())));
            Ok(HttpResponse { status: *status, headers, body: body.to_string().into_bytes() })
        }
    }

    fn fake(pages: Vec<(&'static str, u16, Option<&'static str>, Value)>) -> Fake {
        Fake { pages, asked: Vec::new() }
    }

    /// Three pages of `Link` pagination, absolute URLs as GitHub sends them.
    fn three_link_pages() -> Fake {
        fake(vec![
            (
                "/user/repos?per_page=2",
                200,
                Some(
                    r#"<https://h.test/api/v3/user/repos?per_page=2&page=2>; rel="next", <https://h.test/api/v3/user/repos?per_page=2&page=3>; rel="last""#,
                ),
                json!([{"n": 1}, {"n": 2}]),
            ),
            (
                "https://h.test/api/v3/user/repos?per_page=2&page=2?",
                200,
                Some(
                    r#"<https://h.test/api/v3/user/repos?per_page=2&page=1>; rel="prev", <https://h.test/api/v3/user/repos?per_page=2&page=3>; rel="next""#,
                ),
                json!([{"n": 3}, {"n": 4}]),
            ),
            (
                "https://h.test/api/v3/user/repos?per_page=2&page=3?",
                200,
                Some(r#"<https://h.test/api/v3/user/repos?per_page=2&page=2>; rel="prev""#),
                json!([{"n": 5}]),
            ),
        ])
    }

    fn first() -> ApiRequest {
        ApiRequest::get("/user/repos").with_query("per_page", 2).with_header("Accept", "application/vnd.github+json")
    }

    #[test]
    fn link_pagination_follows_next_until_there_is_none() {
        let mut api = three_link_pages();
        let items: Vec<Value> = Pages::link_with(&mut api, &first()).items().unwrap();
        assert_eq!(items, vec![json!({"n": 1}), json!({"n": 2}), json!({"n": 3}), json!({"n": 4}), json!({"n": 5})]);
        assert_eq!(api.asked.len(), 3, "{:?}", api.asked);
    }

    #[test]
    fn next_requests_keep_method_and_headers_and_take_the_whole_query_from_the_link() {
        let mut seen = Vec::new();
        let mut sender = |request: &ApiRequest| {
            seen.push(request.clone());
            let link = if seen.len() == 1 { r#"<https://h.test/r?page=2&per_page=2>; rel="next""# } else { "" };
            Ok(HttpResponse { status: 200, headers: vec![("link".into(), link.into())], body: b"[]".to_vec() })
        };
        let pages: Vec<_> = Pages::link_with(&mut sender, &first()).collect::<Result<_, _>>().unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(seen[1].path, "https://h.test/r?page=2&per_page=2");
        assert_eq!((seen[1].method.as_str(), seen[1].query.len(), &seen[1].headers), ("GET", 0, &first().headers));
    }

    #[test]
    fn a_query_only_link_replaces_the_query_of_the_path() {
        let mut api = fake(vec![
            ("/items?", 200, Some(r#"<?page=2>; rel="next""#), json!([1])),
            ("/items?page=2?", 200, None, json!([2])),
        ]);
        let items: Vec<u32> = Pages::link_with(&mut api, &ApiRequest::get("/items")).items().unwrap();
        assert_eq!(items, [1, 2]);
    }

    #[test]
    fn an_error_page_ends_the_pagination_with_the_error() {
        let mut api = three_link_pages();
        api.pages[1].1 = 404;
        let mut pages = Pages::link_with(&mut api, &first());
        assert!(pages.next().unwrap().is_ok());
        let error = pages.next().unwrap().unwrap_err();
        assert_eq!(error.status(), Some(404));
        assert!(pages.next().is_none(), "nothing after an error");
        assert_eq!(api.asked.len(), 2);
    }

    #[test]
    fn more_pages_than_the_guard_allows_is_an_error_not_a_shorter_list() {
        let mut api = three_link_pages();
        let error = Pages::link_with(&mut api, &first()).max_pages(2).items::<Value>().unwrap_err();
        let ApiError::Pagination { path, message } = &error else { panic!("{error:?}") };
        assert_eq!(path, "/user/repos");
        assert!(message.starts_with("there are more than 2 pages"), "{message}");
        assert_eq!(api.asked.len(), 2, "the third page is not fetched");

        let mut api = three_link_pages();
        assert_eq!(Pages::link_with(&mut api, &first()).max_pages(3).items::<Value>().unwrap().len(), 5);
    }

    #[test]
    fn a_next_link_back_to_a_page_already_read_stops_the_loop() {
        let mut api = fake(vec![
            ("/a?", 200, Some(r#"<https://h.test/a?page=2>; rel="next""#), json!([1])),
            ("https://h.test/a?page=2?", 200, Some(r#"<https://h.test/a?page=2>; rel="next""#), json!([2])),
        ]);
        let error = Pages::link_with(&mut api, &ApiRequest::get("/a")).items::<u32>().unwrap_err();
        assert!(matches!(&error, ApiError::Pagination { message, .. } if message.contains("loops")), "{error}");
        assert_eq!(api.asked.len(), 2);
    }

    #[test]
    fn items_must_be_an_array() {
        let mut api = fake(vec![("/a?", 200, None, json!({"items": []}))]);
        let error = Pages::link_with(&mut api, &ApiRequest::get("/a")).items::<Value>().unwrap_err();
        assert!(error.to_string().contains("expected a JSON array of items at the body"), "{error}");
        let mut api = fake(vec![("/a?", 200, None, json!(["x"]))]);
        let error = Pages::link_with(&mut api, &ApiRequest::get("/a")).items::<u32>().unwrap_err();
        assert!(error.to_string().contains("an item: invalid type: string \"x\""), "{error}");
    }

    fn slack_cursor(body: &Value) -> Option<String> {
        body["response_metadata"]["next_cursor"].as_str().map(str::to_string)
    }

    #[test]
    fn cursor_pagination_sends_each_cursor_back_until_it_is_empty() {
        let mut api = fake(vec![
            (
                "/conversations.list?limit=2",
                200,
                None,
                json!({"channels": [1, 2], "response_metadata": {"next_cursor": "dXNlcjpVMDYxTkZUVDI="}}),
            ),
            (
                "/conversations.list?limit=2&cursor=dXNlcjpVMDYxTkZUVDI=",
                200,
                None,
                json!({"channels": [3], "response_metadata": {"next_cursor": "c2Vjb25k"}}),
            ),
            (
                "/conversations.list?limit=2&cursor=c2Vjb25k",
                200,
                None,
                json!({"channels": [], "response_metadata": {"next_cursor": ""}}),
            ),
        ]);
        let request = ApiRequest::get("/conversations.list").with_query("limit", 2);
        let channels: Vec<u32> =
            Pages::cursor_with(&mut api, &request, "cursor", slack_cursor).items_at("/channels").unwrap();
        assert_eq!(channels, [1, 2, 3]);
        assert_eq!(api.asked.len(), 3);
    }

    #[test]
    fn a_missing_cursor_ends_and_a_repeated_cursor_is_a_loop() {
        let mut api = fake(vec![("/c?", 200, None, json!({"channels": [1]}))]);
        let pages = Pages::cursor_with(&mut api, &ApiRequest::get("/c"), "cursor", slack_cursor);
        assert_eq!(pages.count(), 1);

        let mut api = fake(vec![
            ("/c?", 200, None, json!({"channels": [1], "response_metadata": {"next_cursor": "x"}})),
            ("/c?cursor=x", 200, None, json!({"channels": [2], "response_metadata": {"next_cursor": "x"}})),
        ]);
        let error =
            Pages::cursor_with(&mut api, &ApiRequest::get("/c"), "cursor", slack_cursor).items_at::<u32>("/channels");
        assert!(error.unwrap_err().to_string().contains("already read"));
    }

    #[test]
    fn a_cursor_page_that_is_not_json_is_a_decode_error() {
        let mut sender = |_: &ApiRequest| Ok(HttpResponse { status: 200, headers: vec![], body: b"<html>".to_vec() });
        let mut pages = Pages::cursor_with(&mut sender, &ApiRequest::get("/c"), "cursor", slack_cursor);
        let error = pages.next().unwrap().unwrap_err();
        assert!(matches!(error, ApiError::Decode { status: 200, .. }), "{error:?}");
        assert!(pages.next().is_none());
    }

    #[test]
    fn a_call_the_host_refuses_ends_the_pagination() {
        let mut calls = 0;
        let mut sender = |_: &ApiRequest| {
            calls += 1;
            Err(HttpError::Denied("https://elsewhere.test/ is outside the allowlist".into()))
        };
        let error = Pages::link_with(&mut sender, &ApiRequest::get("/a")).items::<Value>().unwrap_err();
        assert!(error.to_string().contains("outside the allowlist"), "{error}");
        assert_eq!(calls, 1);
    }
}
