//! Atlassian (Jira Cloud) OAuth 2.0 (3LO) apps (https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/).
//!
//! - The authorization URL (`https://auth.atlassian.com/authorize`) takes `audience=api.atlassian.com` and
//!   `prompt=consent` besides the standard parameters; the page documents no PKCE parameters.
//! - The token requests (`https://auth.atlassian.com/oauth/token`) are JSON, the client's id and secret in the body:
//!   `{grant_type, client_id, client_secret, code, redirect_uri}`, or `{grant_type: "refresh_token", client_id,
//!   client_secret, refresh_token}`. Refresh tokens (with the `offline_access` scope) rotate: each refresh answers a
//!   new one, which the host keeps.
//! - After the exchange, `GET https://api.atlassian.com/oauth/token/accessible-resources` lists the sites the token
//!   may reach ("Get the cloudid for your site"); the first one's `id` is kept as the connection's `cloudid`, its
//!   `url` as `site_url`, and the API base becomes `https://api.atlassian.com/ex/jira/{cloudid}`: a fixed host, the
//!   site chosen by a path from metadata. Setting `api_url` moves `https://api.atlassian.com`.
//! - Atlassian documents no revocation endpoint for 3LO tokens: leave the revoke path empty.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::json;
use keyway_sdk::{form, http};

/// Where `accessible-resources` and the API live unless `api_url` says otherwise.
const API: &str = "https://api.atlassian.com";

#[derive(Default)]
struct Atlassian;

fn api(ctx: &HookContext) -> String {
    ctx.setting_str("api_url").unwrap_or_else(|| API.into()).trim_end_matches('/').to_string()
}

impl Plugin for Atlassian {
    fn manifest(&self) -> Manifest {
        let api_url = SettingSpec {
            name: "api_url".into(),
            description: "Atlassian's API gateway: accessible-resources and the Jira REST API".into(),
            required: false,
            default: Some(json!(API).to_string()),
            secret: false,
        };
        let mut manifest = Manifest { hosts: vec![API.into()], settings: vec![api_url], ..standard::manifest() };
        manifest.pkce = PkceSupport::Unsupported;
        manifest
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let url = standard::authorize_url(ctx, req)?;
        Ok(keyway_sdk::url::append_query(&url, &[("audience", "api.atlassian.com"), ("prompt", "consent")]))
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let mut request = standard::token_request(ctx, grant)?;
        request.remove_header("Authorization");
        request.set_form_field("client_id", &ctx.integration.client_id);
        request.set_form_field("client_secret", &ctx.integration.client_secret);
        request.form_to_json_body();
        Ok(request)
    }

    fn parse_token_response(&self, ctx: &HookContext, grant: &Grant, r: &HttpResponse) -> Result<TokenSet, AuthError> {
        let mut tokens = standard::parse_token_response(ctx, grant, r)?;
        if let Grant::AuthorizationCode(_) = grant {
            let url = format!("{}/oauth/token/accessible-resources", api(ctx));
            let bearer = format!("Bearer {}", tokens.access_token);
            let sites =
                standard::parse_body(&http::send(&HttpRequest::get(url).with_header("Authorization", bearer))?)?;
            let Some(cloud_id) = sites[0]["id"].as_str() else {
                return Err(AuthError::InvalidResponse(format!("accessible-resources named no Jira site: {sites}")));
            };
            tokens.metadata.push(("cloudid".into(), cloud_id.into()));
            tokens.metadata.extend(sites[0]["url"].as_str().map(|url| ("site_url".to_string(), url.to_string())));
        }
        Ok(tokens)
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        let cloud_id = ctx.metadata("cloudid").ok_or_else(|| {
            AuthError::InvalidConfig("the connection has no `cloudid`; reconnect it to choose a Jira site".into())
        })?;
        Ok(format!("{}/ex/jira/{}", api(ctx), form::encode_component(cloud_id)))
    }
}

keyway_sdk::export!(Atlassian);
