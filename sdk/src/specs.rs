//! Short constructors for the generated manifest and placement records, so a plugin states only
//! what differs from the usual: `SettingSpec::new("version", "…").with_default("2022-06-28")`.

use serde_json::Value;

use crate::{AuthPlacement, InputSpec, SettingSpec};

impl SettingSpec {
    /// An optional, non-secret setting with no default: its name (the key in the integration's
    /// settings object) and what the admin reads about it.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        SettingSpec {
            name: name.into(),
            description: description.into(),
            required: false,
            default: None,
            secret: false,
        }
    }

    /// The admin must set it.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// A secret (a private key, an app secret that is not the client secret): the host seals it
    /// like the client secret and never returns it; auth hooks read it from the settings,
    /// actions never see it.
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// The value used when the admin sets none, as any JSON value: `with_default(172_800)`,
    /// `with_default("2022-06-28")`, `with_default(json!(["a", "b"]))`.
    pub fn with_default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into().to_string());
        self
    }
}

impl InputSpec {
    /// An optional per-connection input with no pattern: its name (templates say `{NAME}` or
    /// `{inputs.NAME}`) and the label the user sees.
    pub fn new(name: impl Into<String>, label: impl Into<String>) -> Self {
        InputSpec { name: name.into(), label: label.into(), pattern: None, required: false }
    }

    /// The user must fill it in.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// A regular expression the whole value must match: `[a-z0-9][a-z0-9-]{0,62}` for a
    /// subdomain. The host's own rules for inputs placed in a host or path apply on top.
    pub fn pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }
}

impl AuthPlacement {
    /// A header the host fills in on every API call: `header("X-Shopify-Access-Token",
    /// "{access_token}")`, or a fixed one, `header("Notion-Version", "2022-06-28")`. The value
    /// is a template: see the SDK README for its variables.
    pub fn header(name: impl Into<String>, template: impl Into<String>) -> Self {
        AuthPlacement::Header((name.into(), template.into()))
    }

    /// A query parameter the host adds to every API call: `query("access_token", "{access_token}")`.
    pub fn query(name: impl Into<String>, template: impl Into<String>) -> Self {
        AuthPlacement::Query((name.into(), template.into()))
    }

    /// `Authorization: Bearer {access_token}`, the standard placement (RFC 6750).
    pub fn bearer() -> Self {
        Self::header("Authorization", "Bearer {access_token}")
    }

    /// HTTP Basic from two templates: `basic("{username}", "{password}")`, or an API key as the
    /// user name, `basic("{access_token}", "")`.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        AuthPlacement::Basic((username.into(), password.into()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn setting_spec_builds_every_field() {
        let plain = SettingSpec::new("version", "The API version");
        assert_eq!((plain.required, plain.secret, plain.default), (false, false, None));
        let full = SettingSpec::new("key", "A private key").required().secret().with_default("x\"y");
        assert_eq!((full.name.as_str(), full.required, full.secret), ("key", true, true));
        assert_eq!(full.default.as_deref(), Some(r#""x\"y""#), "the default is JSON text");
        assert_eq!(SettingSpec::new("n", "d").with_default(172_800).default.as_deref(), Some("172800"));
        assert_eq!(SettingSpec::new("n", "d").with_default(json!(["a"])).default.as_deref(), Some(r#"["a"]"#));
    }

    #[test]
    fn input_spec_builds_every_field() {
        let input = InputSpec::new("subdomain", "Subdomain").required().pattern("[a-z]+");
        assert_eq!(
            (input.name.as_str(), input.label.as_str(), input.required, input.pattern.as_deref()),
            ("subdomain", "Subdomain", true, Some("[a-z]+"))
        );
        assert!(!InputSpec::new("n", "l").required);
    }

    #[test]
    fn placements_are_the_variants_spelled_out() {
        let header = |n: &str, v: &str| AuthPlacement::Header((n.into(), v.into()));
        assert_eq!(AuthPlacement::bearer(), header("Authorization", "Bearer {access_token}"));
        assert_eq!(AuthPlacement::header("Access-Token", "{access_token}"), header("Access-Token", "{access_token}"));
        assert_eq!(
            AuthPlacement::query("k", "{secrets.api_key}"),
            AuthPlacement::Query(("k".into(), "{secrets.api_key}".into()))
        );
        assert_eq!(
            AuthPlacement::basic("{username}", "{password}"),
            AuthPlacement::Basic(("{username}".into(), "{password}".into()))
        );
    }
}
