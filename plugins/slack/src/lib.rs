//! Slack (https://api.slack.com/authentication/oauth-v2). What differs from the standard flow: scopes are joined
//! with commas, and the installing user's scopes go in `user_scope`; every answer is HTTP 200 and says `"ok"`, so
//! `"ok": false` is the error; the bot token is at the top level and the user's under `authed_user`, which is the
//! only one a user-only install gets; and `auth.revoke` authenticates with the very token it revokes.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::Value;

/// Every answer is HTTP 200 with `"ok"`; a rotated-out refresh token means the user must connect again.
const TOKENS: TokenFields = TokenFields {
    scope_separator: ScopeSeparator::Comma,
    success: Some(("ok", "true")),
    invalid_grant: &["invalid_refresh_token"],
    ..TokenFields::STANDARD
};

#[derive(Default)]
struct Slack;

/// The integration's `user_scopes` setting: a list, or one comma- or space-separated string.
fn user_scopes(ctx: &HookContext) -> Vec<String> {
    match &ctx.settings()["user_scopes"] {
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Value::String(list) => standard::split_scopes(list),
        _ => Vec::new(),
    }
}

impl Plugin for Slack {
    fn manifest(&self) -> Manifest {
        let description = "Scopes the installing user grants (Slack's `user_scope`), beside the bot's `scopes`";
        Manifest { settings: vec![SettingSpec::new("user_scopes", description)], ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let user_scopes = user_scopes(ctx).join(",");
        let user_scope = [("user_scope", user_scopes.as_str())];
        let extra: &[_] = if user_scopes.is_empty() { &[] } else { &user_scope };
        let options = AuthorizeOptions { scope_separator: ",", extra, ..AuthorizeOptions::STANDARD };
        standard::authorize_url_with(ctx, req, &options)
    }

    fn parse_token_response(&self, _: &HookContext, _: &Grant, res: &HttpResponse) -> Result<TokenSet, AuthError> {
        let body = TOKENS.checked_body(res)?;
        let root = if body.get("access_token").is_some() { "" } else { "authed_user" };
        let mut tokens = TokenFields { root, ..TOKENS }.token_set(&body)?;
        tokens.metadata = standard::metadata_fields(
            &body,
            &["team.id", "team.name", "enterprise.id", "app_id", "bot_user_id", "authed_user.id"],
        );
        Ok(tokens)
    }

    /// `auth.revoke` (https://api.slack.com/methods/auth.revoke) at the integration's revoke path. It takes the
    /// access token, also when the connection holds a rotating refresh token.
    fn revoke_request(&self, ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        let Some(url) = ctx.integration.revoke_url() else {
            return Ok(None);
        };
        let none: [(&str, &str); 0] = [];
        let bearer = format!("Bearer {}", target.access_token);
        Ok(Some(HttpRequest::post_form(url, &none).with_header("Authorization", bearer)))
    }
}

keyway_sdk::export!(Slack);
