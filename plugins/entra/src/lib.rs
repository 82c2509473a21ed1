//! Microsoft Entra ID, the Microsoft identity platform's v2.0 endpoints
//! (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow).
//!
//! - Every endpoint names the directory as its first path segment: `https://login.microsoftonline.com/{tenant}/
//!   oauth2/v2.0/authorize` and `.../token`, `{tenant}` being `common`, `organizations`, `consumers`, a tenant id or
//!   a domain such as `contoso.onmicrosoft.com` (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols#endpoints).
//!   The admin registers the v2 paths without it (`/oauth2/v2.0/authorize`, token path `/oauth2/v2.0/token`); the
//!   connection's `tenant` input goes in front. The manifest places it in a path (`{site}/{tenant}`), so the host
//!   admits it as one path segment: dots are fine, `/ ? # %` are not.
//! - v2 asks for scopes, never a `resource`, and the token requests repeat `scope`, which a refresh must send
//!   (same page, "Refresh the access token"). Without configured scopes the plugin asks for
//!   `https://graph.microsoft.com/.default`, the permissions configured on the app registration
//!   (https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc#the-default-scope), and
//!   `offline_access`, without which there is no refresh token.
//! - The API is Microsoft Graph, `https://graph.microsoft.com/v1.0` (setting `graph_url` moves it), with the
//!   standard `Authorization: Bearer`. There is no revocation endpoint: leave the revoke path empty.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::json;
use keyway_sdk::{InputSpec, url};

/// Microsoft Graph, the API the tokens are for unless `graph_url` says otherwise.
const GRAPH: &str = "https://graph.microsoft.com";

#[derive(Default)]
struct Entra;

/// `url` with the connection's tenant as its first path segment.
fn on_tenant(ctx: &HookContext, url: &str) -> Result<String, AuthError> {
    let tenant = ctx.input("tenant").ok_or_else(|| {
        AuthError::InvalidConfig("the connection has no `tenant`: give a tenant id, a domain, or `common`".into())
    })?;
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| AuthError::InvalidConfig(format!("`{url}` is not absolute")))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok(format!("{scheme}://{host}/{tenant}/{path}"))
}

/// The scopes to ask for: the integration's, or Graph's `.default` with `offline_access`.
fn scopes(ctx: &HookContext) -> String {
    match ctx.integration.scopes.is_empty() {
        true => format!("{GRAPH}/.default offline_access"),
        false => ctx.integration.scopes.join(" "),
    }
}

impl Plugin for Entra {
    fn manifest(&self) -> Manifest {
        let tenant = InputSpec {
            name: "tenant".into(),
            label: "Directory (tenant): its id, a domain such as contoso.onmicrosoft.com, or common".into(),
            pattern: Some("[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*".into()),
            required: true,
        };
        let graph_url = SettingSpec {
            name: "graph_url".into(),
            description: "Microsoft Graph's URL, the API base without `/v1.0`".into(),
            required: false,
            default: Some(json!(GRAPH).to_string()),
            secret: false,
        };
        let hosts = vec!["{site_scheme}://{site_host}/{tenant}".into(), GRAPH.into()];
        Manifest { hosts, inputs: vec![tenant], settings: vec![graph_url], ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        on_tenant(ctx, &url::replace_query_param(&standard::authorize_url(ctx, req)?, "scope", &scopes(ctx)))
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let mut request = standard::token_request(ctx, grant)?;
        request.set_form_field("scope", &scopes(ctx));
        request.url = on_tenant(ctx, &request.url)?;
        Ok(request)
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        Ok(format!("{}/v1.0", ctx.setting_str("graph_url").unwrap_or_else(|| GRAPH.into()).trim_end_matches('/')))
    }
}

keyway_sdk::export!(Entra);
