//! The built-in mock provider in each app mode, and what an admin would register for it: the integration's
//! form (site, authorization URL, token and revoke paths, scopes, client authentication, PKCE), the plugin
//! settings and connection inputs the mode needs, and one Web API call the app answers. Mirrors how
//! `tests/all/apps/*.rs` configure each mode.

use std::net::IpAddr;

use keyway_mock_provider::apps::{
    atlassian, entra, github, instagram, notion, quirks, shopify, slack, tiktok, tiktok_shop, xero, zendesk,
};
use keyway_mock_provider::{App, MockConfig, MockProvider};
use serde_json::{Value, json};

use crate::egress::{EgressConfig, HostPattern, IpNet, ResolveRule};
use crate::flows::ApiCall;
use crate::integration::{ClientAuth, IntegrationConfig};

/// The provider modes by name, as `keyway plugin check --provider` and `keyway mock-provider --mode` take them.
pub const MODES: &[(&str, App)] = &[
    ("standard", App::Standard),
    ("notion", App::Notion),
    ("github", App::Github),
    ("slack", App::Slack),
    ("tiktok", App::Tiktok),
    ("instagram", App::Instagram),
    ("zendesk", App::Zendesk),
    ("quirks", App::Quirks),
    ("entra", App::Entra),
    ("atlassian", App::Atlassian),
    ("xero", App::Xero),
    ("shopify", App::Shopify),
    ("tiktok-shop", App::TiktokShop),
];

/// The name of a mode, as [`MODES`] spells it.
pub fn mode_name(app: App) -> &'static str {
    MODES.iter().find(|(_, a)| *a == app).map_or("standard", |(name, _)| name)
}

/// The plugin in `plugins/` written for `app`'s mode: what an integration for it names.
pub fn plugin_for(app: App) -> &'static str {
    match app {
        App::Standard => crate::builtin::STANDARD_PLUGIN,
        App::Notion => "notion",
        App::Github => "github",
        App::Slack => "slack",
        App::Tiktok => "tiktok",
        App::Instagram => "instagram",
        App::Zendesk => "zendesk",
        App::Quirks => "quirks",
        App::Entra => "entra",
        App::Atlassian => "atlassian",
        App::Xero => "xero",
        App::Shopify => "shopify",
        App::TiktokShop => "tiktok-shop",
    }
}

/// What the mode's app is, in a few words, for the report.
fn describe(app: App) -> &'static str {
    match app {
        App::Standard => "a strict RFC 6749 provider (Basic client auth, PKCE S256, refresh, RFC 7009 revocation)",
        App::Notion => "Notion: owner=user, JSON token requests, workspace metadata, Notion-Version on API calls",
        App::Github => "a GitHub OAuth app: form or JSON answers, errors with HTTP 200, no expiry, no refresh",
        App::Slack => "Slack OAuth v2: comma-separated scopes, errors as {\"ok\": false} with HTTP 200",
        App::Tiktok => "TikTok for Business: client_key, JSON with auth_code, answers in an envelope",
        App::Instagram => "Instagram Login: a short-lived token exchanged for a long-lived one, no refresh token",
        App::Zendesk => "Zendesk: an account per subdomain, expires_in sent with the token request",
        App::Quirks => "the standard provider with spapi_oauth_code, realmId and an Access-Token header",
        App::Entra => "Microsoft Entra ID v2.0: a tenant in every path, one resource's scopes (.default), Graph",
        App::Atlassian => "Atlassian 3LO: audience and prompt=consent, JSON token requests, the API under a cloud id",
        App::Xero => "Xero: tenants from /connections, xero-tenant-id on API calls, rotating 60-day refresh tokens",
        App::Shopify => "Shopify: a host per shop, an HMAC-signed callback, a JSON exchange, X-Shopify-Access-Token",
        App::TiktokShop => "TikTok Shop: app_key, GET token requests, Unix expiry times, every API call HMAC-signed",
    }
}

/// The provider's rules in `app`'s mode: the defaults the app tests use.
pub fn mock_config(app: App) -> MockConfig {
    // GitHub OAuth apps and Slack without token rotation issue tokens that neither expire nor refresh.
    let issue_refresh_tokens = !matches!(app, App::Github | App::Slack);
    // TikTok Shop sends the seller back to the redirect URL registered for the app, never one from the request.
    let redirect_uris = if app == App::TiktokShop { vec![super::REDIRECT_URI.to_string()] } else { Vec::new() };
    MockConfig { app, issue_refresh_tokens, redirect_uris, ..MockConfig::default() }
}

/// Everything the kit needs to run a flow against a started provider.
pub struct Scenario {
    /// One line on what the mode plays.
    pub description: &'static str,
    /// The integration as an admin would register it, before the user's `--setting`s.
    pub integration: IntegrationConfig,
    /// Connection inputs the mode supplies when the plugin declares them and the user gave none.
    pub default_inputs: Vec<(String, String)>,
    /// The egress rules an operator would set for this provider (Zendesk's tenant hosts).
    pub egress: EgressConfig,
    /// A Web API call the app answers for a valid token.
    pub api_call: ApiCall,
    /// Whether the app refreshes with the access token itself, so no refresh token is needed (Instagram).
    pub refreshes_without_refresh_token: bool,
}

/// The integration, inputs and API call for `provider`, started in `app`'s mode.
pub fn scenario(app: App, provider: &MockProvider) -> Scenario {
    let config = provider.config();
    let base = provider.base_url();
    let mut site = base.clone();
    let (authorize_path, token_path, revoke_path) = match app {
        App::Standard | App::Quirks => {
            (MockProvider::AUTHORIZE_PATH, MockProvider::TOKEN_PATH, Some(MockProvider::REVOKE_PATH))
        }
        App::Notion => (notion::AUTHORIZE_PATH, notion::TOKEN_PATH, Some(notion::REVOKE_PATH)),
        App::Github => (github::AUTHORIZE_PATH, github::TOKEN_PATH, None),
        App::Slack => (slack::AUTHORIZE_PATH, slack::TOKEN_PATH, Some(slack::REVOKE_PATH)),
        App::Tiktok => (tiktok::AUTHORIZE_PATH, tiktok::TOKEN_PATH, None),
        App::Instagram => (instagram::AUTHORIZE_PATH, instagram::TOKEN_PATH, None),
        App::Zendesk => {
            // Accounts are `{subdomain}.zendesk.test`, pointed at the mock the way an operator would.
            site = format!("http://{}:{}", zendesk::DOMAIN, provider.local_addr().port());
            (zendesk::AUTHORIZE_PATH, zendesk::TOKEN_PATH, None)
        }
        // The plugin puts the connection's tenant in front of both paths.
        App::Entra => (entra::AUTHORIZE_PATH, entra::TOKEN_PATH, None),
        App::Atlassian => (atlassian::AUTHORIZE_PATH, atlassian::TOKEN_PATH, None),
        App::Xero => (xero::AUTHORIZE_PATH, xero::TOKEN_PATH, Some(xero::REVOKE_PATH)),
        App::Shopify => {
            // Shops are `{shop}.myshopify.test`, pointed at the mock the way an operator would.
            site = format!("http://{}:{}", shopify::DOMAIN, provider.local_addr().port());
            (shopify::AUTHORIZE_PATH, shopify::TOKEN_PATH, None)
        }
        // The site is the API; the token requests go to the authorization URL's host (both the mock here).
        App::TiktokShop => (tiktok_shop::AUTHORIZE_PATH, tiktok_shop::TOKEN_PATH, None),
    };
    let mut integration = IntegrationConfig::oauth2(
        "conformance",
        &config.client_id,
        &config.client_secret,
        &site,
        &format!("{site}{authorize_path}"),
        token_path,
    );
    integration.revoke_path = revoke_path.map(String::from);
    integration.scopes = match app {
        App::Standard | App::Quirks | App::Zendesk => vec!["read".into(), "write".into()],
        // Entra: none, so the plugin asks for Graph's `.default` and `offline_access`.
        App::Notion | App::Entra | App::TiktokShop => vec![],
        App::Github => vec!["repo".into(), "gist".into()],
        App::Slack => vec!["commands".into(), "chat:write".into()],
        App::Tiktok => vec!["user.info.basic".into(), "biz.creator.info".into()],
        App::Instagram => vec!["instagram_business_basic".into(), "instagram_business_content_publish".into()],
        App::Atlassian => vec!["read:jira-work".into(), "read:jira-user".into(), "offline_access".into()],
        App::Xero => vec!["openid".into(), "accounting.settings".into(), "offline_access".into()],
        App::Shopify => vec!["read_products".into(), "write_orders".into()],
    };
    integration.client_auth = match app {
        App::Github | App::Slack | App::Instagram | App::Zendesk | App::Entra | App::Atlassian => ClientAuth::Post,
        _ => ClientAuth::Basic,
    };
    integration.pkce = !matches!(
        app,
        App::Notion | App::Slack | App::Tiktok | App::Instagram | App::Atlassian | App::Shopify | App::TiktokShop
    );
    if matches!(app, App::Instagram | App::Entra) {
        // The mock plays www, api and graph.instagram.com (Entra: login.microsoftonline.com and Microsoft Graph)
        // at one address.
        integration.settings = json!({ "graph_url": base });
    }
    if matches!(app, App::Atlassian | App::Xero) {
        // The mock plays auth.atlassian.com and api.atlassian.com (Xero: login, identity and api.xero.com) at one
        // address.
        integration.settings = json!({ "api_url": base });
    }

    // The production policy, opened for exactly the mock's address.
    let mut egress = EgressConfig::default();
    let loopback: IpAddr = provider.local_addr().ip();
    egress.allowed_networks.push(IpNet::host(loopback));
    let tenant_domain = match app {
        App::Zendesk => Some(zendesk::DOMAIN),
        App::Shopify => Some(shopify::DOMAIN),
        _ => None,
    };
    if let Some(domain) = tenant_domain {
        let wildcard: HostPattern = format!("*.{domain}").parse().expect("the mock's tenant domains have two labels");
        egress.resolve.push(ResolveRule { host: wildcard.clone(), ip: loopback });
        egress.insecure_http_hosts.push(wildcard);
    }
    let default_inputs = match app {
        App::Zendesk => vec![("subdomain".to_string(), "acme".to_string())],
        App::Entra => vec![("tenant".to_string(), entra::TENANT.to_string())],
        App::Shopify => vec![("shop".to_string(), "acme".to_string())],
        _ => Vec::new(),
    };

    let get = |path: &str| ApiCall { method: "GET".into(), path: path.into(), ..ApiCall::default() };
    let api_call = match app {
        App::Standard => get("/api/me"),
        App::Notion => get(notion::ME_PATH),
        // Relative to the plugin's API base, `{site}/api/v3` on a GitHub server.
        App::Github => get("/user"),
        App::Slack => ApiCall { method: "POST".into(), path: slack::AUTH_TEST_PATH.into(), ..ApiCall::default() },
        App::Tiktok => {
            ApiCall { query: vec![("business_id".into(), tiktok::OPEN_ID.into())], ..get(tiktok::BUSINESS_PATH) }
        }
        App::Instagram => ApiCall { query: vec![("fields".into(), "user_id,username".into())], ..get("/v22.0/me") },
        App::Zendesk => get(zendesk::ME_PATH),
        // Relative to the realm's API base, `{site}/v3/company/{realmId}`.
        App::Quirks => get(&format!("/companyinfo/{}", quirks::REALM_ID)),
        // Relative to Graph's `/v1.0`.
        App::Entra => get(entra::ME_PATH.trim_start_matches("/v1.0")),
        // Relative to the site's API base, `{api_url}/ex/jira/{cloudid}`.
        App::Atlassian => get(atlassian::MYSELF_PATH),
        // Relative to the accounting API, `{api_url}/api.xro/2.0`.
        App::Xero => get(xero::ORGANISATION_PATH.trim_start_matches("/api.xro/2.0")),
        // Relative to the shop's `/admin`.
        App::Shopify => get(&format!("/api/{}/shop.json", shopify::API_VERSION)),
        App::TiktokShop => get(tiktok_shop::SHOPS_PATH),
    };

    Scenario {
        description: describe(app),
        integration,
        default_inputs,
        egress,
        api_call,
        refreshes_without_refresh_token: app == App::Instagram,
    }
}

/// Whether an app that answers errors with HTTP 200 accepted an API call: Slack's `ok`, TikTok's `code`. The
/// error says what the app's answer means.
pub(crate) fn api_answer_ok(app: App, body: &[u8]) -> Result<(), String> {
    let json = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    match app {
        App::Slack => match json() {
            body if body["ok"] == true => Ok(()),
            body => Err(format!("Slack answered HTTP 200 with ok=false: `{}`", body["error"].as_str().unwrap_or("?"))),
        },
        App::Tiktok | App::TiktokShop => match json() {
            body if body["code"] == 0 => Ok(()),
            body => Err(format!(
                "TikTok answered HTTP 200 with code {}: {}",
                body["code"],
                body["message"].as_str().unwrap_or("?")
            )),
        },
        _ => Ok(()),
    }
}
