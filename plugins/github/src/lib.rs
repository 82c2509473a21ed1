//! GitHub (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps) and GitHub
//! Enterprise Server. The standard token request already sends the `Accept: application/json` GitHub needs to
//! answer in JSON, and the standard parser reads GitHub's form-encoded default as well as its errors that come with
//! HTTP 200 (`bad_verification_code`) and its missing `expires_in`. What differs: the granted scopes are
//! comma-separated, a GitHub App's dead refresh token is `bad_refresh_token`, the REST API lives on its own host
//! (or below `/api/v3` on a server), and revocation is an API call.
//!
//! Two actions use the REST API through the connection: `create-issue-with-labels` and `list-repositories`.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::{Value, json};
use keyway_sdk::{basic_auth, form};
use serde::{Deserialize, Serialize};

/// The REST API of github.com; a GitHub Enterprise Server serves it at `{site}/api/v3`.
const GITHUB_API: &str = "https://api.github.com";

#[derive(Default)]
struct GitHub;

impl Plugin for GitHub {
    fn manifest(&self) -> Manifest {
        Manifest {
            hosts: vec![GITHUB_API.into()],
            actions: vec![create_issue_with_labels_spec(), list_repositories_spec()],
            ..standard::manifest()
        }
    }

    fn parse_token_response(&self, _: &HookContext, _: &Grant, res: &HttpResponse) -> Result<TokenSet, AuthError> {
        // A refresh token GitHub no longer honours means the user must connect again, as `invalid_grant` says.
        let invalid_grant = &["bad_refresh_token"];
        TokenFields { scope_separator: ScopeSeparator::Comma, invalid_grant, ..TokenFields::STANDARD }.parse(res)
    }

    /// Deletes the app's authorization, which revokes every token of the grant
    /// (https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-authorization). GitHub takes the
    /// access token, also when the connection holds a GitHub App's refresh token: deleting the grant ends both.
    fn revoke_request(&self, ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        let client = &ctx.integration;
        let url = format!("{}/applications/{}/grant", self.api_base(ctx)?, form::encode_component(&client.client_id));
        let mut request = HttpRequest::new("DELETE", url)
            .with_header("Accept", "application/vnd.github+json")
            .with_header("Authorization", basic_auth(&client.client_id, &client.client_secret));
        request.set_json_body(&json!({ "access_token": target.access_token }));
        Ok(Some(request))
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        let site = standard::api_base(ctx)?;
        Ok(if site == "https://github.com" { GITHUB_API.into() } else { format!("{site}/api/v3") })
    }

    fn invoke(&self, ctx: &ActionContext, name: &str, input: Value) -> Result<Value, ActionError> {
        match name {
            CREATE_ISSUE_WITH_LABELS => create_issue_with_labels(action::input(input)?),
            LIST_REPOSITORIES => list_repositories(action::input(input)?),
            _ => standard::invoke(ctx, name, input),
        }
    }
}

const CREATE_ISSUE_WITH_LABELS: &str = "create-issue-with-labels";
const LIST_REPOSITORIES: &str = "list-repositories";

/// What GitHub allows in an owner or repository name; it also keeps the names one path segment each.
const NAME_PATTERN: &str = "^[A-Za-z0-9_.-]+$";

fn create_issue_with_labels_spec() -> ActionSpec {
    let name = |what: &str| json!({"type": "string", "pattern": NAME_PATTERN, "description": what});
    ActionSpec::new(
        CREATE_ISSUE_WITH_LABELS,
        "Creates an issue with labels, first creating the labels the repository does not have yet",
        json!({
            "type": "object",
            "properties": {
                "owner": name("The account that owns the repository: `octocat`"),
                "repo": name("The repository's name, without the owner: `Hello-World`"),
                "title": {"type": "string", "minLength": 1},
                "body": {"type": "string"},
                "labels": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 50},
                    "description": "Label names; the ones the repository lacks are created",
                },
            },
            "required": ["owner", "repo", "title", "labels"],
            "additionalProperties": false,
        }),
        json!({
            "type": "object",
            "properties": {
                "number": {"type": "integer"},
                "url": {"type": "string"},
                "created_labels": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["number", "url", "created_labels"],
            "additionalProperties": false,
        }),
    )
}

fn list_repositories_spec() -> ActionSpec {
    ActionSpec::new(
        LIST_REPOSITORIES,
        "Lists every repository the connected user can access, across all pages",
        json!({
            "type": "object",
            "properties": {
                "per_page": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Page size; default 100"},
                "visibility": {"enum": ["all", "public", "private"], "description": "Default `all`"},
            },
            "additionalProperties": false,
        }),
        json!({
            "type": "object",
            "properties": {
                "repositories": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "full_name": {"type": "string"},
                            "private": {"type": "boolean"},
                            "html_url": {"type": "string"},
                        },
                        "required": ["full_name", "private", "html_url"],
                    },
                },
                "count": {"type": "integer", "minimum": 0},
            },
            "required": ["repositories", "count"],
            "additionalProperties": false,
        }),
    )
}

#[derive(Deserialize)]
struct NewIssue {
    owner: String,
    repo: String,
    title: String,
    body: Option<String>,
    labels: Vec<String>,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    html_url: String,
}

/// Lists the repository's labels, creates the missing ones, then creates the issue with all of them.
fn create_issue_with_labels(input: NewIssue) -> Result<Value, ActionError> {
    let repo = repository_path(&input.owner, &input.repo)?;
    // https://docs.github.com/en/rest/issues/labels#list-labels-for-a-repository, every page
    // (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api).
    let existing: Vec<Label> =
        api::paginate_link(&ApiRequest::get(format!("{repo}/labels")).with_query("per_page", 100)).items()?;
    let mut created = Vec::new();
    for name in missing_labels(&input.labels, &existing) {
        // https://docs.github.com/en/rest/issues/labels#create-a-label
        match api::post(&format!("{repo}/labels"), &json!({ "name": name })) {
            Ok(_) => created.push(name),
            // Created by someone else since we listed them: GitHub's 422 `already_exists`. The issue can use it.
            Err(e) if e.status() == Some(422) && e.body().is_some_and(|b| b.contains("already_exists")) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // https://docs.github.com/en/rest/issues/issues#create-an-issue
    let mut new_issue = json!({ "title": input.title, "labels": input.labels });
    if let Some(body) = input.body {
        new_issue["body"] = json!(body);
    }
    let issue: Issue = api::post(&format!("{repo}/issues"), &new_issue)?.json()?;
    Ok(json!({ "number": issue.number, "url": issue.html_url, "created_labels": created }))
}

/// `/repos/{owner}/{repo}`. The input schema allows only GitHub's name characters; `.` and `..` would still move
/// the path, so they are refused here.
fn repository_path(owner: &str, repo: &str) -> Result<String, ActionError> {
    for (field, value) in [("owner", owner), ("repo", repo)] {
        if value == "." || value == ".." {
            return Err(ActionError::InvalidInput(format!("`{field}` cannot be `{value}`: give the name itself")));
        }
    }
    Ok(format!("/repos/{}/{}", form::encode_component(owner), form::encode_component(repo)))
}

/// The requested labels the repository lacks, once each, in the order asked. GitHub compares label names
/// ignoring case: `Bug` is the existing `bug`.
fn missing_labels(wanted: &[String], existing: &[Label]) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for name in wanted {
        let known = |other: &String| other.eq_ignore_ascii_case(name);
        if !existing.iter().any(|label| known(&label.name)) && !missing.iter().any(known) {
            missing.push(name.clone());
        }
    }
    missing
}

#[derive(Deserialize)]
struct RepositoryListing {
    per_page: Option<u8>,
    visibility: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct Repository {
    full_name: String,
    private: bool,
    html_url: String,
}

/// Every page of the user's repositories, following GitHub's `Link: rel="next"`.
fn list_repositories(input: RepositoryListing) -> Result<Value, ActionError> {
    // https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user: up to 100 a page,
    // the most GitHub allows, so a long list costs the fewest calls.
    let mut request = ApiRequest::get("/user/repos").with_query("per_page", input.per_page.unwrap_or(100));
    if let Some(visibility) = input.visibility {
        request = request.with_query("visibility", visibility);
    }
    let repositories: Vec<Repository> = api::paginate_link(&request).items()?;
    Ok(json!({ "count": repositories.len(), "repositories": repositories }))
}

keyway_sdk::export!(GitHub);
