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
    // URL parsers drop some control characters (trailing ones, tabs, newlines) and trailing
    // spaces, so a site with one would pass here and then fail, or change, when a path is
    // appended to it.
    if trimmed.contains(char::is_whitespace) && !trimmed.contains(char::is_control) {
        return Err(FieldError::new(
            "site",
            "the site has a space in it; enter just the URL up to the domain, e.g. `https://yourapp.com`",
        ));
    }
    if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
        return Err(FieldError::new(
            "site",
            format!(
                "the site has a control character (U+{:04X}) in it; enter just the URL up to the domain, e.g. `https://yourapp.com`",
                u32::from(c)
            ),
        ));
    }
    let url = Url::parse(&trimmed).map_err(|_| {
        FieldError::new(
            "site",
            format!("enter the app's base URL with its scheme, e.g. `https://yourapp.com`, not `{site}`"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(FieldError::new("site", "the site must be an http(s) URL such as `https://yourapp.com`"));
    }
    let origin = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
        + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
    // `https://yourapp.com@evil.example` reads as yourapp.com but goes to evil.example, with the
    // rest as a user name: refuse it, and say where it really goes.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FieldError::new(
            "site",
            format!(
                "`{site}` goes to `{}`, with what precedes `@` as a user name and password; enter just the URL up to the domain: `{origin}`",
                url.host_str().unwrap_or_default()
            ),
        ));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(FieldError::new(
            "site",
            format!("enter just the URL up to the domain: `{origin}`, and put `{}` in the token path", url.path()),
        ));
    }
    // The paths are appended to the site as text, so a `#` would turn them into a fragment that
    // is never sent.
    if url.fragment().is_some() {
        return Err(FieldError::new(
            "site",
            format!("enter just the URL up to the domain: `{origin}`, without the `#` part"),
        ));
    }
    Ok(trimmed)
}

/// The authorization URL: an absolute http(s) URL with a host.
pub fn check_authorization_url(authorization_url: &str) -> Result<(), FieldError> {
    // Like the site's: the parser would drop a trailing one, but the browser's redirect keeps it.
    if let Some(c) = authorization_url.chars().find(|c| c.is_control()) {
        return Err(FieldError::new(
            "authorization_url",
            format!(
                "the authorization URL has a control character (U+{:04X}) in it; enter the URL as the app documents it, e.g. `https://yourapp.com/login/oauth/authorize`",
                u32::from(c)
            ),
        ));
    }
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
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    if names_a_host(&path) {
        let fixed = format!("/{}", path.trim_start_matches(['/', '\\', '\t', '\n', '\r']));
        return Err(FieldError::new(
            field,
            format!("start the path with a single `/`: use `{fixed}`, not `{path}`, which URL parsers read as a host"),
        ));
    }
    Ok(path)
}

/// Whether URL parsers (WHATWG, so `url::Url::join` and browsers) read `path`, which starts
/// with `/`, as a scheme-relative reference to another host: `//host/...`, also spelled `/\host`,
/// since `\` is `/` in http(s) URLs, and with tabs or newlines in between, which parsers drop.
fn names_a_host(path: &str) -> bool {
    let mut significant = path.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r'));
    significant.next();
    matches!(significant.next(), Some('/' | '\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form<'a>(site: &'a str, token_path: &'a str) -> IntegrationForm<'a> {
        IntegrationForm {
            name: "yourapp",
            oauth2: true,
            client_id: "id",
            client_secret: Some("secret"),
            site,
            authorization_url: "https://yourapp.com/login/oauth/authorize",
            token_path,
            revoke_path: None,
            scopes: &[],
            issuer: None,
            settings_is_object: true,
        }
    }

    #[test]
    fn a_valid_form_is_normalised() {
        let scopes = scopes_from_lines("read:user\n\n  repo \n");
        let valid = validate_form(&IntegrationForm {
            revoke_path: Some(" oauth/revoke "),
            scopes: &scopes,
            ..form(" https://yourapp.com/ ", "login/oauth/access_token")
        })
        .unwrap();
        assert_eq!(
            valid,
            ValidForm {
                scopes: vec!["read:user".into(), "repo".into()],
                site: "https://yourapp.com".into(),
                token_path: "/login/oauth/access_token".into(),
                revoke_path: Some("/oauth/revoke".into()),
            }
        );
    }

    // Found by the `integration` fuzz target: the site's host is not the one it reads as.
    #[test]
    fn a_site_with_a_user_name_is_refused_saying_where_it_goes() {
        let err = validate_form(&form("https://yourapp.com@evil.example", "/token")).unwrap_err();
        assert_eq!(err.field, "site");
        assert!(err.message.contains("goes to `evil.example`"), "{}", err.message);
        assert!(err.message.contains("`https://evil.example`"), "{}", err.message);
        assert_eq!(check_site("https://user:pw@yourapp.com").unwrap_err().field, "site");
    }

    // Found by the `integration` fuzz target: the paths appended to it became a fragment.
    #[test]
    fn a_site_with_a_fragment_is_refused() {
        let err = check_site("https://yourapp.com#frag").unwrap_err();
        assert!(err.message.contains("`https://yourapp.com`, without the `#` part"), "{}", err.message);
        assert!(check_site("https://yourapp.com/#").is_err());
    }

    // Found by the `integration` fuzz target: `https://a.ci\x01` parsed (the parser trims the
    // control character) but the site kept it, so no token URL built from it parsed.
    #[test]
    fn a_site_with_a_control_character_is_refused() {
        for site in ["https://a.ci\u{1}\0", "https://yourapp\t.com", "https://yourapp.com\u{7f}/"] {
            let err = check_site(site).unwrap_err();
            assert!(err.message.contains("control character"), "{site:?}: {}", err.message);
        }
        assert_eq!(check_site(" https://yourapp.com/\n").unwrap(), "https://yourapp.com");
        // Found by the `integration` fuzz target: the space before `//` outlived the trim.
        for site in ["https://yourapp.com //", "https://your app.com"] {
            let err = check_site(site).unwrap_err();
            assert!(err.message.contains("a space in it"), "{site:?}: {}", err.message);
        }
        let err = check_authorization_url("https://yourapp.com/authorize\u{1}").unwrap_err();
        assert!(err.message.contains("control character (U+0001)"), "{}", err.message);
    }

    // Found by the `integration` fuzz target: `Url::join` sends `//x` to the host `x`.
    #[test]
    fn a_path_that_urls_read_as_a_host_is_refused() {
        for path in ["//x/token", "/\\x/token", "\\x/token", "/\t/x/token", "///token"] {
            let err = check_path("token_path", path, "https://yourapp.com", "/token").unwrap_err();
            assert!(err.message.contains("start the path with a single `/`"), "{path:?}: {}", err.message);
        }
        let err = check_path("revoke_path", "//x/revoke", "https://yourapp.com", "/r").unwrap_err();
        assert!(err.message.contains("use `/x/revoke`"), "{}", err.message);
        assert_eq!(check_path("token_path", "/a//b", "https://yourapp.com", "/t").unwrap(), "/a//b");
    }
}
