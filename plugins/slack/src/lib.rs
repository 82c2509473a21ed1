//! Slack (https://api.slack.com/authentication/oauth-v2). What differs from the standard flow: scopes are joined
//! with commas, and the installing user's scopes go in `user_scope`; every answer is HTTP 200 and says `"ok"`, so
//! `"ok": false` is the error; the bot token is at the top level and the user's under `authed_user`, which is the
//! only one a user-only install gets; and `auth.revoke` authenticates with the very token it revokes.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::{Value, json};
use keyway_sdk::{SettingSpec, url};

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
        let user_scopes = SettingSpec {
            name: "user_scopes".into(),
            description: "Scopes the installing user grants (Slack's `user_scope`), beside the bot's `scopes`".into(),
            required: false,
            default: None,
            secret: false,
        };
        Manifest { settings: vec![user_scopes], ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let mut url = standard::authorize_url(ctx, req)?;
        if !ctx.integration.scopes.is_empty() {
            url = url::replace_query_param(&url, "scope", &ctx.integration.scopes.join(","));
        }
        let user_scopes = user_scopes(ctx);
        if !user_scopes.is_empty() {
            url = url::append_query(&url, &[("user_scope", user_scopes.join(","))]);
        }
        Ok(url)
    }

    fn parse_token_response(&self, _: &HookContext, _: &Grant, res: &HttpResponse) -> Result<TokenSet, AuthError> {
        let body = standard::parse_body(res)?;
        if body["ok"] != json!(true) {
            let mut error = standard::provider_error(&body).unwrap_or_else(|| ProviderError {
                code: "not_ok".into(),
                description: Some(standard::body_snippet(res)),
                uri: None,
            });
            // A rotated-out refresh token means the user must connect again, which `invalid_grant` says.
            if error.code == "invalid_refresh_token" {
                error = ProviderError {
                    code: "invalid_grant".into(),
                    description: Some(format!("Slack: {}", error.code)),
                    uri: None,
                };
            }
            return Err(AuthError::Provider(error));
        }
        let at = if body.get("access_token").is_some() { &body } else { &body["authed_user"] };
        let mut tokens = standard::token_set_from_json(at)?;
        tokens.scopes = at["scope"].as_str().map(standard::split_scopes);
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
