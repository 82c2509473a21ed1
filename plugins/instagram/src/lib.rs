//! Instagram API with Instagram Login
//! (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login).
//! What differs from the standard flow: permissions are joined with commas; the code exchange answers a
//! short-lived token in `data[0]`, which the plugin trades at once, with a second call, for a long-lived one
//! (`grant_type=ig_exchange_token`); there is no refresh token, and a refresh is a GET presenting the current
//! token (`grant_type=ig_refresh_token`); errors are `{"error_type", "error_message"}` or a Graph API error
//! object; and the API, on graph.instagram.com, takes the token as the `access_token` query parameter.

use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::{Value, json};
use keyway_sdk::{SettingSpec, http, url};

/// Where the long-lived tokens and the API live, unless the integration's `graph_url` says otherwise.
const GRAPH: &str = "https://graph.instagram.com";

#[derive(Default)]
struct Instagram;

fn graph(ctx: &HookContext) -> String {
    ctx.setting_str("graph_url").unwrap_or_else(|| GRAPH.into()).trim_end_matches('/').to_string()
}

/// The answer's JSON, or the error it carries: the token endpoint's `error_type` and `error_message`, or a Graph
/// API `error` object.
fn read(res: &HttpResponse) -> Result<Value, AuthError> {
    let body = standard::parse_body(res)?;
    if let Some(kind) = body["error_type"].as_str() {
        let description = body["error_message"].as_str().map(str::to_string);
        return Err(AuthError::Provider(ProviderError { code: kind.into(), description, uri: None }));
    }
    if let Some(error) = standard::provider_error(&body) {
        return Err(AuthError::Provider(error));
    }
    if !res.is_success() {
        return Err(AuthError::InvalidResponse(format!("HTTP {}: {}", res.status, standard::body_snippet(res))));
    }
    Ok(body)
}

impl Plugin for Instagram {
    fn manifest(&self) -> Manifest {
        let graph_url = SettingSpec {
            name: "graph_url".into(),
            description: "The Graph API's URL: long-lived tokens, refresh, and the API".into(),
            required: false,
            default: Some(json!(GRAPH).to_string()),
            secret: false,
        };
        Manifest { hosts: vec![GRAPH.into()], settings: vec![graph_url], ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let url = standard::authorize_url(ctx, req)?;
        Ok(url::replace_query_param(&url, "scope", &ctx.integration.scopes.join(",")))
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
        let body = read(res)?;
        if let Grant::Refresh(_) = grant {
            return standard::token_set_from_json(&body);
        }
        // The short-lived token is in `data[0]` (older answers put it at the top level).
        let short = body["data"].get(0).unwrap_or(&body);
        let Some(short_token) = short["access_token"].as_str() else {
            return Err(AuthError::InvalidResponse(format!("no short-lived token in {}", standard::body_snippet(res))));
        };
        let secret = &ctx.integration.client_secret;
        let query = [("grant_type", "ig_exchange_token"), ("client_secret", secret), ("access_token", short_token)];
        let exchange = HttpRequest::get(url::append_query(&format!("{}/access_token", graph(ctx)), &query));
        let mut tokens = standard::token_set_from_json(&read(&http::send(&exchange)?)?)?;
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
        Ok(vec![AuthPlacement::Query(("access_token".into(), "{access_token}".into()))])
    }
}

keyway_sdk::export!(Instagram);
