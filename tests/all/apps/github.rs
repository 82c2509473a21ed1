//! GitHub through the service, against a GitHub Enterprise Server layout
//! (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps).

use keyway_mock_provider::apps::github::{AUTHORIZE_PATH, LOGIN, REPOSITORIES, TOKEN_PATH, USER_PATH, USER_REPOS_PATH};
use keyway_mock_provider::{App, MockConfig};
use keyway_tests::components::GITHUB;
use reqwest::Method;
use serde_json::{Value, json};

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::{Api, Reply};

/// An OAuth app: tokens that neither expire nor refresh.
fn oauth_app() -> MockConfig {
    MockConfig { issue_refresh_tokens: false, ..MockConfig::default() }
}

/// A server with the GitHub plugin and an integration registered as GitHub's docs describe one: the client
/// credentials go in the body ("use body authentication").
async fn github(config: MockConfig) -> (Api, String) {
    let api = start(App::Github, config).await;
    assert_eq!(install(&api, GITHUB).await["name"], "github");
    let integration = api
        .integration(json!({
            "name": "github",
            "plugin": "github",
            "authorization_url": format!("{}{AUTHORIZE_PATH}", api.mock.base_url()),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "client_auth": "post",
            "scopes": ["repo", "gist"],
        }))
        .await;
    (api, integration)
}

async fn view(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/connections/{id}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_connects_reads_comma_separated_scopes_and_calls_the_rest_api() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    let connection = view(&api, &id).await;
    assert_eq!(connection["scopes"], json!(["repo", "gist"]), "{connection}");
    assert!(connection["expires_at"].is_null(), "an OAuth app's token does not expire: {connection}");
    let exchange = &api.mock.requests_to(TOKEN_PATH)[0];
    assert_eq!(exchange.header("accept"), Some("application/json"));
    assert!(exchange.form_param("client_secret").is_some(), "credentials in the body");

    // `/user` resolves below the server's `/api/v3`, with the bearer token and the host's User-Agent.
    let key = api.admin_key.clone();
    let answer = api.web(&key, &id, json!({"method": "GET", "path": "/user"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["login"], LOGIN);
    let call = api.mock.requests_to(USER_PATH).pop().expect("the API call reached GitHub");
    assert!(call.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{call:?}");
    assert!(call.header("user-agent").is_some_and(|ua| ua.starts_with("keyway/")), "{call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn githubs_default_form_encoded_answer_is_read() {
    let (api, integration) = github(oauth_app()).await;
    // The documented default answer, byte for byte.
    api.mock.respond_next_token_request(
        200,
        "application/x-www-form-urlencoded; charset=utf-8",
        "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer",
    );
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    let connection = view(&api, &id).await;
    assert_eq!(connection["scopes"], json!(["repo", "gist"]), "{connection}");
    assert!(connection["expires_at"].is_null(), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_github_refuses_with_http_200_fails_the_connection() {
    let (api, integration) = github(oauth_app()).await;
    let (id, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    let error = connection["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("bad_verification_code"), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_app_refreshes_and_a_dead_refresh_token_needs_reauthorization() {
    let (api, integration) = github(MockConfig { access_token_ttl: Some(28_800), ..MockConfig::default() }).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    assert!(view(&api, &id).await["expires_at"].is_string());

    let refresh = format!("/api/v1/connections/{id}/refresh");
    let refreshed = api.admin(Method::POST, &refresh, None).await.expect(200);
    assert_eq!(refreshed["status"], "active", "{refreshed}");
    let sent = &api.mock.requests_to(TOKEN_PATH)[1];
    assert_eq!(sent.form_param("grant_type").as_deref(), Some("refresh_token"));
    let key = api.admin_key.clone();
    let answer = api.web(&key, &id, json!({"method": "GET", "path": "/user"})).await.expect(200);
    assert_eq!(answer["status"], 200, "the refreshed token works: {answer}");

    // GitHub's answer to a refresh token it no longer honours (HTTP 200).
    api.mock.respond_next_token_request(
        200,
        "application/json",
        r#"{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired.","error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"}"#,
    );
    let refused = api.admin(Method::POST, &refresh, None).await;
    assert!(refused.status >= 400, "{}", refused.text);
    let connection = view(&api, &id).await;
    assert_eq!(connection["status"], "needs_reauth", "{connection}");
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("bad_refresh_token"), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_deletes_the_grant_through_the_rest_api() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
    let client_id = api.mock.config().client_id;
    let sent = api.mock.requests_to(&format!("/api/v3/applications/{client_id}/grant")).pop().expect("a revocation");
    assert_eq!(sent.method, "DELETE");
    assert!(sent.header("authorization").is_some_and(|a| a.starts_with("Basic ")), "{sent:?}");
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    let token = body["access_token"].as_str().expect("the access token");
    assert!(api.mock.is_revoked(token));
}

/// `POST /api/v1/connections/{id}/actions/{name}` with `{"input": input}`, as the admin.
async fn run_action(api: &Api, id: &str, name: &str, input: Value) -> Reply {
    api.admin(Method::POST, &format!("/api/v1/connections/{id}/actions/{name}"), Some(json!({ "input": input }))).await
}

/// The `(method, path, status)` of each call in an action's `calls` summary.
fn calls(outcome: &Value) -> Vec<(String, String, Option<u64>)> {
    let calls = outcome["calls"].as_array().unwrap_or_else(|| panic!("no calls in {outcome}"));
    calls
        .iter()
        .map(|c| {
            (c["method"].as_str().unwrap().to_owned(), c["path"].as_str().unwrap().to_owned(), c["status"].as_u64())
        })
        .collect()
}

fn call(method: &str, path: &str, status: u64) -> (String, String, Option<u64>) {
    (method.to_owned(), path.to_owned(), Some(status))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_issue_with_labels_creates_only_the_missing_labels_then_the_issue() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    api.mock.clear_requests();

    let input = json!({
        "owner": LOGIN,
        "repo": "Hello-World",
        "title": "Crash on start",
        "body": "Steps to reproduce: start it.",
        "labels": ["bug", "triage", "needs-repro", "Triage"],
    });
    let outcome = run_action(&api, &id, "create-issue-with-labels", input).await.expect(200);
    let base = api.mock.base_url();
    assert_eq!(
        outcome["output"],
        json!({
            "number": 1,
            "url": format!("{base}/{LOGIN}/Hello-World/issues/1"),
            "created_labels": ["triage", "needs-repro"],
        }),
        "`bug` exists, and `Triage` is `triage` to GitHub: {outcome}"
    );

    // What GitHub saw: one list of labels, the two missing labels, then the issue with every label.
    let labels_path = format!("/api/v3/repos/{LOGIN}/Hello-World/labels");
    let issues_path = format!("/api/v3/repos/{LOGIN}/Hello-World/issues");
    let seen: Vec<(String, String)> = api.mock.requests().iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    let expected = [("GET", &labels_path), ("POST", &labels_path), ("POST", &labels_path), ("POST", &issues_path)];
    assert_eq!(seen, expected.map(|(m, p)| (m.to_owned(), p.clone())));
    let requests = api.mock.requests();
    assert_eq!(requests[0].query_param("per_page"), Some("100"));
    let body = |i: usize| serde_json::from_slice::<Value>(&requests[i].body).unwrap();
    assert_eq!((body(1), body(2)), (json!({"name": "triage"}), json!({"name": "needs-repro"})));
    assert_eq!(
        body(3),
        json!({
            "title": "Crash on start",
            "body": "Steps to reproduce: start it.",
            "labels": ["bug", "triage", "needs-repro", "Triage"],
        })
    );
    for request in &requests {
        assert!(request.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{request:?}");
        assert!(request.header("user-agent").is_some(), "{request:?}");
    }
    assert_eq!(
        calls(&outcome),
        [
            call("GET", "/repos/octocat/Hello-World/labels", 200),
            call("POST", "/repos/octocat/Hello-World/labels", 201),
            call("POST", "/repos/octocat/Hello-World/labels", 201),
            call("POST", "/repos/octocat/Hello-World/issues", 201),
        ]
    );

    // Once the labels exist, the action creates none and the issue gets the next number.
    api.mock.clear_requests();
    let again = json!({"owner": LOGIN, "repo": "Hello-World", "title": "Another", "labels": ["triage", "BUG"]});
    let outcome = run_action(&api, &id, "create-issue-with-labels", again).await.expect(200);
    assert_eq!(outcome["output"]["number"], 2, "{outcome}");
    assert_eq!(outcome["output"]["created_labels"], json!([]), "{outcome}");
    assert_eq!(api.mock.requests().iter().filter(|r| r.method == "POST").count(), 1, "only the issue");
    let issue = serde_json::from_slice::<Value>(&api.mock.requests_to(&issues_path)[0].body).unwrap();
    assert!(issue.get("body").is_none(), "no body was given, so none is sent: {issue}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_issue_with_labels_reports_what_github_refused() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    let input = json!({"owner": LOGIN, "repo": "no-such-repo", "title": "t", "labels": ["bug"]});
    let (code, _, message) = run_action(&api, &id, "create-issue-with-labels", input).await.error(502);
    assert_eq!(code, "upstream_error");
    // The SDK's error names the call, GitHub's status and what to check.
    assert!(message.contains("`GET /repos/octocat/no-such-repo/labels` answered HTTP 404"), "{message}");
    assert!(message.contains("check the names in the input"), "{message}");
    assert!(api.mock.requests_to(&format!("/api/v3/repos/{LOGIN}/no-such-repo/issues")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_repositories_follows_link_pagination_through_a_429() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    api.mock.clear_requests();
    // The first page goes through; the second is answered 429 with `Retry-After: 1` once.
    api.mock.rate_limit_api_request(1);

    let outcome = run_action(&api, &id, "list-repositories", json!({"per_page": 3})).await.expect(200);
    let output = &outcome["output"];
    assert_eq!(output["count"], REPOSITORIES.len(), "{outcome}");
    let base = api.mock.base_url();
    let expected: Vec<Value> = REPOSITORIES
        .iter()
        .map(|(name, private)| {
            json!({
                "full_name": format!("{LOGIN}/{name}"),
                "private": private,
                "html_url": format!("{base}/{LOGIN}/{name}"),
            })
        })
        .collect();
    assert_eq!(output["repositories"], json!(expected), "every repository of every page, in order");

    // Pages 1, 2 (429), 2 again and 3, each next page taken from the `Link` header GitHub sent.
    let pages: Vec<(Option<String>, Option<String>)> = api
        .mock
        .requests_to(USER_REPOS_PATH)
        .iter()
        .map(|r| (r.query_param("page").map(str::to_owned), r.query_param("per_page").map(str::to_owned)))
        .collect();
    let page = |n: Option<&str>| (n.map(str::to_owned), Some("3".to_owned()));
    assert_eq!(pages, [page(None), page(Some("2")), page(Some("2")), page(Some("3"))], "the 429'd page is asked twice");
    let statuses: Vec<Option<u64>> = calls(&outcome).into_iter().map(|(_, _, status)| status).collect();
    assert_eq!(statuses, [Some(200), Some(429), Some(200), Some(200)], "{outcome}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_repositories_passes_visibility_and_reads_one_page_by_default() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    api.mock.clear_requests();
    let outcome = run_action(&api, &id, "list-repositories", json!({"visibility": "private"})).await.expect(200);
    let names: Vec<&str> = outcome["output"]["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["octocat/secret-plans", "octocat/dotfiles"]);
    let sent = api.mock.requests_to(USER_REPOS_PATH);
    assert_eq!(sent.len(), 1, "100 a page fits every repository");
    assert_eq!((sent[0].query_param("per_page"), sent[0].query_param("visibility")), (Some("100"), Some("private")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_input_that_breaks_the_schema_is_refused_naming_the_field() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    api.mock.clear_requests();

    let no_title = json!({"owner": LOGIN, "repo": "Hello-World", "labels": ["bug"]});
    let (_, field, message) = run_action(&api, &id, "create-issue-with-labels", no_title).await.error(400);
    assert!(field.as_deref().is_some_and(|f| f.contains("title")), "{field:?}: {message}");
    assert!(message.contains("title"), "{message}");

    let bad_repo = json!({"owner": LOGIN, "repo": "a/b", "title": "t", "labels": []});
    let (_, field, message) = run_action(&api, &id, "create-issue-with-labels", bad_repo).await.error(400);
    assert!(field.as_deref().is_some_and(|f| f.contains("repo")), "{field:?}: {message}");

    let (_, field, message) = run_action(&api, &id, "list-repositories", json!({"per_page": 500})).await.error(400);
    assert!(field.as_deref().is_some_and(|f| f.contains("per_page")), "{field:?}: {message}");
    let (_, field, message) = run_action(&api, &id, "list-repositories", json!({"sort": "updated"})).await.error(400);
    assert!(message.contains("sort") || field.as_deref().is_some_and(|f| f.contains("sort")), "{field:?}: {message}");

    assert!(api.mock.requests().is_empty(), "refused input never reaches GitHub");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn githubs_plugin_actions_are_mcp_tools_with_their_manifest_schemas() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    let listed = api.get(&format!("/api/v1/integrations/{integration}/actions")).await;
    let actions = listed["items"].as_array().expect("the plugin's actions");
    assert!(!actions.is_empty(), "{listed}");

    let url = format!("{}/mcp/connections/{id}", api.base);
    let mcp = crate::mcp::mcp_client(&url, &api.admin_key, &[]).await.expect("the MCP client initializes");
    let tools = mcp.list_all_tools().await.expect("tools/list");
    for action in actions {
        let tool = tools.iter().find(|t| t.name == action["name"].as_str().unwrap()).expect("each action is a tool");
        assert_eq!(tool.description.as_deref(), action["description"].as_str());
        assert_eq!(action["input_schema"]["type"], "object", "GitHub's actions take objects");
        assert_eq!(Value::Object((*tool.input_schema).clone()), action["input_schema"], "the manifest's schema");
    }

    let input = json!({"owner": LOGIN, "repo": "Hello-World", "title": "Crash on start", "labels": ["bug"]});
    let result = crate::mcp::call(&mcp, "create-issue-with-labels", input).await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let outcome = result.structured_content.expect("structured content");
    assert_eq!(outcome["output"]["number"], 1, "{outcome}");
    assert_eq!(calls(&outcome).last(), Some(&call("POST", "/repos/octocat/Hello-World/issues", 201)));
}
