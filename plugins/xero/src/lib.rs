//! Xero (https://developer.xero.com/documentation/guides/oauth2/auth-flow).
//!
//! - The authorize URL (`https://login.xero.com/identity/connect/authorize`) and the token requests
//!   (`https://identity.xero.com/connect/token`, a form with `Authorization: Basic`) are standard; register the
//!   integration with `client_auth = "basic"` and revoke path `/connect/revocation` (RFC 7009's `token`).
//! - Refresh tokens (with the `offline_access` scope) rotate on every refresh and each lives 60 days
//!   (https://developer.xero.com/documentation/guides/oauth2/token-types/#refresh-token); the answer does not
//!   say so, so the plugin gives every refresh token it sees that expiry.
//! - One authorization may connect several organisations. After the exchange, `GET https://api.xero.com/connections`
//!   lists them (https://developer.xero.com/documentation/guides/oauth2/tenants); the first one's `tenantId` is kept
//!   as the connection's `tenant_id` (with its `tenant_name`), and every API call carries it as `xero-tenant-id`,
//!   with `Accept: application/json` (the accounting API answers XML otherwise).
//! - The API base is `https://api.xero.com/api.xro/2.0`; setting `api_url` moves `https://api.xero.com`.

use keyway_sdk::http;
use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::json;

/// Where `/connections` and the accounting API live unless `api_url` says otherwise.
const API: &str = "https://api.xero.com";
/// A refresh token's lifetime: 60 days.
const REFRESH_TOKEN_SECONDS: u64 = 60 * 24 * 3600;

#[derive(Default)]
struct Xero;

fn api(ctx: &HookContext) -> String {
    ctx.setting_str("api_url").unwrap_or_else(|| API.into()).trim_end_matches('/').to_string()
}

impl Plugin for Xero {
    fn manifest(&self) -> Manifest {
        let api_url = SettingSpec {
            name: "api_url".into(),
            description: "Xero's API host: /connections and the accounting API".into(),
            required: false,
            default: Some(json!(API).to_string()),
            secret: false,
        };
        Manifest { hosts: vec![API.into()], settings: vec![api_url], ..standard::manifest() }
    }

    fn parse_token_response(&self, ctx: &HookContext, grant: &Grant, r: &HttpResponse) -> Result<TokenSet, AuthError> {
        let mut tokens = standard::parse_token_response(ctx, grant, r)?;
        if tokens.refresh_token.is_some() {
            tokens.refresh_expiry = Some(Expiry::ExpiresIn(REFRESH_TOKEN_SECONDS));
        }
        if let Grant::AuthorizationCode(_) = grant {
            let bearer = format!("Bearer {}", tokens.access_token);
            let request = HttpRequest::get(format!("{}/connections", api(ctx))).with_header("Authorization", bearer);
            let tenants = standard::parse_body(&http::send(&request.with_header("Accept", "application/json"))?)?;
            let Some(tenant_id) = tenants[0]["tenantId"].as_str() else {
                return Err(AuthError::InvalidResponse(format!("/connections named no tenant: {tenants}")));
            };
            tokens.metadata.push(("tenant_id".into(), tenant_id.into()));
            tokens
                .metadata
                .extend(tenants[0]["tenantName"].as_str().map(|n| ("tenant_name".to_string(), n.to_string())));
        }
        Ok(tokens)
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        Ok(format!("{}/api.xro/2.0", api(ctx)))
    }

    fn api_auth(&self, ctx: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        let mut placements = standard::api_auth(ctx)?;
        placements.push(AuthPlacement::Header(("xero-tenant-id".into(), "{metadata.tenant_id}".into())));
        placements.push(AuthPlacement::Header(("Accept".into(), "application/json".into())));
        Ok(placements)
    }
}

keyway_sdk::export!(Xero);
