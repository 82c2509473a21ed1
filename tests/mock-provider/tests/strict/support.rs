//! A real HTTP client against a running mock, plus the standard requests a well-behaved host sends.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyway_mock_provider::{MockConfig, MockProvider};
use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

/// The help article's redirect URI (without its `pusbot` typo).
pub const REDIRECT_URI: &str = "https://security.pushbot.com/oauth";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const STATE: &str = "st4te-from-the-host";

pub struct Harness {
    pub mock: MockProvider,
    http: reqwest::Client,
}

/// An HTTP answer, read in full.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
    }

    /// The RFC 6749 §5.2 `error` code.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_else(|| panic!("no error in {}", self.text)).to_owned()
    }

    pub fn description(&self) -> String {
        self.json()["error_description"].as_str().unwrap_or_default().to_owned()
    }

    pub fn location(&self) -> Url {
        let location = self.header("location").unwrap_or_else(|| panic!("no Location; status {}", self.status));
        Url::parse(location).expect("absolute Location")
    }

    /// A query parameter of the Location header.
    pub fn location_param(&self, name: &str) -> Option<String> {
        self.location().query_pairs().find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
    }

    pub fn field(&self, name: &str) -> String {
        self.json()[name].as_str().unwrap_or_else(|| panic!("no `{name}` in {}", self.text)).to_owned()
    }
}

/// Basic credentials encoded as RFC 6749 §2.3.1 demands.
pub fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(id), encode(secret))))
}

/// Basic credentials as a careless client sends them: base64 of the raw `id:secret`.
pub fn raw_basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// A request under construction: headers and form parameters can be replaced or removed.
pub struct Call {
    method: reqwest::Method,
    url: String,
    headers: Vec<(String, String)>,
    form: Vec<(String, String)>,
    raw_body: Option<String>,
}

impl Call {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a header even if one with this name is already there.
    pub fn extra_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.form.retain(|(n, _)| n != name);
        self.form.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a parameter even if one with this name is already there.
    pub fn extra_param(mut self, name: &str, value: &str) -> Self {
        self.form.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without_param(mut self, name: &str) -> Self {
        self.form.retain(|(n, _)| n != name);
        self
    }

    /// Sends this body instead of the form.
    pub fn raw_body(mut self, body: &str) -> Self {
        self.raw_body = Some(body.to_owned());
        self
    }

    pub async fn send(self, h: &Harness) -> Reply {
        let mut request = h.http.request(self.method, &self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let body = self
            .raw_body
            .unwrap_or_else(|| form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.form).finish());
        let response = request.body(body).send().await.expect("the mock answers");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("a readable body"),
        }
    }
}

impl Harness {
    pub async fn start(config: MockConfig) -> Harness {
        let mock = MockProvider::start(config).await.expect("the mock starts");
        Harness { mock, http: client() }
    }

    pub async fn default() -> Harness {
        Self::start(MockConfig::default()).await
    }

    /// A request to any path of the mock, with no headers and an empty body: for app modes' own endpoints (the
    /// app modes' tests include this file).
    #[allow(dead_code)]
    pub fn call(&self, method: reqwest::Method, path: &str) -> Call {
        Call {
            method,
            url: format!("{}{path}", self.mock.base_url()),
            headers: Vec::new(),
            form: Vec::new(),
            raw_body: None,
        }
    }

    /// The standard authorization request of a PKCE-using host, as query parameters.
    pub fn authorize_params(&self) -> Vec<(String, String)> {
        let config = self.mock.config();
        [
            ("response_type", "code"),
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("state", STATE),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// GET /oauth/authorize with the standard parameters changed by `set` (value `None` removes one).
    pub async fn authorize(&self, set: &[(&str, Option<&str>)]) -> Reply {
        let mut params = self.authorize_params();
        for (name, value) in set {
            params.retain(|(n, _)| n != name);
            if let Some(value) = value {
                params.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        self.authorize_raw(&form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish()).await
    }

    /// GET /oauth/authorize with exactly this query string.
    pub async fn authorize_raw(&self, query: &str) -> Reply {
        let call = Call {
            method: reqwest::Method::GET,
            url: format!("{}?{query}", self.mock.authorization_url()),
            headers: Vec::new(),
            form: Vec::new(),
            raw_body: Some(String::new()),
        };
        call.send(self).await
    }

    /// A code from the standard authorization request, changed by `set`.
    pub async fn code_with(&self, set: &[(&str, Option<&str>)]) -> String {
        let reply = self.authorize(set).await;
        assert_eq!(reply.status, 302, "authorize refused: {}", reply.text);
        reply.location_param("code").unwrap_or_else(|| panic!("no code in {}", reply.location()))
    }

    pub async fn code(&self) -> String {
        self.code_with(&[]).await
    }

    /// A POST to `path` with `Accept: application/json`, a form content type and credentials as the config's
    /// client authentication rule demands.
    pub fn post(&self, path: &str) -> Call {
        let config = self.mock.config();
        let mut call = Call {
            method: reqwest::Method::POST,
            url: format!("{}{path}", self.mock.base_url()),
            headers: vec![
                ("accept".to_owned(), "application/json".to_owned()),
                ("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
            ],
            form: Vec::new(),
            raw_body: None,
        };
        use keyway_mock_provider::ClientAuthRule::*;
        if matches!(config.client_auth, Basic | BasicAndPost) {
            call = call.header("authorization", &basic(&config.client_id, &config.client_secret));
        }
        if matches!(config.client_auth, Post | BasicAndPost) {
            call = call.param("client_id", &config.client_id).param("client_secret", &config.client_secret);
        }
        call
    }

    /// The standard code exchange for `code`.
    pub fn exchange(&self, code: &str) -> Call {
        self.post(MockProvider::TOKEN_PATH)
            .param("grant_type", "authorization_code")
            .param("code", code)
            .param("redirect_uri", REDIRECT_URI)
            .param("code_verifier", VERIFIER)
    }

    /// The standard refresh of `refresh_token`.
    pub fn refresh(&self, refresh_token: &str) -> Call {
        self.post(MockProvider::TOKEN_PATH).param("grant_type", "refresh_token").param("refresh_token", refresh_token)
    }

    /// The standard revocation of `token`.
    pub fn revoke(&self, token: &str) -> Call {
        self.post(MockProvider::REVOKE_PATH).param("token", token)
    }

    /// A successful code exchange: the token response.
    pub async fn tokens(&self) -> Reply {
        let code = self.code().await;
        let reply = self.exchange(&code).send(self).await;
        assert_eq!(reply.status, 200, "exchange refused: {}", reply.text);
        reply
    }

    /// A call to the API at `path` (below `/api`) with `Authorization: Bearer token`.
    pub fn api(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> Call {
        let mut call = Call {
            method,
            url: self.mock.api_url(path),
            headers: Vec::new(),
            form: Vec::new(),
            raw_body: Some(String::new()),
        };
        if let Some(token) = token {
            call = call.header("authorization", &format!("Bearer {token}"));
        }
        call
    }

    pub async fn get_api(&self, path: &str, token: &str) -> Reply {
        self.api(reqwest::Method::GET, path, Some(token)).send(self).await
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body` over a bare TCP connection, for
/// requests reqwest will not make, such as one without any `Accept` header. Returns the status and the body.
pub async fn raw_http(h: &Harness, head: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(h.mock.local_addr()).await.expect("connect");
    let request = format!(
        "{head}\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        h.mock.local_addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("receive");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A client that, like the host's OAuth client, never follows redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a reqwest client")
}
