//! GitHub (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps) and GitHub
//! Enterprise Server. The standard token request already sends the `Accept: application/json` GitHub needs to
//! answer in JSON, and the standard parser reads GitHub's form-encoded default as well as its errors that come with
//! HTTP 200 (`bad_verification_code`) and its missing `expires_in`. What differs: the granted scopes are
//! comma-separated, a GitHub App's dead refresh token is `bad_refresh_token`, the REST API lives on its own host
//! (or below `/api/v3` on a server), and revocation is an API call.

use keyway_sdk::prelude::*;
use keyway_sdk::{basic_auth, form, serde_json::json};

/// The REST API of github.com; a GitHub Enterprise Server serves it at `{site}/api/v3`.
const GITHUB_API: &str = "https://api.github.com";

#[derive(Default)]
struct GitHub;

impl Plugin for GitHub {
    fn manifest(&self) -> Manifest {
        Manifest { hosts: vec![GITHUB_API.into()], ..standard::manifest() }
    }

    fn parse_token_response(
        &self,
        ctx: &HookContext,
        grant: &Grant,
        res: &HttpResponse,
    ) -> Result<TokenSet, AuthError> {
        // A refresh token GitHub no longer honours means the user must connect again, as `invalid_grant` says.
        let mut tokens = standard::parse_token_response(ctx, grant, res).map_err(|error| match error {
            AuthError::Provider(mut e) if e.code == "bad_refresh_token" => {
                e.description = Some(format!("GitHub: bad_refresh_token: {}", e.description.unwrap_or_default()));
                e.code = "invalid_grant".into();
                AuthError::Provider(e)
            }
            other => other,
        })?;
        tokens.scopes = standard::parse_body(res)?["scope"].as_str().map(standard::split_scopes);
        Ok(tokens)
    }

    /// Deletes the app's authorization, which revokes every token of the grant
    /// (https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-authorization). GitHub revokes by
    /// access token only, so a GitHub App's refresh token cannot be revoked.
    fn revoke_request(&self, ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        if target.token_type_hint != "access_token" {
            return Ok(None);
        }
        let client = &ctx.integration;
        let url = format!("{}/applications/{}/grant", self.api_base(ctx)?, form::encode_component(&client.client_id));
        let mut request = HttpRequest::new("DELETE", url)
            .with_header("Accept", "application/vnd.github+json")
            .with_header("Authorization", basic_auth(&client.client_id, &client.client_secret));
        request.set_json_body(&json!({ "access_token": target.token }));
        Ok(Some(request))
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        let site = standard::api_base(ctx)?;
        Ok(if site == "https://github.com" { GITHUB_API.into() } else { format!("{site}/api/v3") })
    }
}

keyway_sdk::export!(GitHub);
