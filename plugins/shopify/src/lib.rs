//! Shopify's authorization code grant
//! (https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant).
//!
//! - Every shop has a host of its own: the connection's `shop` input goes in front of the site's host
//!   (`https://myshopify.com` becomes `https://acme.myshopify.com`) for the authorize URL, the token request and
//!   the API. Register `authorization_url` `https://myshopify.com/admin/oauth/authorize` and token path
//!   `/admin/oauth/access_token`.
//! - The authorize URL has `client_id`, `scope` comma-separated, `redirect_uri` and `state`: no `response_type`,
//!   and no PKCE.
//! - The callback is verified as "Step 3: Validate authorization code" says: `hmac` must be the hex HMAC-SHA256,
//!   keyed with the client secret, of the other parameters sorted by name and joined as a query string, and `shop`
//!   must be the shop the user was sent to (`{shop}.myshopify.com`). Either failing ends the flow.
//! - The token request is JSON `{client_id, client_secret, code}` ("Step 4"); the answer is an offline token, with
//!   `scope` comma-separated, that neither expires nor refreshes.
//! - API calls take the token in `X-Shopify-Access-Token` (https://shopify.dev/docs/api/usage/authentication); the
//!   base is `https://{shop}.myshopify.com/admin/api/{api_version}` (setting `api_version`, default `2025-01`).

use hmac::{Hmac, Mac};
use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::json;
use keyway_sdk::{InputSpec, form, url};
use sha2::Sha256;

#[derive(Default)]
struct Shopify;

/// `url` on the connection's shop: its name in front of the host.
fn on_shop(ctx: &HookContext, url: &str) -> Result<String, AuthError> {
    let shop = ctx.input("shop").ok_or_else(|| AuthError::InvalidConfig("the connection has no `shop`".into()))?;
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| AuthError::InvalidConfig(format!("`{url}` is not absolute")))?;
    Ok(format!("{scheme}://{shop}.{rest}"))
}

impl Plugin for Shopify {
    fn manifest(&self) -> Manifest {
        // The host admits the shop as one DNS label, as the manifest places it in a host.
        let shop = InputSpec { name: "shop".into(), label: "Shop name (acme)".into(), pattern: None, required: true };
        let hosts = vec!["{site_scheme}://{shop}.{site_host}".into()];
        Manifest { hosts, inputs: vec![shop], pkce: PkceSupport::Unsupported, ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let url =
            url::replace_query_param(&standard::authorize_url(ctx, req)?, "scope", &ctx.integration.scopes.join(","));
        on_shop(ctx, &url::remove_query_param(&url, "response_type"))
    }

    fn parse_callback(&self, ctx: &HookContext, query: &[(String, String)]) -> Result<CallbackResult, AuthError> {
        let mut signed: Vec<_> = query.iter().filter(|(name, _)| name != "hmac").cloned().collect();
        signed.sort();
        let mut mac = Hmac::<Sha256>::new_from_slice(ctx.integration.client_secret.as_bytes()).expect("any key length");
        mac.update(form::encode(&signed).as_bytes());
        let hmac = form::get(query, "hmac").and_then(|h| hex::decode(h).ok()).unwrap_or_default();
        let forged = "the callback's `hmac` does not verify with the client secret: Shopify did not send it";
        mac.verify_slice(&hmac).map_err(|_| AuthError::InvalidResponse(forged.into()))?;
        // The shop's host name as the callback names it, `acme.myshopify.com`: without the site's scheme and port.
        let shop = on_shop(ctx, &ctx.integration.site)?;
        let shop = shop.split("://").nth(1).and_then(|rest| rest.split([':', '/']).next());
        if form::get(query, "shop") != shop {
            return Err(AuthError::InvalidResponse(format!("the callback is for another shop than {shop:?}")));
        }
        standard::parse_callback(ctx, query)
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        // Offline tokens never expire and come without a refresh token, which the standard request says.
        let Grant::AuthorizationCode(code) = grant else { return standard::token_request(ctx, grant) };
        let (id, secret) = (&ctx.integration.client_id, &ctx.integration.client_secret);
        let body = json!({"client_id": id, "client_secret": secret, "code": code.code});
        Ok(HttpRequest::post_json(on_shop(ctx, &ctx.integration.token_url())?, &body))
    }

    fn parse_token_response(&self, ctx: &HookContext, grant: &Grant, r: &HttpResponse) -> Result<TokenSet, AuthError> {
        let mut tokens = standard::parse_token_response(ctx, grant, r)?;
        tokens.scopes = tokens.scopes.map(|scopes| standard::split_scopes(&scopes.join(" ")));
        Ok(tokens)
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        Ok(format!("{}/admin", on_shop(ctx, &standard::api_base(ctx)?)?))
    }

    fn api_auth(&self, _: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        Ok(vec![AuthPlacement::Header(("X-Shopify-Access-Token".into(), "{access_token}".into()))])
    }
}

keyway_sdk::export!(Shopify);
