//! An integration as the admin registers it: the help article's form, validated with
//! messages that say what to enter instead.
//!
//! The validation itself is pure and lives in [`keyway_policy::integration`], where the
//! `integration` fuzz target drives it; this module holds the config and applies the result.

pub use keyway_policy::integration::{FieldError, scopes_from_lines};
use keyway_policy::integration::{IntegrationForm, ValidForm, validate_form};
use serde::{Deserialize, Serialize};

use crate::secret::{ClientSecret, NamedSecretValue};

/// How connections of an integration authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// The browser authorization-code flow.
    #[default]
    Oauth2,
    /// A username and password per connection.
    Basic,
    /// A static token per connection.
    Token,
}

/// Client authentication at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// The Basic header only (the article's default).
    #[default]
    Basic,
    /// Body credentials only.
    Post,
    /// Both (the article's "use body authentication").
    BasicAndPost,
}

/// An integration: one app registered by an admin.
#[derive(Clone, Debug)]
pub struct IntegrationConfig {
    /// Unique name, as users see it.
    pub name: String,
    /// How connections authenticate.
    pub auth_method: AuthMethod,
    /// The plugin that formats its requests.
    pub plugin: String,
    /// The OAuth2 client id.
    pub client_id: String,
    /// The OAuth2 client secret.
    pub client_secret: Option<ClientSecret>,
    /// Scheme, host and port: `https://yourapp.com`.
    pub site: String,
    /// Absolute: `https://yourapp.com/login/oauth/authorize`.
    pub authorization_url: String,
    /// A path on `site`: `/login/oauth/access_token`.
    pub token_path: String,
    /// A path on `site`, when the app can revoke.
    pub revoke_path: Option<String>,
    /// Scopes, one per entry.
    pub scopes: Vec<String>,
    /// Token endpoint client authentication.
    pub client_auth: ClientAuth,
    /// The authorization server's issuer; when set, callbacks must carry it as `iss`.
    pub issuer: Option<String>,
    /// Whether to use PKCE (S256).
    pub pkce: bool,
    /// Settings for the plugin, a JSON object, without the secret ones.
    pub settings: serde_json::Value,
    /// The settings the plugin marks secret, by name: sealed at rest, never returned, given to
    /// auth hooks inside `settings` and never to actions.
    pub secret_settings: Vec<(String, NamedSecretValue)>,
    /// Whether MCP clients get the generic Web API request tool on this integration's
    /// connections, besides its actions. On by default; an admin switches it off to expose
    /// only the actions.
    pub mcp_web_request: bool,
}

impl IntegrationConfig {
    /// A standard-oauth2 integration with the given URLs; the rest default as in the article.
    pub fn oauth2(
        name: &str,
        client_id: &str,
        client_secret: &str,
        site: &str,
        authorization_url: &str,
        token_path: &str,
    ) -> Self {
        Self {
            name: name.into(),
            auth_method: AuthMethod::Oauth2,
            plugin: crate::builtin::STANDARD_PLUGIN.into(),
            client_id: client_id.into(),
            client_secret: Some(ClientSecret::new(client_secret)),
            site: site.into(),
            authorization_url: authorization_url.into(),
            token_path: token_path.into(),
            revoke_path: None,
            scopes: Vec::new(),
            client_auth: ClientAuth::Basic,
            issuer: None,
            pkce: true,
            settings: serde_json::json!({}),
            secret_settings: Vec::new(),
            mcp_web_request: true,
        }
    }

    /// The settings an auth hook sees: the plain ones with the secret ones added.
    pub fn hook_settings(&self) -> serde_json::Value {
        let mut settings = self.settings.clone();
        if let Some(object) = settings.as_object_mut() {
            for (name, value) in &self.secret_settings {
                object.insert(name.clone(), serde_json::Value::String(value.secret().to_string()));
            }
        }
        settings
    }

    /// Checks every field and normalises what is harmless (a trailing slash on `site`,
    /// blank scope lines). The first problem found is returned, naming its field, and the
    /// config is left as it was.
    pub fn validate(&mut self) -> Result<(), FieldError> {
        let ValidForm { scopes, site, token_path, revoke_path } = validate_form(&IntegrationForm {
            name: &self.name,
            oauth2: self.auth_method == AuthMethod::Oauth2,
            client_id: &self.client_id,
            client_secret: self.client_secret.as_ref().map(ClientSecret::secret),
            site: &self.site,
            authorization_url: &self.authorization_url,
            token_path: &self.token_path,
            revoke_path: self.revoke_path.as_deref(),
            scopes: &self.scopes,
            issuer: self.issuer.as_deref(),
            settings_is_object: self.settings.is_object(),
        })?;
        self.scopes = scopes;
        self.site = site;
        self.token_path = token_path;
        self.revoke_path = revoke_path;
        Ok(())
    }
}

/// One line of an integration file that sets `field`, as an example for a message that asks for it: the
/// help article's values for an app at `https://yourapp.com`.
pub fn field_example(field: &str) -> Option<&'static str> {
    Some(match field {
        "name" => r#"name = "yourapp""#,
        "auth_method" => r#"auth_method = "oauth2""#,
        "plugin" => r#"plugin = "standard-oauth2""#,
        "client_id" => r#"client_id = "the client id from the app's developer settings""#,
        "client_secret" => r#"client_secret = "the client secret from the app's developer settings""#,
        "site" => r#"site = "https://yourapp.com""#,
        "authorization_url" => r#"authorization_url = "https://yourapp.com/login/oauth/authorize""#,
        "token_path" => r#"token_path = "/login/oauth/access_token""#,
        "revoke_path" => r#"revoke_path = "/oauth/revoke""#,
        "client_auth" => r#"client_auth = "basic"  # or "post", "basic_and_post""#,
        "use_body_auth" => "use_body_auth = true",
        "issuer" => r#"issuer = "https://yourapp.com""#,
        "scopes" => r#"scopes = ["read", "write"]"#,
        "pkce" => "pkce = true",
        "settings" => "[settings]",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> IntegrationConfig {
        IntegrationConfig::oauth2(
            "yourapp",
            "id",
            "secret",
            "https://yourapp.com",
            "https://yourapp.com/login/oauth/authorize",
            "/login/oauth/access_token",
        )
    }

    #[test]
    fn a_token_path_with_the_domain_says_what_to_enter() {
        let mut config = valid();
        config.token_path = "https://yourapp.com/login/oauth/access_token".into();
        let err = config.validate().unwrap_err();
        assert_eq!(err.field, "token_path");
        assert!(
            err.message.contains("use `/login/oauth/access_token`, not `https://yourapp.com/login/oauth/access_token`"),
            "{}",
            err.message
        );
        config.token_path = "yourapp.com/login/oauth/access_token".into();
        assert!(config.validate().unwrap_err().message.contains("use `/login/oauth/access_token`"));
    }

    #[test]
    fn site_path_relative_authorize_url_and_missing_secret_are_refused() {
        let mut config = valid();
        config.site = "https://yourapp.com/api".into();
        let err = config.validate().unwrap_err();
        assert_eq!(err.field, "site");
        assert!(err.message.contains("`https://yourapp.com`"), "{}", err.message);

        let mut config = valid();
        config.authorization_url = "/login/oauth/authorize".into();
        assert_eq!(config.validate().unwrap_err().field, "authorization_url");

        let mut config = valid();
        config.client_secret = None;
        assert_eq!(config.validate().unwrap_err().field, "client_secret");
    }

    #[test]
    fn harmless_input_is_normalised() {
        let mut config = valid();
        config.site = "https://yourapp.com/".into();
        config.scopes = scopes_from_lines("read:user\n\n  repo \n");
        config.revoke_path = Some("  ".into());
        config.validate().unwrap();
        assert_eq!(config.site, "https://yourapp.com");
        assert_eq!(config.scopes, ["read:user", "repo"]);
        assert_eq!(config.revoke_path, None);
    }
}
