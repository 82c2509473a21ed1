//! An integration as the admin registers it: the help article's form, validated with
//! messages that say what to enter instead.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::ClientSecret;

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

/// A field that failed validation, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The offending field, as the API names it.
    pub field: String,
    /// What is wrong and what to enter instead.
    pub message: String,
}

impl FieldError {
    /// A new error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
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
    /// Settings for the plugin, a JSON object.
    pub settings: serde_json::Value,
}

/// Splits the article's "one scope per line" text, ignoring empty lines.
pub fn scopes_from_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
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
        }
    }

    /// Checks every field and normalises what is harmless (a trailing slash on `site`,
    /// blank scope lines). The first problem found is returned, naming its field.
    pub fn validate(&mut self) -> Result<(), FieldError> {
        if self.name.trim().is_empty() {
            return Err(FieldError::new("name", "give the integration a name; users see it in the list"));
        }
        self.scopes = self.scopes.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if !self.settings.is_object() {
            return Err(FieldError::new("settings", "settings must be a JSON object, e.g. {}"));
        }
        if self.auth_method != AuthMethod::Oauth2 {
            // Basic and token integrations need only a site to call.
            return self.validate_site();
        }
        if self.client_id.trim().is_empty() {
            return Err(FieldError::new(
                "client_id",
                "enter the Client ID the app issued when you registered Keyway as an OAuth app",
            ));
        }
        if self.client_secret.as_ref().is_none_or(|s| s.secret().is_empty()) {
            return Err(FieldError::new(
                "client_secret",
                "an oauth2 integration needs the Client Secret the app issued with the Client ID",
            ));
        }
        self.validate_site()?;
        let auth = Url::parse(&self.authorization_url).map_err(|_| {
            FieldError::new(
                "authorization_url",
                format!(
                    "enter the full URL where the app accepts authorization requests, e.g. `https://yourapp.com/login/oauth/authorize`, not `{}`",
                    self.authorization_url
                ),
            )
        })?;
        if !matches!(auth.scheme(), "http" | "https") || auth.host_str().is_none() {
            return Err(FieldError::new(
                "authorization_url",
                "the authorization base URL must be an http(s) URL with a host",
            ));
        }
        self.token_path = check_path("token_path", &self.token_path, &self.site, "/login/oauth/access_token")?;
        if let Some(path) = self.revoke_path.take() {
            let path = path.trim();
            self.revoke_path = if path.is_empty() {
                None
            } else {
                Some(check_path("revoke_path", path, &self.site, "/oauth/revoke")?)
            };
        }
        if let Some(issuer) = &self.issuer
            && Url::parse(issuer).is_err()
        {
            return Err(FieldError::new(
                "issuer",
                "the issuer must be an absolute URL, as the server's metadata gives it",
            ));
        }
        Ok(())
    }

    fn validate_site(&mut self) -> Result<(), FieldError> {
        let site = self.site.trim().trim_end_matches('/').to_string();
        let url = Url::parse(&site).map_err(|_| {
            FieldError::new(
                "site",
                format!("enter the app's base URL with its scheme, e.g. `https://yourapp.com`, not `{}`", self.site),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(FieldError::new("site", "the site must be an http(s) URL such as `https://yourapp.com`"));
        }
        if url.path() != "/" || url.query().is_some() {
            let origin = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
                + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
            return Err(FieldError::new(
                "site",
                format!("enter just the URL up to the domain: `{origin}`, and put `{}` in the token path", url.path()),
            ));
        }
        self.site = site;
        Ok(())
    }
}

/// A token or revoke path: relative to the site, starting with `/`.
fn check_path(field: &str, path: &str, site: &str, example: &str) -> Result<String, FieldError> {
    let path = path.trim();
    if let Ok(url) = Url::parse(path) {
        let mut fixed = url.path().to_string();
        if let Some(q) = url.query() {
            fixed = format!("{fixed}?{q}");
        }
        return Err(FieldError::new(
            field,
            format!(
                "enter the path without the domain: use `{fixed}`, not `{path}` (the site `{site}` is added in front)"
            ),
        ));
    }
    if path.contains("://") || (!path.starts_with('/') && path.contains('.') && path.contains('/')) {
        let fixed = path.find('/').map(|i| &path[i..]).unwrap_or("/");
        return Err(FieldError::new(field, format!("enter the path without the domain: use `{fixed}`, not `{path}`")));
    }
    if path.is_empty() {
        return Err(FieldError::new(field, format!("enter the path on the site, e.g. `{example}`")));
    }
    if !path.starts_with('/') {
        return Ok(format!("/{path}"));
    }
    Ok(path.to_string())
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
