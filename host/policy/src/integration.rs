//! Validation of the integration form, as pure functions on its strings.
//!
//! The host's `IntegrationConfig::validate` runs [`validate_form`]; the `integration` fuzz
//! target runs the same function on arbitrary input. Every message says what to enter instead.

use url::Url;

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

/// Splits the article's "one scope per line" text, ignoring empty lines.
pub fn scopes_from_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

/// The integration form's fields that validation reads, borrowed from wherever they are kept.
#[derive(Debug, Clone, Copy)]
pub struct IntegrationForm<'a> {
    /// Unique name, as users see it.
    pub name: &'a str,
    /// Whether connections use the browser authorization-code flow (`auth_method: oauth2`);
    /// basic and token integrations need only a site.
    pub oauth2: bool,
    /// The OAuth2 client id.
    pub client_id: &'a str,
    /// The OAuth2 client secret, when one was given.
    pub client_secret: Option<&'a str>,
    /// Scheme, host and port: `https://yourapp.com`.
    pub site: &'a str,
    /// Absolute: `https://yourapp.com/login/oauth/authorize`.
    pub authorization_url: &'a str,
    /// A path on `site`: `/login/oauth/access_token`.
    pub token_path: &'a str,
    /// A path on `site`, when the app can revoke.
    pub revoke_path: Option<&'a str>,
    /// Scopes, one per entry, as entered.
    pub scopes: &'a [String],
    /// The authorization server's issuer, when set.
    pub issuer: Option<&'a str>,
    /// Whether the plugin settings are a JSON object (the host holds them as JSON).
    pub settings_is_object: bool,
}

/// The fields validation normalises: what the host stores once [`validate_form`] accepts a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidForm {
    /// Scopes trimmed, empty ones dropped.
    pub scopes: Vec<String>,
    /// The site without surrounding whitespace or trailing `/`.
    pub site: String,
    /// For oauth2: the token path trimmed and starting with `/`; otherwise as entered.
    pub token_path: String,
    /// For oauth2: the revoke path trimmed and starting with `/`, `None` when blank; otherwise
    /// as entered.
    pub revoke_path: Option<String>,
}

/// Checks every field and normalises what is harmless (a trailing slash on `site`, blank scope
/// lines). The first problem found is returned, naming its field.
pub fn validate_form(form: &IntegrationForm<'_>) -> Result<ValidForm, FieldError> {
    if form.name.trim().is_empty() {
        return Err(FieldError::new("name", "give the integration a name; users see it in the list"));
    }
    let scopes = form.scopes.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if !form.settings_is_object {
        return Err(FieldError::new("settings", "settings must be a JSON object, e.g. {}"));
    }
    if !form.oauth2 {
        // Basic and token integrations need only a site to call.
        return Ok(ValidForm {
            scopes,
            site: check_site(form.site)?,
            token_path: form.token_path.to_string(),
            revoke_path: form.revoke_path.map(str::to_string),
        });
    }
    if form.client_id.trim().is_empty() {
        return Err(FieldError::new(
            "client_id",
            "enter the Client ID the app issued when you registered Keyway as an OAuth app",
        ));
    }
    if form.client_secret.is_none_or(str::is_empty) {
        return Err(FieldError::new(
            "client_secret",
            "an oauth2 integration needs the Client Secret the app issued with the Client ID",
        ));
    }
    let site = check_site(form.site)?;
    check_authorization_url(form.authorization_url)?;
    let token_path = check_path("token_path", form.token_path, &site, "/login/oauth/access_token")?;
    let revoke_path = match form.revoke_path.map(str::trim) {
        None | Some("") => None,
        Some(path) => Some(check_path("revoke_path", path, &site, "/oauth/revoke")?),
    };
    if let Some(issuer) = form.issuer {
        check_issuer(issuer)?;
    }
    Ok(ValidForm { scopes, site, token_path, revoke_path })
}

/// The site: an http(s) URL with a host and nothing after it. Returns it trimmed, without a
/// trailing `/`.
pub fn check_site(site: &str) -> Result<String, FieldError> {
    let trimmed = site.trim().trim_end_matches('/').to_string();
    let url = Url::parse(&trimmed).map_err(|_| {
        FieldError::new(
            "site",
            format!("enter the app's base URL with its scheme, e.g. `https://yourapp.com`, not `{site}`"),
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
    Ok(trimmed)
}

/// The authorization URL: an absolute http(s) URL with a host.
pub fn check_authorization_url(authorization_url: &str) -> Result<(), FieldError> {
    let auth = Url::parse(authorization_url).map_err(|_| {
        FieldError::new(
            "authorization_url",
            format!(
                "enter the full URL where the app accepts authorization requests, e.g. `https://yourapp.com/login/oauth/authorize`, not `{authorization_url}`"
            ),
        )
    })?;
    if !matches!(auth.scheme(), "http" | "https") || auth.host_str().is_none() {
        return Err(FieldError::new(
            "authorization_url",
            "the authorization base URL must be an http(s) URL with a host",
        ));
    }
    Ok(())
}

/// The issuer: an absolute URL, as the server's metadata gives it.
pub fn check_issuer(issuer: &str) -> Result<(), FieldError> {
    match Url::parse(issuer) {
        Ok(_) => Ok(()),
        Err(_) => {
            Err(FieldError::new("issuer", "the issuer must be an absolute URL, as the server's metadata gives it"))
        }
    }
}

/// A token or revoke path: relative to the site, starting with `/`. `example` is what the
/// message suggests for an empty one; `site` is quoted when a whole URL was entered.
pub fn check_path(field: &str, path: &str, site: &str, example: &str) -> Result<String, FieldError> {
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
