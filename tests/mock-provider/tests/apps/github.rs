//! GitHub mode: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps

use keyway_mock_provider::apps::github::{
    AUTHORIZE_PATH, DEFAULT_PER_PAGE, LOGIN, REPOSITORIES, SEEDED_LABELS, TOKEN_PATH, USER_PATH, USER_REPOS_PATH,
};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{CHALLENGE, Call, Harness, REDIRECT_URI, Reply, STATE, VERIFIER, basic};
use crate::{changed, code_of, get, redirect_error};

/// An OAuth app: tokens without expiry or refresh.
async fn oauth_app() -> Harness {
    github(MockConfig { issue_refresh_tokens: false, ..MockConfig::default() }).await
}

/// A GitHub App with expiring user tokens.
async fn github_app() -> Harness {
    github(MockConfig { access_token_ttl: Some(28_800), ..MockConfig::default() }).await
}

async fn github(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Github, ..config }).await
}

/// The documented authorize request, with PKCE, changed by `set`.
async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "repo gist"),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    get(h, AUTHORIZE_PATH, &changed(&params, set)).await
}

async fn code(h: &Harness) -> String {
    code_of(&authorize(h, &[]).await)
}

/// The documented exchange: parameters in a form body, credentials among them, and `Accept: application/json`.
fn exchange(h: &Harness, code: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, TOKEN_PATH)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("code", code)
        .param("redirect_uri", REDIRECT_URI)
        .param("code_verifier", VERIFIER)
}

fn refresh(h: &Harness, refresh_token: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, TOKEN_PATH)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("grant_type", "refresh_token")
        .param("refresh_token", refresh_token)
}

async fn tokens(h: &Harness) -> Value {
    let code = code(h).await;
    let reply = exchange(h, &code).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json().get("error").is_none(), "{}", reply.text);
    reply.json()
}

fn user(h: &Harness, token: &str) -> Call {
    h.call(Method::GET, USER_PATH)
        .header("authorization", &format!("Bearer {token}"))
        .header("user-agent", "keyway-test")
}

fn delete_grant(h: &Harness, token: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::DELETE, &format!("/api/v3/applications/{}/grant", config.client_id))
        .header("content-type", "application/json")
        .raw_body(&json!({"access_token": token}).to_string())
        .header("authorization", &basic(&config.client_id, &config.client_secret))
        .header("user-agent", "keyway-test")
}

/// A token error: HTTP 200 with `error` in the body.
#[track_caller]
fn assert_error_200(reply: &Reply, error: &str) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
    assert!(
        reply.json()["error_uri"].as_str().is_some_and(|u| u.starts_with("https://docs.github.com/")),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn the_documented_authorize_request_gets_a_code() {
    let h = oauth_app().await;
    let reply = authorize(&h, &[]).await;
    code_of(&reply);
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn authorize_checks_client_scopes_and_pkce() {
    let h = oauth_app().await;
    assert_eq!(authorize(&h, &[("client_id", Some("other"))]).await.status, 400);
    assert_eq!(redirect_error(&authorize(&h, &[("scope", Some("repo  gist"))]).await).0, "invalid_scope");
    assert_eq!(
        redirect_error(&authorize(&h, &[("code_challenge", None), ("code_challenge_method", None)]).await).0,
        "invalid_request"
    );
    assert_eq!(redirect_error(&authorize(&h, &[("code_challenge_method", Some("plain"))]).await).0, "invalid_request");
    let denied = github(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize(&denied, &[]).await).0, "access_denied");
}

#[tokio::test]
async fn with_accept_json_an_oauth_app_gets_json_with_comma_separated_scopes_and_no_expiry() {
    let h = oauth_app().await;
    let body = tokens(&h).await;
    assert!(body["access_token"].as_str().is_some_and(|t| t.starts_with("mock-at-")), "{body}");
    assert_eq!(body["scope"], "repo,gist");
    assert_eq!(body["token_type"], "bearer");
    assert!(body.get("expires_in").is_none() && body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn without_accept_json_the_answer_is_form_encoded() {
    let h = oauth_app().await;
    let code = code(&h).await;
    let reply = exchange(&h, &code).without_header("accept").send(&h).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/x-www-form-urlencoded; charset=utf-8"));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(reply.text.as_bytes()).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert!(field("access_token").is_some_and(|t| t.starts_with("mock-at-")), "{}", reply.text);
    assert_eq!(field("scope"), Some("repo,gist"));
    assert_eq!(field("token_type"), Some("bearer"));
    assert!(reply.text.contains("scope=repo%2Cgist"), "{}", reply.text);

    // Errors too.
    let reply = exchange(&h, &code).without_header("accept").send(&h).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.starts_with("error=bad_verification_code&"), "{}", reply.text);
}

#[tokio::test]
async fn a_bad_or_reused_code_is_bad_verification_code_with_http_200() {
    let h = oauth_app().await;
    assert_error_200(&exchange(&h, "mock-code-unknown").send(&h).await, "bad_verification_code");
    let wrong_verifier = exchange(&h, &code(&h).await).param("code_verifier", &"x".repeat(43)).send(&h).await;
    assert_error_200(&wrong_verifier, "bad_verification_code");
    let used = code(&h).await;
    assert_eq!(exchange(&h, &used).send(&h).await.json().get("error"), None);
    assert_error_200(&exchange(&h, &used).send(&h).await, "bad_verification_code");
    assert_error_200(&exchange(&h, &used).without_param("code").send(&h).await, "bad_verification_code");
}

#[tokio::test]
async fn client_credentials_belong_in_the_body() {
    let h = oauth_app().await;
    let config = h.mock.config();
    let code = code(&h).await;
    let wrong = exchange(&h, &code).param("client_secret", "wrong").send(&h).await;
    assert_error_200(&wrong, "incorrect_client_credentials");
    let basic_only = exchange(&h, &code)
        .without_param("client_secret")
        .header("authorization", &basic(&config.client_id, &config.client_secret))
        .send(&h)
        .await;
    assert_error_200(&basic_only, "incorrect_client_credentials");
    // The refused requests burned nothing: the code still works.
    assert_eq!(exchange(&h, &code).send(&h).await.json().get("error"), None);
}

#[tokio::test]
async fn redirect_uri_is_optional_but_must_match_when_sent() {
    let h = oauth_app().await;
    let code = code(&h).await;
    let other = exchange(&h, &code).param("redirect_uri", "https://elsewhere.test/oauth").send(&h).await;
    assert_error_200(&other, "redirect_uri_mismatch");
    let reply = exchange(&h, &code).without_param("redirect_uri").send(&h).await;
    assert_eq!(reply.json().get("error"), None, "{}", reply.text);
}

#[tokio::test]
async fn a_github_app_gets_expiring_tokens_and_single_use_refresh_tokens() {
    let h = github_app().await;
    let body = tokens(&h).await;
    assert_eq!(body["expires_in"], 28_800);
    assert_eq!(body["refresh_token_expires_in"], 15_897_600);
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let reply = refresh(&h, &first).send(&h).await;
    assert_eq!(reply.json().get("error"), None, "{}", reply.text);
    let second = reply.field("refresh_token");
    assert_ne!(first, second);
    assert_eq!(user(&h, &reply.field("access_token")).send(&h).await.status, 200);
    let replay = refresh(&h, &first).send(&h).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.error(), "bad_refresh_token");
    assert_eq!(refresh(&h, "mock-rt-unknown").send(&h).await.error(), "bad_refresh_token");
}

#[tokio::test]
async fn an_oauth_app_cannot_refresh() {
    let h = oauth_app().await;
    tokens(&h).await;
    assert_eq!(refresh(&h, "mock-rt-any").send(&h).await.error(), "unsupported_grant_type");
}

#[tokio::test]
async fn the_api_answers_a_bearer_or_token_authorization_with_a_user_agent() {
    let h = oauth_app().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = user(&h, &token).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["login"], LOGIN);
    assert_eq!(reply.header("x-oauth-scopes"), Some("repo, gist"));
    let reply = user(&h, &token).header("authorization", &format!("token {token}")).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn the_api_requires_a_user_agent() {
    let h = oauth_app().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = user(&h, &token).without_header("user-agent").send(&h).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert!(reply.text.contains("User-Agent"), "{}", reply.text);
}

#[tokio::test]
async fn the_api_requires_valid_credentials() {
    let h = oauth_app().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let missing = user(&h, &token).without_header("authorization").send(&h).await;
    assert_eq!((missing.status, missing.json()["message"].as_str()), (401, Some("Requires authentication")));
    for authorization in ["Bearer mock-at-unknown".to_owned(), format!("Basic {token}")] {
        let reply = user(&h, &token).header("authorization", &authorization).send(&h).await;
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert!(reply.json()["message"].as_str().unwrap().starts_with("Bad credentials"), "{}", reply.text);
    }
}

#[tokio::test]
async fn deleting_the_grant_revokes_every_token_of_it() {
    let h = oauth_app().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = delete_grant(&h, &token).send(&h).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert!(h.mock.is_revoked(&token));
    assert_eq!(user(&h, &token).send(&h).await.status, 401);
    assert_eq!(delete_grant(&h, "mock-at-unknown").send(&h).await.status, 404);
}

#[tokio::test]
async fn deleting_a_grant_needs_a_user_agent_basic_credentials_and_the_token() {
    let h = oauth_app().await;
    let config = h.mock.config();
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(delete_grant(&h, &token).without_header("user-agent").send(&h).await.status, 403);
    let wrong = delete_grant(&h, &token).header("authorization", &basic(&config.client_id, "wrong"));
    assert_eq!(wrong.send(&h).await.status, 401);
    assert_eq!(delete_grant(&h, &token).without_header("authorization").send(&h).await.status, 401);
    let missing = delete_grant(&h, &token).raw_body("{}").send(&h).await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    let other_app = h
        .call(Method::DELETE, "/api/v3/applications/other-app/grant")
        .header("authorization", &basic(&config.client_id, &config.client_secret))
        .header("user-agent", "keyway-test")
        .header("content-type", "application/json")
        .raw_body(&json!({"access_token": token}).to_string());
    assert_eq!(other_app.send(&h).await.status, 404);
    assert!(!h.mock.is_revoked(&token));
}

/// An authenticated REST API call, as the plugin's actions make them.
fn rest(h: &Harness, method: Method, path: &str, token: &str) -> Call {
    h.call(method, path).header("authorization", &format!("Bearer {token}")).header("user-agent", "keyway-test")
}

/// A REST API call with a JSON body.
fn rest_json(h: &Harness, method: Method, path: &str, token: &str, body: &Value) -> Call {
    rest(h, method, path, token).header("content-type", "application/json").raw_body(&body.to_string())
}

async fn access_token(h: &Harness) -> String {
    tokens(h).await["access_token"].as_str().unwrap().to_owned()
}

/// The `Link` header's targets by relation type.
fn links(reply: &Reply) -> Vec<(String, String)> {
    let Some(header) = reply.header("link") else { return Vec::new() };
    header
        .split(", ")
        .map(|link| {
            let (target, rel) = link.split_once("; rel=").unwrap_or_else(|| panic!("odd link {link}"));
            (rel.trim_matches('"').to_owned(), target.trim_matches(['<', '>']).to_owned())
        })
        .collect()
}

fn link<'a>(links: &'a [(String, String)], rel: &str) -> Option<&'a str> {
    links.iter().find(|(r, _)| r == rel).map(|(_, target)| target.as_str())
}

fn names(reply: &Reply, field: &str) -> Vec<String> {
    reply.json().as_array().unwrap().iter().map(|item| item[field].as_str().unwrap().to_owned()).collect()
}

/// A 422 "Validation Failed" whose one error has this code and field.
#[track_caller]
fn assert_validation(reply: &Reply, code: &str, field: &str) {
    assert_eq!(reply.status, 422, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["message"], "Validation Failed", "{body}");
    assert_eq!((body["errors"][0]["code"].as_str(), body["errors"][0]["field"].as_str()), (Some(code), Some(field)));
}

#[tokio::test]
async fn user_repos_paginates_with_absolute_link_urls_as_github_does() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    let base = h.mock.base_url();

    let first = rest(&h, Method::GET, &format!("{USER_REPOS_PATH}?per_page=3"), &token).send(&h).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(names(&first, "full_name"), ["octocat/Hello-World", "octocat/Spoon-Knife", "octocat/linguist"]);
    assert_eq!(first.json()[0]["html_url"], format!("{base}/octocat/Hello-World"));
    let first_links = links(&first);
    let next = link(&first_links, "next").expect("a next page");
    assert_eq!(next, format!("{base}{USER_REPOS_PATH}?per_page=3&page=2"));
    assert_eq!(link(&first_links, "last"), Some(format!("{base}{USER_REPOS_PATH}?per_page=3&page=3").as_str()));
    assert_eq!((link(&first_links, "prev"), link(&first_links, "first")), (None, None));

    let second = rest(&h, Method::GET, next.strip_prefix(&base).unwrap(), &token).send(&h).await;
    assert_eq!(names(&second, "name"), ["octocat.github.io", "git-consortium", "secret-plans"]);
    let second_links = links(&second);
    assert_eq!(link(&second_links, "prev"), Some(format!("{base}{USER_REPOS_PATH}?per_page=3&page=1").as_str()));
    assert_eq!(link(&second_links, "first"), link(&second_links, "prev"));
    let next = link(&second_links, "next").expect("a third page");

    let third = rest(&h, Method::GET, next.strip_prefix(&base).unwrap(), &token).send(&h).await;
    assert_eq!(names(&third, "name"), ["dotfiles"]);
    assert!(third.json()[0]["private"].as_bool().unwrap());
    let third_links = links(&third);
    assert_eq!((link(&third_links, "next"), link(&third_links, "last")), (None, None));
    assert!(link(&third_links, "prev").is_some());

    let beyond = rest(&h, Method::GET, &format!("{USER_REPOS_PATH}?per_page=3&page=4"), &token).send(&h).await;
    assert_eq!(beyond.json(), json!([]));
}

#[tokio::test]
async fn user_repos_defaults_to_githubs_page_size_and_caps_it_at_100() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    assert!(REPOSITORIES.len() < DEFAULT_PER_PAGE);
    let all = rest(&h, Method::GET, USER_REPOS_PATH, &token).send(&h).await;
    assert_eq!(names(&all, "name").len(), REPOSITORIES.len());
    assert_eq!(all.header("link"), None, "one page has no links");
    let capped = rest(&h, Method::GET, &format!("{USER_REPOS_PATH}?per_page=1000"), &token).send(&h).await;
    assert_eq!(names(&capped, "name").len(), REPOSITORIES.len());
}

#[tokio::test]
async fn user_repos_filters_by_visibility_and_refuses_an_unknown_one() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    let private = rest(&h, Method::GET, &format!("{USER_REPOS_PATH}?visibility=private"), &token).send(&h).await;
    assert_eq!(names(&private, "name"), ["secret-plans", "dotfiles"]);
    let public = rest(&h, Method::GET, &format!("{USER_REPOS_PATH}?visibility=public"), &token).send(&h).await;
    assert_eq!(names(&public, "name").len(), REPOSITORIES.len() - 2);
    let odd = rest(&h, Method::GET, &format!("{USER_REPOS_PATH}?visibility=secret"), &token).send(&h).await;
    assert_validation(&odd, "invalid", "visibility");
}

#[tokio::test]
async fn every_rest_endpoint_requires_a_user_agent_and_the_issued_token() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    let labels = format!("/api/v3/repos/{LOGIN}/Hello-World/labels");
    let issues = format!("/api/v3/repos/{LOGIN}/Hello-World/issues");
    let calls = [
        (Method::GET, USER_REPOS_PATH.to_owned(), json!(null)),
        (Method::GET, labels.clone(), json!(null)),
        (Method::POST, labels, json!({"name": "new"})),
        (Method::POST, issues, json!({"title": "t"})),
    ];
    for (method, path, body) in calls {
        let call = || rest_json(&h, method.clone(), &path, &token, &body);
        let no_agent = call().without_header("user-agent").send(&h).await;
        assert_eq!(no_agent.status, 403, "{method} {path}: {}", no_agent.text);
        let anonymous = call().without_header("authorization").send(&h).await;
        assert_eq!((anonymous.status, anonymous.json()["message"].as_str()), (401, Some("Requires authentication")));
        let unknown = call().header("authorization", "token mock-at-unknown").send(&h).await;
        assert_eq!(unknown.status, 401, "{method} {path}: {}", unknown.text);
        let wrong_scheme = call().header("authorization", &format!("Basic {token}")).send(&h).await;
        assert_eq!(wrong_scheme.status, 401, "{method} {path}: {}", wrong_scheme.text);
    }
    // Nothing was created by the refused calls.
    let labels = rest(&h, Method::GET, &format!("/api/v3/repos/{LOGIN}/Hello-World/labels"), &token).send(&h).await;
    assert_eq!(names(&labels, "name"), SEEDED_LABELS);
}

#[tokio::test]
async fn a_repository_the_token_cannot_see_is_not_found() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    for path in [
        "/api/v3/repos/someone-else/Hello-World/labels",
        "/api/v3/repos/octocat/no-such-repo/labels",
        "/api/v3/repos/octocat/no-such-repo/issues",
    ] {
        let method = if path.ends_with("issues") { Method::POST } else { Method::GET };
        let reply = rest_json(&h, method, path, &token, &json!({"title": "t"})).send(&h).await;
        assert_eq!((reply.status, reply.json()["message"].as_str()), (404, Some("Not Found")), "{path}");
    }
}

#[tokio::test]
async fn labels_start_seeded_and_each_name_is_created_once_ignoring_case() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    let path = format!("/api/v3/repos/{LOGIN}/Hello-World/labels");
    let seeded = rest(&h, Method::GET, &path, &token).send(&h).await;
    assert_eq!(names(&seeded, "name"), SEEDED_LABELS);

    let created =
        rest_json(&h, Method::POST, &path, &token, &json!({"name": "triage", "color": "0e8a16"})).send(&h).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!((created.json()["name"].as_str(), created.json()["color"].as_str()), (Some("triage"), Some("0e8a16")));
    let listed = rest(&h, Method::GET, &path, &token).send(&h).await;
    assert_eq!(names(&listed, "name"), ["bug", "documentation", "enhancement", "triage"]);

    for existing in ["triage", "Triage", "BUG"] {
        let again = rest_json(&h, Method::POST, &path, &token, &json!({"name": existing})).send(&h).await;
        assert_validation(&again, "already_exists", "name");
    }
    // Another repository has its own labels.
    let other = rest(&h, Method::GET, &format!("/api/v3/repos/{LOGIN}/Spoon-Knife/labels"), &token).send(&h).await;
    assert_eq!(names(&other, "name"), SEEDED_LABELS);
}

#[tokio::test]
async fn labels_paginate_like_every_list() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    let path = format!("/api/v3/repos/{LOGIN}/Hello-World/labels");
    let page = rest(&h, Method::GET, &format!("{path}?per_page=2"), &token).send(&h).await;
    assert_eq!(names(&page, "name"), ["bug", "documentation"]);
    let next = format!("{}{path}?per_page=2&page=2", h.mock.base_url());
    assert_eq!(link(&links(&page), "next"), Some(next.as_str()));
}

#[tokio::test]
async fn creating_a_label_needs_json_a_name_and_a_hex_color() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    let path = format!("/api/v3/repos/{LOGIN}/Hello-World/labels");
    let not_json = rest(&h, Method::POST, &path, &token).raw_body("name=triage").send(&h).await;
    assert_eq!((not_json.status, not_json.json()["message"].as_str()), (400, Some("Problems parsing JSON")));
    for body in [json!({}), json!({"name": ""}), json!({"name": 7})] {
        assert_validation(&rest_json(&h, Method::POST, &path, &token, &body).send(&h).await, "missing_field", "name");
    }
    for color in ["#0e8a16", "green", "0e8a1"] {
        let body = json!({"name": "triage", "color": color});
        assert_validation(&rest_json(&h, Method::POST, &path, &token, &body).send(&h).await, "invalid", "color");
    }
    let labels = rest(&h, Method::GET, &path, &token).send(&h).await;
    assert_eq!(names(&labels, "name"), SEEDED_LABELS, "nothing was created");
}

#[tokio::test]
async fn issues_are_numbered_per_repository_with_their_url_and_labels() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    let base = h.mock.base_url();
    let path = format!("/api/v3/repos/{LOGIN}/Hello-World/issues");
    let body = json!({"title": "Found a bug", "body": "It crashes", "labels": ["bug", "Enhancement"]});
    let first = rest_json(&h, Method::POST, &path, &token, &body).send(&h).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let issue = first.json();
    assert_eq!(issue["number"], 1);
    assert_eq!(issue["html_url"], format!("{base}/{LOGIN}/Hello-World/issues/1"));
    assert_eq!(first.header("location"), Some(format!("{base}{path}/1").as_str()));
    assert_eq!(
        (issue["title"].as_str(), issue["body"].as_str(), issue["state"].as_str()),
        (Some("Found a bug"), Some("It crashes"), Some("open"))
    );
    let labels: Vec<&str> = issue["labels"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(labels, ["bug", "enhancement"]);

    let second = rest_json(&h, Method::POST, &path, &token, &json!({"title": 42})).send(&h).await;
    assert_eq!((second.status, second.json()["number"].as_u64()), (201, Some(2)));
    let elsewhere = format!("/api/v3/repos/{LOGIN}/Spoon-Knife/issues");
    let other = rest_json(&h, Method::POST, &elsewhere, &token, &json!({"title": "t"})).send(&h).await;
    assert_eq!(other.json()["number"], 1, "numbers are per repository");
}

#[tokio::test]
async fn an_issue_needs_a_title_and_labels_that_exist() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    let path = format!("/api/v3/repos/{LOGIN}/Hello-World/issues");
    for body in [json!({}), json!({"title": ""}), json!({"title": ["t"]})] {
        assert_validation(&rest_json(&h, Method::POST, &path, &token, &body).send(&h).await, "missing_field", "title");
    }
    let not_json = rest(&h, Method::POST, &path, &token).raw_body("{").send(&h).await;
    assert_eq!(not_json.status, 400, "{}", not_json.text);
    let labels_not_names = json!({"title": "t", "labels": "bug"});
    assert_validation(
        &rest_json(&h, Method::POST, &path, &token, &labels_not_names).send(&h).await,
        "invalid",
        "labels",
    );

    // GitHub would create `triage`; the mock refuses, so a client must create it first.
    let unknown = json!({"title": "t", "labels": ["bug", "triage"]});
    let refused = rest_json(&h, Method::POST, &path, &token, &unknown).send(&h).await;
    assert_validation(&refused, "invalid", "labels");
    assert_eq!(refused.json()["errors"][0]["value"], "triage");

    let accepted = rest_json(&h, Method::POST, &path, &token, &json!({"title": "t"})).send(&h).await;
    assert_eq!(accepted.json()["number"], 1, "refused issues take no number");
}

#[tokio::test]
async fn a_queued_rate_limit_answers_one_call_with_429_and_retry_after() {
    let h = oauth_app().await;
    let token = access_token(&h).await;
    h.mock.rate_limit_api_request(1);
    let page = |n: u32| rest(&h, Method::GET, &format!("{USER_REPOS_PATH}?per_page=3&page={n}"), &token);
    assert_eq!(page(1).send(&h).await.status, 200);
    let limited = page(2).send(&h).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert!(limited.json()["message"].as_str().unwrap().contains("secondary rate limit"), "{}", limited.text);
    let retried = page(2).send(&h).await;
    assert_eq!(retried.status, 200, "only one call is limited");
    let asked: Vec<Option<String>> =
        h.mock.requests_to(USER_REPOS_PATH).iter().map(|r| r.query_param("page").map(str::to_owned)).collect();
    assert_eq!(asked, [Some("1".into()), Some("2".into()), Some("2".into())], "the 429'd call is recorded");

    // Even an unauthenticated call is limited: the limit comes first, as GitHub's does.
    h.mock.rate_limit_api_request(0);
    assert_eq!(page(1).without_header("authorization").send(&h).await.status, 429);
    assert_eq!(page(1).without_header("authorization").send(&h).await.status, 401);
}
