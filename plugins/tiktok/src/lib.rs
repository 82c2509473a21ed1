//! TikTok API for Business, the accounts API (https://business-api.tiktok.com/portal/docs, "TikTok account
//! holders"). What differs from the standard flow: the authorize URL says `client_key` and joins scopes with
//! commas; the token requests are JSON with the client's credentials in them and the code as `auth_code`; a
//! refresh goes to a path of its own; every answer is an envelope `{"code", "message", "request_id", "data"}` whose
//! non-zero `code` is the error, even with HTTP 200, and whose `data` holds the tokens; the API takes the token in
//! an `Access-Token` header.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::json;
use keyway_sdk::url;

/// Where refreshes go when the integration's `refresh_path` setting is unset.
const REFRESH_PATH: &str = "/open_api/v1.3/tt_user/oauth2/refresh_token/";

/// The envelope: `code` 0 is success, anything else the error with its `message`; the tokens are in `data`.
const TOKENS: TokenFields = TokenFields {
    root: "data",
    scope_separator: ScopeSeparator::Comma,
    metadata: &["open_id"],
    success: Some(("code", "0")),
    error: ErrorFields { code: "code", description: "message", uri: "" },
    ..TokenFields::STANDARD
};

#[derive(Default)]
struct TikTok;

impl Plugin for TikTok {
    fn manifest(&self) -> Manifest {
        let refresh_path = SettingSpec::new("refresh_path", "The path on the site that refreshes an access token")
            .with_default(REFRESH_PATH);
        Manifest { settings: vec![refresh_path], ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let options =
            AuthorizeOptions { scope_separator: ",", client_id_param: "client_key", ..AuthorizeOptions::STANDARD };
        standard::authorize_url_with(ctx, req, &options)
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let path = ctx.setting_str("refresh_path").unwrap_or_else(|| REFRESH_PATH.into());
        let refresh_url = url::join(&ctx.integration.site, &path);
        TokenRequest {
            body: Body::Json,
            client: ClientCredentials::Body,
            drop: &["code_verifier"],
            rename: &[("code", "auth_code")],
            refresh_url: Some(&refresh_url),
            ..TokenRequest::STANDARD
        }
        .build(ctx, grant)
    }

    fn parse_token_response(&self, _: &HookContext, _: &Grant, res: &HttpResponse) -> Result<TokenSet, AuthError> {
        TOKENS.parse(res)
    }

    /// The integration's revoke path takes the access token, also when the connection holds a refresh token.
    fn revoke_request(&self, ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        let Some(url) = ctx.integration.revoke_url() else {
            return Ok(None);
        };
        let client = &ctx.integration;
        let body = json!({"access_token": target.access_token, "client_id": client.client_id, "client_secret": client.client_secret});
        Ok(Some(HttpRequest::post_json(url, &body)))
    }

    fn api_auth(&self, _: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        Ok(vec![AuthPlacement::header("Access-Token", "{access_token}")])
    }
}

keyway_sdk::export!(TikTok);
