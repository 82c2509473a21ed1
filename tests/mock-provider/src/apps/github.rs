//! GitHub, as an OAuth app (or a GitHub App with expiring user tokens) sees it, on a GitHub Enterprise Server
//! layout: the OAuth endpoints on the site, the REST API below `/api/v3`
//! (https://docs.github.com/en/enterprise-server@latest/rest/quickstart).
//!
//! - `GET /login/oauth/authorize` (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
//!   `client_id`, `redirect_uri`, a space-separated `scope`, `state`, and optionally a PKCE S256 challenge.
//! - `POST /login/oauth/access_token`: `client_id`, `client_secret`, `code`, `redirect_uri` (optional; when sent it
//!   must match) and `code_verifier` as parameters. The answer is form-encoded,
//!   `access_token=...&scope=repo%2Cgist&token_type=bearer`, unless the request sends `Accept: application/json`.
//!   The granted `scope` is comma-separated. Errors come with HTTP 200: `incorrect_client_credentials`,
//!   `redirect_uri_mismatch`, `bad_verification_code`
//!   (https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors).
//!   An OAuth app's token has no `expires_in` and no refresh token. With `MockConfig::issue_refresh_tokens`, the
//!   provider plays a GitHub App with expiring user tokens instead
//!   (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens):
//!   `expires_in`, a `refresh_token` that rotates on each `grant_type=refresh_token`, and `bad_refresh_token`.
//! - `GET /api/v3/user` (https://docs.github.com/en/rest/users/users#get-the-authenticated-user): `Authorization:
//!   Bearer` (or `token`) and a `User-Agent`
//!   (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).
//! - `DELETE /api/v3/applications/{client_id}/grant`
//!   (https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-authorization): Basic client
//!   credentials and JSON `{"access_token"}`; revokes the grant and every token of it; 204.
//! - `GET /api/v3/user/repos`
//!   (https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user): the fixed
//!   [`REPOSITORIES`] of [`LOGIN`], filtered by `visibility` (`all`, `public`, `private`), paginated as every list
//!   below.
//! - Pagination (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api): `per_page`
//!   (default [`DEFAULT_PER_PAGE`], at most 100) and `page` (from 1); an RFC 8288 `Link` header with absolute URLs,
//!   `rel="next"` and `rel="last"` while there are further pages, `rel="first"` and `rel="prev"` after the first.
//! - `GET /api/v3/repos/{owner}/{repo}/labels` and `POST` to create one
//!   (https://docs.github.com/en/rest/issues/labels): a repository starts with the labels [`SEEDED_LABELS`]; names
//!   are unique ignoring case, so creating an existing one is GitHub's 422 `already_exists`; `name` is required and
//!   `color`, when sent, is six hex digits without `#`.
//! - `POST /api/v3/repos/{owner}/{repo}/issues` (https://docs.github.com/en/rest/issues/issues#create-an-issue):
//!   `title` is required; numbers count up from 1 per repository; the answer has `number`, `html_url` and the
//!   labels. **A deliberate difference:** GitHub silently creates the labels an issue names that do not exist yet
//!   (with a push access token); the mock refuses them with a 422 instead, so a test proves a client created them
//!   first.
//! - Every REST API call needs a `User-Agent` and the bearer token (`Authorization: Bearer` or `token`); a
//!   repository other than [`LOGIN`]'s own [`REPOSITORIES`] is 404 `Not Found`, as GitHub answers for a repository
//!   the token cannot see. `MockProvider::rate_limit_api_request` makes one call answer GitHub's secondary rate
//!   limit, 429 with `Retry-After: 1`
//!   (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};

use super::{
    authenticate_as, authorization_token, begin_authorize, check_access_token, json_answer, json_params, mint_code,
    never_expire, queued_answer,
};
use crate::endpoints::authorize::pkce_challenge;
use crate::endpoints::token::{redeem_code, refresh, require_json_accepted};
use crate::params::{Params, media_type, parse_scopes};
use crate::store::{Issued, Shared, lock};
use crate::{ClientAuthRule, MockConfig};

/// The authorization endpoint, on the site (`https://github.com`, or a GitHub Enterprise Server).
pub const AUTHORIZE_PATH: &str = "/login/oauth/authorize";
/// The token endpoint: code exchange, and refresh for GitHub Apps.
pub const TOKEN_PATH: &str = "/login/oauth/access_token";
/// Where a GitHub Enterprise Server serves the REST API (`https://api.github.com` on github.com).
pub const API_PREFIX: &str = "/api/v3";
/// "Get the authenticated user", below [`API_PREFIX`].
pub const USER_PATH: &str = "/api/v3/user";
/// The authenticated user's login.
pub const LOGIN: &str = "octocat";
/// "List repositories for the authenticated user", below [`API_PREFIX`].
pub const USER_REPOS_PATH: &str = "/api/v3/user/repos";
/// [`LOGIN`]'s repositories, `(name, private)`, in the order the API lists them.
pub const REPOSITORIES: &[(&str, bool)] = &[
    ("Hello-World", false),
    ("Spoon-Knife", false),
    ("linguist", false),
    ("octocat.github.io", false),
    ("git-consortium", false),
    ("secret-plans", true),
    ("dotfiles", true),
];
/// The labels every repository starts with (a subset of GitHub's defaults).
pub const SEEDED_LABELS: &[&str] = &["bug", "documentation", "enhancement"];
/// GitHub's page size when a list request sends no `per_page`.
pub const DEFAULT_PER_PAGE: usize = 30;
/// GitHub's largest page.
const MAX_PER_PAGE: usize = 100;
/// How long a GitHub App's refresh token lives, in seconds: six months.
const REFRESH_TOKEN_EXPIRES_IN: u64 = 15_897_600;
/// Where GitHub documents its token errors.
const ERRORS_DOC: &str =
    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(USER_PATH, get(user))
        .route("/api/v3/applications/{client_id}/grant", delete(delete_grant))
        .route(USER_REPOS_PATH, get(user_repos))
        .route("/api/v3/repos/{owner}/{repo}/labels", get(list_labels).post(create_label))
        .route("/api/v3/repos/{owner}/{repo}/issues", post(create_issue))
}

/// What GitHub mode remembers beyond codes and tokens: each repository's labels and issue count (from its first
/// use), and a rate limit queued by `MockProvider::rate_limit_api_request`.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// By repository name, lowercased.
    repositories: HashMap<String, Repository>,
    /// REST API calls still let through before one is answered 429.
    pub(crate) rate_limit_after: Option<usize>,
}

#[derive(Debug)]
struct Repository {
    labels: Vec<Label>,
    issues: u64,
}

#[derive(Debug, Clone)]
struct Label {
    id: u64,
    name: String,
    color: String,
    description: Option<String>,
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    let scopes = match parse_scopes(params.get("scope")) {
        Ok(scopes) => scopes,
        Err(message) => return redirect.error("invalid_scope", &message),
    };
    let challenge = match pkce_challenge(&params, config.require_pkce) {
        Ok(challenge) => challenge,
        Err(message) => return redirect.error("invalid_request", &message),
    };
    match mint_code(&shared, &config, &redirect, scopes, challenge) {
        Ok(code) => redirect.answer(&[("code", &code)]),
        Err(denied) => *denied,
    }
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    // Success or error, the status is 200; the format follows `Accept`.
    let answer = exchange(&shared, &headers, &body).unwrap_or_else(|error| error);
    if require_json_accepted(&headers).is_ok() { json_answer(StatusCode::OK, &answer) } else { form_answer(&answer) }
}

fn exchange(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, Value> {
    let config = lock(shared).config.clone();
    let mut pairs = read_params(headers, body);
    let params = Params::from_pairs(pairs.clone());
    authenticate_as(ClientAuthRule::Post, &config, headers, &params).map_err(|e| {
        error(
            "incorrect_client_credentials",
            e.description.as_deref().unwrap_or_default(),
            "#incorrect-client-credentials",
        )
    })?;
    let client_id = config.client_id.clone();
    let no_query = Params::from_pairs(Vec::new());
    let mut store = lock(shared);
    let mut issued = match params.get("grant_type") {
        None | Some("authorization_code") => {
            let bad_code = |why: &str| error("bad_verification_code", why, "#bad-verification-code");
            let code = params.get("code").ok_or_else(|| bad_code("The code passed is incorrect or expired."))?;
            let issued_for = store.codes.get(code).map(|c| c.redirect_uri.clone());
            let Some(issued_for) = issued_for else {
                return Err(bad_code("The code passed is incorrect or expired."));
            };
            match params.get("redirect_uri") {
                // Optional here; when left out, the authorization request's is meant.
                None => pairs.push(("redirect_uri".into(), issued_for)),
                Some(sent) if sent != issued_for => {
                    return Err(error(
                        "redirect_uri_mismatch",
                        "The redirect_uri MUST match the registered callback URL for this application.",
                        "#redirect-uri-mismatch",
                    ));
                }
                Some(_) => {}
            }
            let params = Params::from_pairs(pairs);
            redeem_code(&mut store, &config, &client_id, &params, &no_query)
                .map_err(|e| bad_code(e.description.as_deref().unwrap_or("The code passed is incorrect or expired.")))?
        }
        Some("refresh_token") if config.issue_refresh_tokens => {
            // A GitHub App's refresh token is single-use: each refresh returns a new one.
            let rotating = MockConfig { rotate_refresh_tokens: true, ..config.clone() };
            refresh(&mut store, &rotating, &client_id, &params, &no_query).map_err(|e| {
                let why = e.description.unwrap_or_default();
                error("bad_refresh_token", &format!("The refresh token passed is incorrect or expired: {why}"), "")
            })?
        }
        Some(other) => {
            let why = format!("grant_type `{other}` is not supported by this app");
            return Err(error("unsupported_grant_type", &why, ""));
        }
    };
    if !config.issue_refresh_tokens {
        // An OAuth app's tokens do not expire.
        never_expire(&mut store, &mut issued);
    }
    Ok(token_answer(&issued))
}

/// The token request's parameters: a form body (what the docs show), or a JSON one.
fn read_params(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| media_type(&String::from_utf8_lossy(v.as_bytes())).0);
    if content_type.as_deref() == Some("application/json") {
        let Ok(params) = json_params(headers, body) else { return Vec::new() };
        return ["client_id", "client_secret", "code", "redirect_uri", "code_verifier", "grant_type", "refresh_token"]
            .iter()
            .filter_map(|name| params.get(name).map(|v| (name.to_string(), v.to_string())))
            .collect();
    }
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The documented answers: `access_token`, `scope` (comma-separated), `token_type`; a GitHub App adds
/// `expires_in`, `refresh_token` and `refresh_token_expires_in`.
fn token_answer(issued: &Issued) -> Value {
    let mut answer = json!({
        "access_token": issued.access_token,
        "scope": issued.scopes.join(","),
        "token_type": "bearer",
    });
    if let Some(expires_in) = issued.expires_in {
        answer["expires_in"] = json!(expires_in);
    }
    if let Some(refresh_token) = &issued.refresh_token {
        answer["refresh_token"] = json!(refresh_token);
        answer["refresh_token_expires_in"] = json!(REFRESH_TOKEN_EXPIRES_IN);
    }
    answer
}

/// A documented token error, answered with HTTP 200.
fn error(code: &str, description: &str, anchor: &str) -> Value {
    json!({"error": code, "error_description": description, "error_uri": format!("{ERRORS_DOC}/{anchor}")})
}

/// GitHub's default answer format: the fields form-encoded.
fn form_answer(answer: &Value) -> Response {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in answer.as_object().into_iter().flat_map(Map::iter) {
        match value {
            Value::String(text) => form.append_pair(name, text),
            other => form.append_pair(name, &other.to_string()),
        };
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")], form.finish())
        .into_response()
}

/// The REST API's refusal when there is no `User-Agent`, if there is none.
fn missing_user_agent(headers: &HeaderMap) -> Option<Response> {
    if headers.contains_key(header::USER_AGENT) {
        return None;
    }
    let message = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header \
                   (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).";
    Some((StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain")], message).into_response())
}

/// A REST API error: `{"message", "documentation_url", "status"}`.
fn api_error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    });
    json_answer(status, &body)
}

/// The answer a REST API call gets instead of what it asked for (boxed, since a `Response` is large), so handlers
/// can use `?`.
struct Refused(Box<Response>);

impl From<Response> for Refused {
    fn from(response: Response) -> Self {
        Refused(Box::new(response))
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// The checks every REST API call passes first: a queued rate limit, the `User-Agent`, and the bearer token the
/// provider issued (`Bearer` or `token`). The scopes of the token, or the answer to give.
fn api_caller(shared: &Shared, headers: &HeaderMap) -> Result<Vec<String>, Refused> {
    if let Some(limited) = rate_limited(shared) {
        return Err(limited.into());
    }
    if let Some(refused) = missing_user_agent(headers) {
        return Err(refused.into());
    }
    let token = match authorization_token(headers, &["Bearer", "token"]) {
        Ok(token) => token,
        Err(_) if !headers.contains_key(header::AUTHORIZATION) => {
            return Err(api_error(StatusCode::UNAUTHORIZED, "Requires authentication").into());
        }
        Err(why) => return Err(api_error(StatusCode::UNAUTHORIZED, &format!("Bad credentials: {why}")).into()),
    };
    check_access_token(shared, &token)
        .map_err(|why| api_error(StatusCode::UNAUTHORIZED, &format!("Bad credentials: {why}")).into())
}

/// GitHub's secondary rate limit, when `MockProvider::rate_limit_api_request` queued one for this call.
fn rate_limited(shared: &Shared) -> Option<Response> {
    let mut store = lock(shared);
    let memory = &mut store.app.github;
    match memory.rate_limit_after {
        Some(0) => memory.rate_limit_after = None,
        Some(n) => {
            memory.rate_limit_after = Some(n - 1);
            return None;
        }
        None => return None,
    }
    drop(store);
    // https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
    let body = json!({
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        "status": "429",
    });
    let mut response = json_answer(StatusCode::TOO_MANY_REQUESTS, &body);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    Some(response)
}

async fn user(State(shared): State<Shared>, headers: HeaderMap) -> Result<Response, Refused> {
    let scopes = api_caller(&shared, &headers)?;
    // https://docs.github.com/en/rest/users/users#get-the-authenticated-user
    let body = json!({"login": LOGIN, "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "name": "monalisa octocat"});
    let mut response = json_answer(StatusCode::OK, &body);
    if let Ok(value) = HeaderValue::from_str(&scopes.join(", ")) {
        response.headers_mut().insert("x-oauth-scopes", value);
    }
    Ok(response)
}

async fn delete_grant(
    State(shared): State<Shared>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(limited) = rate_limited(&shared) {
        return limited;
    }
    if let Some(refused) = missing_user_agent(&headers) {
        return refused;
    }
    let config = lock(&shared).config.clone();
    let none = Params::from_pairs(Vec::new());
    match authenticate_as(ClientAuthRule::Basic, &config, &headers, &none) {
        Ok(id) if id == client_id => {}
        Ok(_) => return api_error(StatusCode::NOT_FOUND, "Not Found"),
        Err(e) => {
            let why = e.description.unwrap_or_default();
            return api_error(StatusCode::UNAUTHORIZED, &format!("Bad credentials: {why}"));
        }
    }
    let token = json_params(&headers, &body).ok().and_then(|p| p.get("access_token").map(str::to_owned));
    let Some(token) = token else {
        return api_error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request.\n\n\"access_token\" wasn't supplied.");
    };
    let mut store = lock(&shared);
    let Some(grant) = store.access_tokens.get(&token).filter(|t| t.client_id == client_id).map(|t| t.grant) else {
        return api_error(StatusCode::NOT_FOUND, "Not Found");
    };
    store.revoke_grant(grant);
    StatusCode::NO_CONTENT.into_response()
}

/// `http://HOST`, from the request's `Host` header: GitHub's links and `html_url`s are absolute.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
    format!("http://{}", host.unwrap_or_else(|| "localhost".into()))
}

/// A 422 "Validation Failed" with one error, as GitHub reports a bad field
/// (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#validation-failed).
fn validation_failed(resource: &str, code: &str, field: &str, documentation: &str) -> Refused {
    let body = json!({
        "message": "Validation Failed",
        "errors": [{"resource": resource, "code": code, "field": field}],
        "documentation_url": documentation,
        "status": "422",
    });
    json_answer(StatusCode::UNPROCESSABLE_ENTITY, &body).into()
}

/// A request body that must be a JSON object; GitHub answers anything else with 400 "Problems parsing JSON".
fn json_object(body: &[u8]) -> Result<Map<String, Value>, Refused> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(api_error(StatusCode::BAD_REQUEST, "Problems parsing JSON").into()),
    }
}

/// One page of `items` as the query asks (`per_page`, `page`), with GitHub's `Link` header: absolute URLs that
/// keep the request's other parameters and set `page`.
fn paginated(headers: &HeaderMap, path: &str, query: Option<&str>, items: Vec<Value>) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let number = |name: &str| pairs.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.parse::<usize>().ok());
    let per_page = number("per_page").unwrap_or(DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE);
    let page = number("page").unwrap_or(1).max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let origin = origin(headers);
    let url = |page: usize| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(pairs.iter().filter(|(n, _)| n != "page")).append_pair("page", &page.to_string());
        format!("<{origin}{path}?{}>", query.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", url(1)));
    }
    let mut response = json_answer(StatusCode::OK, &Value::Array(slice));
    if let Ok(value) = HeaderValue::from_str(&links.join(", "))
        && !links.is_empty()
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// A repository's API representation (the fields clients read).
fn repository_json(origin: &str, id: usize, name: &str, private: bool) -> Value {
    let full_name = format!("{LOGIN}/{name}");
    json!({
        "id": id,
        "name": name,
        "full_name": full_name,
        "private": private,
        "visibility": if private { "private" } else { "public" },
        "owner": {"login": LOGIN, "id": 1, "type": "User"},
        "html_url": format!("{origin}/{full_name}"),
        "url": format!("{origin}{API_PREFIX}/repos/{full_name}"),
    })
}

async fn user_repos(
    State(shared): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Refused> {
    api_caller(&shared, &headers)?;
    let params = Params::from_query(query.as_deref());
    let visibility = params.get("visibility").unwrap_or("all");
    let keep: fn(bool) -> bool = match visibility {
        "all" => |_| true,
        "public" => |private| !private,
        "private" => |private| private,
        _ => {
            let doc = "https://docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user";
            return Err(validation_failed("Repository", "invalid", "visibility", doc));
        }
    };
    let origin = origin(&headers);
    let repositories = REPOSITORIES
        .iter()
        .enumerate()
        .filter(|(_, (_, private))| keep(*private))
        .map(|(index, (name, private))| repository_json(&origin, 1000 + index, name, *private))
        .collect();
    Ok(paginated(&headers, USER_REPOS_PATH, query.as_deref(), repositories))
}

/// The key of one of [`LOGIN`]'s [`REPOSITORIES`], or GitHub's 404 for a repository the token cannot see.
fn repository_key(owner: &str, repo: &str) -> Result<String, Refused> {
    let known =
        owner.eq_ignore_ascii_case(LOGIN) && REPOSITORIES.iter().any(|(name, _)| name.eq_ignore_ascii_case(repo));
    if known { Ok(repo.to_ascii_lowercase()) } else { Err(api_error(StatusCode::NOT_FOUND, "Not Found").into()) }
}

/// Runs `f` on a repository's state, seeding it on first use.
fn with_repository<T>(shared: &Shared, key: &str, f: impl FnOnce(&mut Repository) -> T) -> T {
    let mut store = lock(shared);
    let repository = store.app.github.repositories.entry(key.to_owned()).or_insert_with(|| Repository {
        labels: SEEDED_LABELS
            .iter()
            .enumerate()
            .map(|(index, name)| Label {
                id: 100 + index as u64,
                name: (*name).into(),
                color: "d73a4a".into(),
                description: None,
            })
            .collect(),
        issues: 0,
    });
    f(repository)
}

fn label_json(origin: &str, key_path: &str, label: &Label) -> Value {
    json!({
        "id": label.id,
        "name": label.name,
        "color": label.color,
        "description": label.description,
        "default": SEEDED_LABELS.contains(&label.name.as_str()),
        "url": format!("{origin}{key_path}/labels/{}", label.name),
    })
}

async fn list_labels(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Refused> {
    api_caller(&shared, &headers)?;
    let key = repository_key(&owner, &repo)?;
    let origin = origin(&headers);
    let repo_path = format!("{API_PREFIX}/repos/{owner}/{repo}");
    let labels = with_repository(&shared, &key, |r| r.labels.clone());
    let labels = labels.iter().map(|label| label_json(&origin, &repo_path, label)).collect();
    Ok(paginated(&headers, &format!("{repo_path}/labels"), query.as_deref(), labels))
}

async fn create_label(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    const DOC: &str = "https://docs.github.com/rest/issues/labels#create-a-label";
    api_caller(&shared, &headers)?;
    let key = repository_key(&owner, &repo)?;
    let fields = json_object(&body)?;
    let Some(name) = fields.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty()) else {
        return Err(validation_failed("Label", "missing_field", "name", DOC));
    };
    let color = match fields.get("color") {
        None | Some(Value::Null) => "ededed".to_owned(),
        Some(Value::String(hex)) if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) => hex.clone(),
        Some(_) => return Err(validation_failed("Label", "invalid", "color", DOC)),
    };
    let description = fields.get("description").and_then(Value::as_str).map(str::to_owned);
    let created = with_repository(&shared, &key, |r| {
        // Label names are unique ignoring case.
        if r.labels.iter().any(|l| l.name.eq_ignore_ascii_case(name)) {
            return None;
        }
        let label = Label { id: 100 + r.labels.len() as u64, name: name.to_owned(), color, description };
        r.labels.push(label.clone());
        Some(label)
    });
    let Some(label) = created else {
        return Err(validation_failed("Label", "already_exists", "name", DOC));
    };
    let repo_path = format!("{API_PREFIX}/repos/{owner}/{repo}");
    Ok(json_answer(StatusCode::CREATED, &label_json(&origin(&headers), &repo_path, &label)))
}

async fn create_issue(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    const DOC: &str = "https://docs.github.com/rest/issues/issues#create-an-issue";
    api_caller(&shared, &headers)?;
    let key = repository_key(&owner, &repo)?;
    let fields = json_object(&body)?;
    // `title` is a string or an integer.
    let title = match fields.get("title") {
        Some(Value::String(title)) if !title.trim().is_empty() => title.clone(),
        Some(Value::Number(number)) if number.is_i64() => number.to_string(),
        _ => return Err(validation_failed("Issue", "missing_field", "title", DOC)),
    };
    let names: Vec<String> = match fields.get("labels") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(names)) if names.iter().all(Value::is_string) => {
            names.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        Some(_) => return Err(validation_failed("Issue", "invalid", "labels", DOC)),
    };
    let outcome = with_repository(&shared, &key, |r| {
        let mut labels = Vec::new();
        for name in &names {
            // GitHub would create it; the mock refuses, so tests see that the client created it first.
            let Some(label) = r.labels.iter().find(|l| l.name.eq_ignore_ascii_case(name)) else {
                return Err(name.clone());
            };
            labels.push(label.clone());
        }
        r.issues += 1;
        Ok((r.issues, labels))
    });
    let (number, labels) = match outcome {
        Ok(created) => created,
        Err(unknown) => {
            let body = json!({
                "message": "Validation Failed",
                "errors": [{
                    "resource": "Label",
                    "code": "invalid",
                    "field": "labels",
                    "value": unknown,
                    "message": format!("label `{unknown}` does not exist: create it first (this mock, unlike GitHub, does not create labels for an issue)"),
                }],
                "documentation_url": DOC,
                "status": "422",
            });
            return Err(json_answer(StatusCode::UNPROCESSABLE_ENTITY, &body).into());
        }
    };
    let origin = origin(&headers);
    let repo_path = format!("{API_PREFIX}/repos/{owner}/{repo}");
    let api_url = format!("{origin}{repo_path}/issues/{number}");
    let answer = json!({
        "id": 5000 + number,
        "number": number,
        "title": title,
        "body": fields.get("body").cloned().unwrap_or(Value::Null),
        "state": "open",
        "labels": labels.iter().map(|label| label_json(&origin, &repo_path, label)).collect::<Vec<_>>(),
        "user": {"login": LOGIN, "id": 1},
        "url": api_url,
        "html_url": format!("{origin}/{owner}/{repo}/issues/{number}"),
    });
    let mut response = json_answer(StatusCode::CREATED, &answer);
    if let Ok(location) = HeaderValue::from_str(&api_url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
