//! Notion (https://developers.notion.com/docs/authorization): the standard flow, plus `owner=user` on the
//! authorize URL, the token and revoke requests as JSON (Basic client authentication stays), `workspace_id` and
//! `bot_id` kept on the connection, and a `Notion-Version` header on every API call. Access tokens do not expire:
//! the answer has no `expires_in`, which the standard parser already reads as "never".

use keyway_sdk::prelude::*;

/// The API version sent when the integration sets no `notion_version`
/// (https://developers.notion.com/reference/versioning).
const DEFAULT_VERSION: &str = "2022-06-28";

#[derive(Default)]
struct Notion;

impl Plugin for Notion {
    fn manifest(&self) -> Manifest {
        let version = SettingSpec::new("notion_version", "The Notion-Version header sent on every API call")
            .with_default(DEFAULT_VERSION);
        Manifest { settings: vec![version], ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let options = AuthorizeOptions { extra: &[("owner", "user")], ..AuthorizeOptions::STANDARD };
        standard::authorize_url_with(ctx, req, &options)
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        TokenRequest { body: Body::Json, ..TokenRequest::STANDARD }.build(ctx, grant)
    }

    fn parse_token_response(&self, _: &HookContext, _: &Grant, res: &HttpResponse) -> Result<TokenSet, AuthError> {
        TokenFields { metadata: &["workspace_id", "bot_id", "workspace_name"], ..TokenFields::STANDARD }.parse(res)
    }

    fn revoke_request(&self, ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        let mut request = standard::revoke_request(ctx, target)?;
        request.iter_mut().for_each(HttpRequest::form_to_json_body);
        Ok(request)
    }

    fn api_auth(&self, ctx: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        let version = ctx.setting_str("notion_version").unwrap_or_else(|| DEFAULT_VERSION.into());
        let mut placements = standard::api_auth(ctx)?;
        placements.push(AuthPlacement::header("Notion-Version", version));
        Ok(placements)
    }
}

keyway_sdk::export!(Notion);
