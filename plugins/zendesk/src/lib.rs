//! Zendesk (https://developer.zendesk.com/documentation/ticketing/working-with-oauth/using-oauth-authentication-with-your-application/).
//! Every account has a host of its own: the connection's `subdomain` goes in front of the integration's site host
//! (`https://zendesk.com` becomes `https://acme.zendesk.com`) for the authorize URL, the token requests and the
//! API. The token requests send `expires_in`, without which Zendesk issues a token that never expires and no
//! refresh token (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/); the
//! `expires_in` setting chooses the lifetime, and 0 asks for such a token.

use keyway_sdk::prelude::*;

/// The access token lifetime asked for unless the integration's `expires_in` setting says otherwise: two days,
/// Zendesk's longest.
const EXPIRES_IN: u64 = 172_800;

#[derive(Default)]
struct Zendesk;

/// `url` on the connection's account: its `subdomain` in front of the host.
fn on_account(ctx: &HookContext, url: &str) -> Result<String, AuthError> {
    let subdomain = ctx.input("subdomain").ok_or_else(|| {
        AuthError::InvalidConfig("the connection has no `subdomain`: give the Zendesk account's subdomain".into())
    })?;
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| AuthError::InvalidConfig(format!("`{url}` is not absolute")))?;
    Ok(format!("{scheme}://{subdomain}.{rest}"))
}

impl Plugin for Zendesk {
    fn manifest(&self) -> Manifest {
        let subdomain = InputSpec::new("subdomain", "Zendesk subdomain (`acme` for acme.zendesk.com)")
            .pattern("[a-z0-9][a-z0-9-]{0,62}")
            .required();
        let lifetime = "Access token lifetime to ask for, in seconds (300 to 172800); 0 asks for none: a token that \
                        never expires, without a refresh token";
        let expires_in = SettingSpec::new("expires_in", lifetime).with_default(EXPIRES_IN);
        Manifest {
            hosts: vec!["{site_scheme}://{subdomain}.{site_host}".into()],
            inputs: vec![subdomain],
            settings: vec![expires_in],
            ..standard::manifest()
        }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        on_account(ctx, &standard::authorize_url(ctx, req)?)
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let mut request = standard::token_request(ctx, grant)?;
        request.url = on_account(ctx, &request.url)?;
        match ctx.settings()["expires_in"].as_u64().unwrap_or(EXPIRES_IN) {
            0 => {}
            expires_in => request.set_form_field("expires_in", &expires_in.to_string()),
        }
        Ok(request)
    }

    /// "Revoke token" revokes the access token it is called with
    /// (https://developer.zendesk.com/api-reference/ticketing/oauth/oauth_tokens/#revoke-token), also when the
    /// connection holds a refresh token.
    fn revoke_request(&self, ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        let url = format!("{}/api/v2/oauth/tokens/current.json", self.api_base(ctx)?);
        let bearer = format!("Bearer {}", target.access_token);
        Ok(Some(HttpRequest::new("DELETE", url).with_header("Authorization", bearer)))
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        on_account(ctx, &standard::api_base(ctx)?)
    }
}

keyway_sdk::export!(Zendesk);
