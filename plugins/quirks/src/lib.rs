//! The callback and API-auth quirks some apps have, in one small plugin: the code comes back as
//! `spapi_oauth_code` (Amazon's Selling Partner API,
//! https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow); the callback's `realmId` is kept
//! on the connection and names the company in the API base, `{site}/v3/company/{realmId}` (QuickBooks Online,
//! https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0); and the
//! API takes the token in an `Access-Token` header rather than `Authorization: Bearer`.

use keyway_sdk::form;
use keyway_sdk::prelude::*;

/// The callback's name for the authorization code.
const CODE_PARAM: &str = "spapi_oauth_code";

#[derive(Default)]
struct Quirks;

impl Plugin for Quirks {
    fn manifest(&self) -> Manifest {
        let mut manifest = standard::manifest();
        manifest.callback.code = CODE_PARAM.into();
        manifest
    }

    fn parse_callback(&self, _: &HookContext, query: &[(String, String)]) -> Result<CallbackResult, AuthError> {
        let mut callback = standard::parse_callback_with(query, CODE_PARAM)?;
        let Some(realm_id) = form::get(query, "realmId") else {
            return Err(AuthError::InvalidResponse("the callback has no `realmId`: the user chose no company".into()));
        };
        callback.metadata.push(("realmId".into(), realm_id.into()));
        Ok(callback)
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        let realm_id = ctx.metadata("realmId").ok_or_else(|| {
            AuthError::InvalidConfig("the connection has no `realmId`; reconnect it to choose a company".into())
        })?;
        Ok(format!("{}/v3/company/{}", standard::api_base(ctx)?, form::encode_component(realm_id)))
    }

    fn api_auth(&self, _: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        Ok(vec![AuthPlacement::header("Access-Token", "{access_token}")])
    }
}

keyway_sdk::export!(Quirks);
