//! TikTok API for Business, the accounts API (https://business-api.tiktok.com/portal/docs, "TikTok account
//! holders"). What differs from the standard flow: the authorize URL says `client_key` and joins scopes with
//! commas; the token requests are JSON with the client's credentials in them and the code as `auth_code`; a
//! refresh goes to a path of its own; every answer is an envelope `{"code", "message", "request_id", "data"}` whose
//! non-zero `code` is the error, even with HTTP 200, and whose `data` holds the tokens; the API takes the token in
//! an `Access-Token` header.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::{Value, json};
use keyway_sdk::{SettingSpec, url};

/// Where refreshes go when the integration's `refresh_path` setting is unset.
const REFRESH_PATH: &str = "/open_api/v1.3/tt_user/oauth2/refresh_token/";

#[derive(Default)]
struct TikTok;

/// `body` with the client's credentials, as TikTok wants them in every token call.
fn with_client(ctx: &HookContext, mut body: Value) -> Value {
    body["client_id"] = json!(ctx.integration.client_id);
    body["client_secret"] = json!(ctx.integration.client_secret);
    body
}

impl Plugin for TikTok {
    fn manifest(&self) -> Manifest {
        let refresh_path = SettingSpec {
            name: "refresh_path".into(),
            description: "The path on the site that refreshes an access token".into(),
            required: false,
            default: Some(json!(REFRESH_PATH).to_string()),
            secret: false,
        };
        Manifest { settings: vec![refresh_path], ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let url = url::rename_query_param(&standard::authorize_url(ctx, req)?, "client_id", "client_key");
        Ok(url::replace_query_param(&url, "scope", &ctx.integration.scopes.join(",")))
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let (url, body) = match grant {
            Grant::AuthorizationCode(code) => (
                ctx.integration.token_url(),
                json!({"grant_type": "authorization_code", "auth_code": code.code, "redirect_uri": code.redirect_uri}),
            ),
            Grant::Refresh(refresh) => {
                let Some(refresh_token) = &refresh.refresh_token else {
                    return Err(AuthError::InvalidConfig("the connection has no refresh token; reconnect it".into()));
                };
                let path = ctx.setting_str("refresh_path").unwrap_or_else(|| REFRESH_PATH.into());
                (
                    url::join(&ctx.integration.site, &path),
                    json!({"grant_type": "refresh_token", "refresh_token": refresh_token}),
                )
            }
        };
        Ok(HttpRequest::post_json(url, &with_client(ctx, body)).with_header("Accept", "application/json"))
    }

    fn parse_token_response(&self, _: &HookContext, _: &Grant, res: &HttpResponse) -> Result<TokenSet, AuthError> {
        let body = standard::parse_body(res)?;
        match body["code"].as_i64() {
            Some(0) => {}
            Some(code) => {
                let description = body["message"].as_str().map(str::to_string);
                return Err(AuthError::Provider(ProviderError { code: code.to_string(), description, uri: None }));
            }
            None => {
                let snippet = standard::body_snippet(res);
                return Err(AuthError::InvalidResponse(format!(
                    "HTTP {} without TikTok's envelope: {snippet}",
                    res.status
                )));
            }
        }
        let data = &body["data"];
        let mut tokens = standard::token_set_from_json(data)?;
        tokens.scopes = data["scope"].as_str().map(standard::split_scopes);
        tokens.metadata = standard::metadata_fields(data, &["open_id"]);
        Ok(tokens)
    }

    /// The integration's revoke path takes the access token, also when the connection holds a refresh token.
    fn revoke_request(&self, ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        let Some(url) = ctx.integration.revoke_url() else {
            return Ok(None);
        };
        Ok(Some(HttpRequest::post_json(url, &with_client(ctx, json!({"access_token": target.access_token})))))
    }

    fn api_auth(&self, _: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        Ok(vec![AuthPlacement::Header(("Access-Token".into(), "{access_token}".into()))])
    }
}

keyway_sdk::export!(TikTok);
