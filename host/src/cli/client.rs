//! The REST client the companion commands share: one base URL, one API key, JSON both ways,
//! and the API's error body turned into one readable line.

use std::time::Duration;

use keyway_policy::text::clip;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::server::error::ErrorBody;
use crate::service::model::List;

/// Where the server is and which key to call it with. The flags are global: they may come
/// before or after a sub-subcommand (`keyway keys --url … list`, `keyway keys list --url …`).
#[derive(clap::Args, Debug, Clone)]
pub struct ClientArgs {
    /// Base URL of a running `keyway serve`.
    #[arg(long, env = "KEYWAY_URL", default_value = "http://127.0.0.1:8400", global = true)]
    pub url: String,
    /// API key to call it with: the admin key `keyway serve` printed at first start, or one
    /// from `keyway keys create`.
    #[arg(long, env = "KEYWAY_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<SecretArg>,
}

crate::secret::secret_type!(
    /// A secret taken from the command line or the environment: an API key, a password, a
    /// token.
    SecretArg
);

/// Why a call to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server refused, with its error body: `{"error": {"code", "message", "field"?}}`.
    #[error("{}", render_refusal(*status, code, message, field.as_deref()))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The machine-readable code, e.g. `invalid_field`.
        code: String,
        /// What to fix, in the server's words.
        message: String,
        /// The offending field, if one.
        field: Option<String>,
    },
    /// No answer at all.
    #[error("cannot reach keyway at {url}: {reason}. Is `keyway serve` running there? Set KEYWAY_URL or pass --url")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// The transport's explanation.
        reason: String,
    },
    /// An answer that is not the API's shape (a proxy's error page, another program).
    #[error("unexpected answer from {endpoint} (HTTP {status}): {detail}")]
    Unexpected {
        /// `GET /api/v1/...`.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong, with the start of the body.
        detail: String,
    },
}

fn render_refusal(status: u16, code: &str, message: &str, field: Option<&str>) -> String {
    let mut text = match field {
        Some(field) => format!("{code} ({field}): {message}"),
        None => format!("{code}: {message}"),
    };
    if status == 401 {
        text.push_str(" (check KEYWAY_API_KEY or --api-key)");
    }
    text
}

/// A REST client for one server and one key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: Url,
    /// `Bearer <key>`, marked sensitive so `Debug` hides it.
    authorization: HeaderValue,
    http: reqwest::Client,
}

/// A request body.
enum Payload<'a> {
    Json(&'a serde_json::Value),
    Wasm(Vec<u8>),
}

/// How long one API call may take; `request` waits for the app's API, which may be slow.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// How much of an unexpected answer's body an error quotes, in bytes.
const MAX_DETAIL: usize = 300;

impl ApiClient {
    /// A client for the server and key in `args`; fails when there is no key or the URL is
    /// not an http(s) URL.
    pub fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        let Some(api_key) = args.api_key.clone().filter(|k| !k.secret().trim().is_empty()) else {
            anyhow::bail!(
                "no API key: set KEYWAY_API_KEY or pass --api-key (the first admin key is printed when \
                 `keyway serve` first starts; `keyway keys create` makes more)"
            );
        };
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", api_key.secret().trim()))
            .map_err(|_| anyhow::anyhow!("the API key has characters that cannot go in a header; copy it again"))?;
        authorization.set_sensitive(true);
        let base = Url::parse(&args.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| anyhow::anyhow!("`{}` is not a server URL; write e.g. `http://127.0.0.1:8400`", args.url))?;
        let http = reqwest::Client::builder()
            // The key must go to this server only, never to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("keyway-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { base, authorization, http })
    }

    /// The server's base URL, as given.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET /api/v1/<segments>`, each segment percent-encoded.
    pub async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ApiError> {
        self.call(Method::GET, segments, None).await
    }

    /// `POST /api/v1/<segments>` with a JSON body.
    pub async fn post<T: DeserializeOwned>(&self, segments: &[&str], body: &serde_json::Value) -> Result<T, ApiError> {
        self.call(Method::POST, segments, Some(body)).await
    }

    /// `PUT /api/v1/<segments>` with a JSON body.
    pub async fn put<T: DeserializeOwned>(&self, segments: &[&str], body: &serde_json::Value) -> Result<T, ApiError> {
        self.call(Method::PUT, segments, Some(body)).await
    }

    /// `POST /api/v1/<segments>` with raw bytes (a Wasm component).
    pub async fn post_wasm<T: DeserializeOwned>(&self, segments: &[&str], bytes: Vec<u8>) -> Result<T, ApiError> {
        let endpoint = format!("POST /api/v1/{}", segments.join("/"));
        let (status, answer) = self.send(Method::POST, segments, Some(Payload::Wasm(bytes))).await?;
        serde_json::from_slice(&answer).map_err(|e| ApiError::Unexpected {
            endpoint,
            status,
            detail: format!("the answer does not parse ({e}): {}", body_start(&answer)),
        })
    }

    /// `DELETE /api/v1/<segments>`; any body in the answer is ignored.
    pub async fn delete(&self, segments: &[&str]) -> Result<(), ApiError> {
        self.send(Method::DELETE, segments, None).await.map(|_| ())
    }

    /// The endpoint URL for `segments` under `/api/v1`, keeping any path prefix of the base
    /// URL (a server behind a proxy at `https://example.com/keyway`).
    pub fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let endpoint = format!("{method} /api/v1/{}", segments.join("/"));
        let (status, bytes) = self.send(method, segments, body.map(Payload::Json)).await?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Unexpected {
            endpoint,
            status,
            detail: format!("the answer does not parse ({e}): {}", body_start(&bytes)),
        })
    }

    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Payload<'_>>,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let url = self.endpoint(segments);
        let endpoint = format!("{method} {}", url.path());
        let mut request = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        match body {
            Some(Payload::Json(json)) => {
                request = request.header(CONTENT_TYPE, "application/json").body(json.to_string())
            }
            Some(Payload::Wasm(bytes)) => request = request.header(CONTENT_TYPE, "application/wasm").body(bytes),
            None => {}
        }
        let unreachable =
            |e: reqwest::Error| ApiError::Unreachable { url: self.base.to_string(), reason: error_chain(&e) };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?.to_vec();
        if status.is_success() {
            return Ok((status.as_u16(), bytes));
        }
        Err(refusal(&endpoint, status, &bytes))
    }
}

fn refusal(endpoint: &str, status: StatusCode, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => ApiError::Refused {
            status: status.as_u16(),
            code: error.code.into_owned(),
            message: error.message,
            field: error.field.filter(|f| !f.is_empty()),
        },
        Err(_) => ApiError::Unexpected {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            detail: if body.is_empty() { "no body".to_string() } else { body_start(body) },
        },
    }
}

/// The error and its causes on one line: reqwest's own message alone rarely says what failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The start of an answer's body, for an error message.
fn body_start(body: &[u8]) -> String {
    clip(String::from_utf8_lossy(body).trim(), MAX_DETAIL).into_owned()
}

/// The kinds of things the CLI names by id or unique name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `int_…`
    Integration,
    /// `con_…`
    Connection,
    /// `key_…`
    Key,
}

impl Kind {
    /// The collection's path segment under `/api/v1`.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Integration => "integrations",
            Kind::Connection => "connections",
            Kind::Key => "keys",
        }
    }

    /// The prefix of this kind's ids.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::Integration => "int_",
            Kind::Connection => "con_",
            Kind::Key => "key_",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Integration => "integration",
            Kind::Connection => "connection",
            Kind::Key => "key",
        }
    }

    fn list_command(self) -> &'static str {
        match self {
            Kind::Integration => "keyway integration list",
            Kind::Connection => "GET /api/v1/connections",
            Kind::Key => "keyway keys list",
        }
    }

    /// Whether `arg` is written like an id of this kind, so no name lookup is needed.
    pub fn looks_like_id(self, arg: &str) -> bool {
        arg.strip_prefix(self.id_prefix()).is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
    }
}

/// Something listed with an id and maybe a name.
pub trait Listed {
    /// The opaque id.
    fn id(&self) -> &str;
    /// The name, if it has one.
    fn name(&self) -> Option<&str>;
}

/// The one item whose id or name is `arg`; an error that lists the candidates when the name
/// is ambiguous, or says where to look when nothing matches.
pub fn pick_by_id_or_name<'a, T: Listed>(kind: Kind, arg: &str, items: &'a [T]) -> anyhow::Result<&'a T> {
    if let Some(item) = items.iter().find(|item| item.id() == arg) {
        return Ok(item);
    }
    let named: Vec<&T> = items.iter().filter(|item| item.name() == Some(arg)).collect();
    match named.as_slice() {
        [one] => Ok(one),
        [] => anyhow::bail!(
            "no {} has the id or name `{arg}` (or you may not use it); `{}` shows them",
            kind.noun(),
            kind.list_command()
        ),
        many => {
            let ids: Vec<&str> = many.iter().map(|item| item.id()).collect();
            anyhow::bail!("{} {}s are named `{arg}`: {}; pass the id instead", many.len(), kind.noun(), ids.join(", "))
        }
    }
}

impl ApiClient {
    /// The id of the `kind` item named by `arg`: `arg` itself when it looks like an id,
    /// otherwise the id of the one listed item with that name (or id).
    pub async fn resolve_id<T>(&self, kind: Kind, arg: &str) -> anyhow::Result<String>
    where
        T: Listed + DeserializeOwned,
    {
        if kind.looks_like_id(arg) {
            return Ok(arg.to_string());
        }
        let list: List<T> = self.get(&[kind.collection()]).await?;
        Ok(pick_by_id_or_name(kind, arg, &list.items)?.id().to_string())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;

    /// Serves `router` on a loopback port and returns its base URL.
    pub(crate) async fn stub_server(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}")
    }

    pub(crate) fn client_for(url: &str) -> ApiClient {
        ApiClient::new(&ClientArgs { url: url.to_string(), api_key: Some("kw_test_key".into()) }).unwrap()
    }

    fn error_json(code: &str, message: &str, field: Option<&str>) -> serde_json::Value {
        let mut error = serde_json::json!({"code": code, "message": message});
        if let Some(field) = field {
            error["field"] = field.into();
        }
        serde_json::json!({ "error": error })
    }

    struct Named(&'static str, Option<&'static str>);

    impl Listed for Named {
        fn id(&self) -> &str {
            self.0
        }
        fn name(&self) -> Option<&str> {
            self.1
        }
    }

    #[test]
    fn refusals_read_as_code_field_and_fix() {
        let body = error_json(
            "invalid_field",
            "use `/login/oauth/access_token`, not `https://github.com/login/oauth/access_token`",
            Some("token_path"),
        );
        let error = refusal("POST /api/v1/integrations", StatusCode::UNPROCESSABLE_ENTITY, body.to_string().as_bytes());
        assert_eq!(
            error.to_string(),
            "invalid_field (token_path): use `/login/oauth/access_token`, not `https://github.com/login/oauth/access_token`"
        );
        let body = error_json("conflict", "an integration named `github` exists", None);
        let error = refusal("POST /api/v1/integrations", StatusCode::CONFLICT, body.to_string().as_bytes());
        assert_eq!(error.to_string(), "conflict: an integration named `github` exists");

        let error = refusal("GET /api/v1/keys", StatusCode::BAD_GATEWAY, b"<html>Bad Gateway</html>");
        assert_eq!(error.to_string(), "unexpected answer from GET /api/v1/keys (HTTP 502): <html>Bad Gateway</html>");
    }

    #[test]
    fn a_missing_key_or_url_says_how_to_supply_it() {
        let message =
            ApiClient::new(&ClientArgs { url: "http://127.0.0.1:8400".into(), api_key: None }).unwrap_err().to_string();
        assert!(message.contains("set KEYWAY_API_KEY or pass --api-key"), "{message}");
        let message = ApiClient::new(&ClientArgs { url: "127.0.0.1:8400".into(), api_key: Some("k".into()) })
            .unwrap_err()
            .to_string();
        assert!(message.contains("write e.g. `http://127.0.0.1:8400`"), "{message}");
    }

    #[test]
    fn debug_never_shows_the_api_key() {
        let client = client_for("http://127.0.0.1:8400");
        let printed = format!("{client:?} {:?}", ClientArgs { url: "u".into(), api_key: Some("kw_test_key".into()) });
        assert!(!printed.contains("kw_test_key"), "{printed}");
        let password: SecretArg = "hunter2".parse().unwrap();
        assert_eq!(format!("{password:?}"), "SecretArg([redacted])");
        assert_eq!(password.secret(), "hunter2");
    }

    #[test]
    fn endpoints_keep_a_path_prefix_and_encode_segments() {
        let client = client_for("https://example.com/keyway/");
        assert_eq!(client.endpoint(&["integrations"]).as_str(), "https://example.com/keyway/api/v1/integrations");
        let client = client_for("http://127.0.0.1:8400");
        assert_eq!(client.endpoint(&["keys", "a/b c"]).as_str(), "http://127.0.0.1:8400/api/v1/keys/a%2Fb%20c");
    }

    #[test]
    fn ids_are_told_from_names_by_prefix() {
        assert!(Kind::Integration.looks_like_id("int_01HZX3"));
        assert!(!Kind::Integration.looks_like_id("int_"));
        assert!(!Kind::Integration.looks_like_id("github"));
        assert!(!Kind::Integration.looks_like_id("con_01HZX3"), "another kind's id is not this kind's");
        assert!(!Kind::Connection.looks_like_id("con_my connection"));
        assert!(Kind::Key.looks_like_id("key_abc-123"));
    }

    #[test]
    fn names_resolve_to_one_item_or_explain_why_not() {
        let items = [Named("int_1", Some("github")), Named("int_2", Some("notion")), Named("int_3", Some("notion"))];
        assert_eq!(pick_by_id_or_name(Kind::Integration, "github", &items).unwrap().id(), "int_1");
        assert_eq!(pick_by_id_or_name(Kind::Integration, "int_3", &items).unwrap().id(), "int_3");
        let message = pick_by_id_or_name(Kind::Integration, "notion", &items).err().unwrap().to_string();
        assert_eq!(message, "2 integrations are named `notion`: int_2, int_3; pass the id instead");
        let message = pick_by_id_or_name(Kind::Integration, "slack", &items).err().unwrap().to_string();
        assert!(message.contains("no integration has the id or name `slack`"), "{message}");
        assert!(message.contains("keyway integration list"), "{message}");
    }

    #[tokio::test]
    async fn the_server_sees_the_bearer_key_and_its_refusals_are_rendered() {
        async fn keys(headers: HeaderMap) -> axum::response::Response {
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer kw_test_key") {
                let body = error_json("unauthorized", "send `Authorization: Bearer <api key>`", None);
                return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
            }
            axum::Json(serde_json::json!({"items": []})).into_response()
        }
        async fn integrations() -> axum::response::Response {
            let body = error_json("forbidden", "managing integrations needs an admin key", None);
            (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
        }
        let url = stub_server(
            Router::new().route("/api/v1/keys", get(keys)).route("/api/v1/integrations", get(integrations)),
        )
        .await;

        let list: List<serde_json::Value> = client_for(&url).get(&["keys"]).await.unwrap();
        assert!(list.items.is_empty());

        let wrong_key = ApiClient::new(&ClientArgs { url: url.clone(), api_key: Some("kw_other".into()) }).unwrap();
        let error = wrong_key.get::<serde_json::Value>(&["keys"]).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "unauthorized: send `Authorization: Bearer <api key>` (check KEYWAY_API_KEY or --api-key)"
        );
        let error = client_for(&url).get::<serde_json::Value>(&["integrations"]).await.unwrap_err();
        assert!(matches!(error, ApiError::Refused { status: 403, .. }), "{error:?}");
        assert_eq!(error.to_string(), "forbidden: managing integrations needs an admin key");

        let error = client_for(&url).get::<serde_json::Value>(&["nowhere"]).await.unwrap_err();
        assert!(error.to_string().starts_with("unexpected answer from GET /api/v1/nowhere (HTTP 404)"), "{error}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_with_the_fix() {
        // Bind, note the port, and close it again: nothing listens there now.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let error = client_for(&url).get::<serde_json::Value>(&["keys"]).await.unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with(&format!("cannot reach keyway at {url}/")), "{message}");
        assert!(message.contains("Set KEYWAY_URL or pass --url"), "{message}");
    }
}
