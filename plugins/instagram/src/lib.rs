//! Instagram API with Instagram Login
//! (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login).
//! What differs from the standard flow: permissions are joined with commas; the code exchange answers a
//! short-lived token in `data[0]`, which the plugin trades at once, with a second call, for a long-lived one
//! (`grant_type=ig_exchange_token`); there is no refresh token, and a refresh is a GET presenting the current
//! token (`grant_type=ig_refresh_token`); errors are `{"error_type", "error_message"}` or a Graph API error
//! object; and the API, on graph.instagram.com, takes the token as the `access_token` query parameter.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::Value;
use keyway_sdk::{http, url};

/// Where the long-lived tokens and the API live, unless the integration's `graph_url` says otherwise.
const GRAPH: &str = "https://graph.instagram.com";

/// The token endpoint's errors are `error_type` and `error_message`; the Graph API's `error` object is read too.
const TOKENS: TokenFields = TokenFields {
    error: ErrorFields { code: "error_type", description: "error_message", uri: "" },
    ..TokenFields::STANDARD
};

#[derive(Default)]
struct Instagram;

fn graph(ctx: &HookContext) -> String {
    ctx.setting_str("graph_url").unwrap_or_else(|| GRAPH.into()).trim_end_matches('/').to_string()
}

impl Plugin for Instagram {
    fn manifest(&self) -> Manifest {
        let graph_url = SettingSpec::new("graph_url", "The Graph API's URL: long-lived tokens, refresh, and the API")
            .with_default(GRAPH);
        Manifest { hosts: vec![GRAPH.into()], settings: vec![graph_url], ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        standard::authorize_url_with(ctx, req, &AuthorizeOptions { scope_separator: ",", ..AuthorizeOptions::STANDARD })
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let Grant::Refresh(refresh) = grant else {
            return standard::token_request(ctx, grant);
        };
        let query = [("grant_type", "ig_refresh_token"), ("access_token", &refresh.access_token)];
        Ok(HttpRequest::get(url::append_query(&format!("{}/refresh_access_token", graph(ctx)), &query)))
    }

    fn parse_token_response(
        &self,
        ctx: &HookContext,
        grant: &Grant,
        res: &HttpResponse,
    ) -> Result<TokenSet, AuthError> {
        let body = TOKENS.checked_body(res)?;
        if let Grant::Refresh(_) = grant {
            return TOKENS.token_set(&body);
        }
        // The short-lived token is in `data[0]` (older answers put it at the top level).
        let short = body["data"].get(0).unwrap_or(&body);
        let Some(short_token) = short["access_token"].as_str() else {
            return Err(AuthError::InvalidResponse(format!("no short-lived token in {}", standard::body_snippet(res))));
        };
        let secret = &ctx.integration.client_secret;
        let query = [("grant_type", "ig_exchange_token"), ("client_secret", secret), ("access_token", short_token)];
        let exchange = HttpRequest::get(url::append_query(&format!("{}/access_token", graph(ctx)), &query));
        let mut tokens = TOKENS.parse(&http::send(&exchange)?)?;
        tokens.scopes = match &short["permissions"] {
            Value::String(list) => Some(standard::split_scopes(list)),
            Value::Array(items) => Some(items.iter().filter_map(Value::as_str).map(str::to_string).collect()),
            _ => None,
        };
        tokens.metadata = standard::metadata_fields(short, &["user_id"]);
        Ok(tokens)
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        Ok(graph(ctx))
    }

    fn api_auth(&self, _: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        Ok(vec![AuthPlacement::query("access_token", "{access_token}")])
    }
}

keyway_sdk::export!(Instagram);
