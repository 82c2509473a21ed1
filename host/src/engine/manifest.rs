//! The plugin manifest as the host keeps it, and its validation at install time.

use serde::Serialize;

use keyway_policy::template::{Position, TemplateError, Value, check_input, fill_url, placeholders};

use crate::engine::bindings::metadata;

/// A per-connection input the plugin needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputSpec {
    /// The input's name, as templates and the API use it.
    pub name: String,
    /// What the user sees.
    pub label: String,
    /// A regular expression the whole value must match.
    pub pattern: Option<String>,
    /// Whether a connection must supply it.
    pub required: bool,
}

/// A per-integration setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingSpec {
    /// The setting's key in the integration's `settings` object.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Whether the admin must set it.
    pub required: bool,
    /// The value used when unset.
    pub default: Option<serde_json::Value>,
    /// Sealed like the client secret, never returned, and kept from actions.
    pub secret: bool,
}

/// Whether the plugin's app accepts PKCE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PkceSupport {
    /// The app refuses a `code_challenge`: integrations default to no PKCE and may not turn it on.
    Unsupported,
    /// Integrations default to PKCE and may turn it off.
    #[default]
    Supported,
    /// Integrations may not turn PKCE off.
    Required,
}

/// An action the plugin offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionSpec {
    /// The name workflows call it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of the input.
    pub input_schema: serde_json::Value,
    /// JSON Schema of the output.
    pub output_schema: serde_json::Value,
}

/// What a plugin declares about itself. Read once, at load, then cached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// Unique plugin name: lowercase letters, digits and dashes.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One line for admins.
    pub description: String,
    /// URL prefixes the plugin may call, templated with connection inputs and the
    /// integration's `{site_scheme}` and `{site_host}` (host and port).
    pub hosts: Vec<String>,
    /// Per-connection inputs.
    pub inputs: Vec<InputSpec>,
    /// Per-integration settings.
    pub settings: Vec<SettingSpec>,
    /// The callback's code parameter name.
    pub callback_code_param: String,
    /// The callback's state parameter name.
    pub callback_state_param: String,
    /// The plugin's actions.
    pub actions: Vec<ActionSpec>,
    /// Whether the app accepts PKCE.
    pub pkce: PkceSupport,
    /// Whether the host calls `sign-request` on every API call.
    pub signs_requests: bool,
}

impl Manifest {
    /// Checks a manifest as the plugin returned it. The error names the field and says how to
    /// fix it, since its reader is the plugin's author.
    pub(crate) fn from_wit(m: metadata::Manifest) -> Result<Self, String> {
        let valid_name = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !valid_name(&m.name) {
            return Err(format!("`name` is `{}`; use 1-64 lowercase letters, digits and dashes", m.name));
        }
        if m.version.trim().is_empty() {
            return Err("`version` is empty; set it (the SDK uses the crate version)".into());
        }
        for host in &m.hosts {
            let found = placeholders(host).map_err(|e| format!("`hosts` entry `{host}`: {e}"))?;
            if let Some((name, _)) = found.iter().find(|(n, p)| *p == Position::Scheme && !RESERVED_VARS.contains(n)) {
                return Err(format!(
                    "`hosts` entry `{host}`: `{{{name}}}` stands in the scheme; only `{{site_scheme}}` may, so a connection input cannot choose http"
                ));
            }
            let probe = fill_url(host, |name| {
                Some(if name == "site_scheme" { Value::Trusted("https") } else { Value::Input("x") })
            })
            .map_err(|e| format!("`hosts` entry `{host}`: {e}"))?;
            let url = url::Url::parse(&probe).map_err(|e| {
                format!("`hosts` entry `{host}` is not an absolute URL ({e}); write e.g. `https://{{subdomain}}.example.com`")
            })?;
            if url.host_str().is_none() {
                return Err(format!("`hosts` entry `{host}` has no host"));
            }
            keyway_policy::HostPattern::of_url(&url).map_err(|e| format!("`hosts` entry `{host}`: {e}"))?;
        }
        let mut inputs = Vec::new();
        for i in m.inputs {
            if !valid_ident(&i.name) {
                return Err(format!("input name `{}` must be letters, digits and underscores", i.name));
            }
            if RESERVED_VARS.contains(&i.name.as_str()) {
                return Err(format!("input name `{}` is reserved for the integration's site; choose another", i.name));
            }
            if inputs.iter().any(|x: &InputSpec| x.name == i.name) {
                return Err(format!("input `{}` is declared twice", i.name));
            }
            if let Some(p) = &i.pattern {
                regex::Regex::new(p).map_err(|e| format!("input `{}` pattern: {e}", i.name))?;
            }
            inputs.push(InputSpec { name: i.name, label: i.label, pattern: i.pattern, required: i.required });
        }
        let mut settings = Vec::new();
        for s in m.settings {
            let default = s
                .default
                .map(|d| serde_json::from_str(&d))
                .transpose()
                .map_err(|e| format!("setting `{}` default is not JSON: {e}", s.name))?;
            if s.secret && default.is_some() {
                return Err(format!(
                    "setting `{}` is secret and has a default; a secret has no default an admin could leave in place, remove it",
                    s.name
                ));
            }
            if settings.iter().any(|x: &SettingSpec| x.name == s.name) {
                return Err(format!("setting `{}` is declared twice", s.name));
            }
            settings.push(SettingSpec {
                name: s.name,
                description: s.description,
                required: s.required,
                default,
                secret: s.secret,
            });
        }
        let mut actions: Vec<ActionSpec> = Vec::new();
        for a in m.actions {
            if !valid_name(&a.name) {
                return Err(format!("action name `{}`: use lowercase letters, digits and dashes", a.name));
            }
            if actions.iter().any(|x| x.name == a.name) {
                return Err(format!("action `{}` is declared twice", a.name));
            }
            let schema = |text: &str, which: &str| -> Result<serde_json::Value, String> {
                let value: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| format!("action `{}` {which} schema is not JSON: {e}", a.name))?;
                if !value.is_object() && !value.is_boolean() {
                    return Err(format!("action `{}` {which} schema must be a JSON Schema object", a.name));
                }
                // Compiled now, so a bad schema is refused at install rather than blamed on
                // some workflow's input at run time.
                crate::actions::schema::check_schema(&value)
                    .map_err(|e| format!("action `{}` {which} schema is {e}", a.name))?;
                Ok(value)
            };
            actions.push(ActionSpec {
                input_schema: schema(&a.input_schema, "input")?,
                output_schema: schema(&a.output_schema, "output")?,
                name: a.name,
                description: a.description,
            });
        }
        for (which, value) in [("code", &m.callback.code), ("state", &m.callback.state)] {
            if value.is_empty() {
                return Err(format!("callback `{which}` parameter name is empty; the standard one is `{which}`"));
            }
        }
        Ok(Self {
            name: m.name,
            version: m.version,
            description: m.description,
            hosts: m.hosts,
            inputs,
            settings,
            callback_code_param: m.callback.code,
            callback_state_param: m.callback.state,
            actions,
            pkce: match m.pkce {
                metadata::PkceSupport::Unsupported => PkceSupport::Unsupported,
                metadata::PkceSupport::Supported => PkceSupport::Supported,
                metadata::PkceSupport::Required => PkceSupport::Required,
            },
            signs_requests: m.signs_requests,
        })
    }

    /// The manifest's hosts filled in: `site` holds the host's own values (`site_scheme`,
    /// `site_host`), `inputs` the connection's. An input must fit where the template puts it
    /// (one DNS label in the host, one segment in the path), and the filled URL must keep the
    /// template's host, so no input can point the allowlist somewhere else. A host that names
    /// an optional input the connection left out is not allowed at all.
    pub fn hosts_for(&self, site: &[(&str, String)], inputs: &[(String, String)]) -> Result<Vec<String>, String> {
        let mut hosts = Vec::with_capacity(self.hosts.len());
        for template in &self.hosts {
            let filled = fill_url(template, |name| match site.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => Some(Value::Trusted(v)),
                None => inputs.iter().find(|(k, _)| k == name).map(|(_, v)| Value::Input(v)),
            });
            match filled {
                Ok(host) => hosts.push(host),
                Err(TemplateError::Missing(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(hosts)
    }

    /// Checks connection inputs against the declared specs: required ones present, patterns
    /// matched, nothing undeclared.
    pub fn validate_inputs(&self, inputs: &[(String, String)]) -> Result<(), (String, String)> {
        for (name, value) in inputs {
            let Some(spec) = self.inputs.iter().find(|s| &s.name == name) else {
                let declared: Vec<&str> = self.inputs.iter().map(|s| s.name.as_str()).collect();
                return Err((
                    format!("inputs.{name}"),
                    format!("plugin `{}` declares no input `{name}` (it declares: {})", self.name, declared.join(", ")),
                ));
            };
            if let Some(pattern) = &spec.pattern {
                let anchored = format!("^(?:{pattern})$");
                let re = regex::Regex::new(&anchored).expect("validated at load");
                if !re.is_match(value) {
                    return Err((
                        format!("inputs.{name}"),
                        format!("`{value}` is not a valid {}: it must match `{pattern}`", spec.label),
                    ));
                }
            }
        }
        // An input that a host template places in a URL must fit its place there; say so
        // when the connection is created rather than at its first request.
        for template in &self.hosts {
            for (name, position) in placeholders(template).expect("validated at load") {
                if let Some((_, value)) = inputs.iter().find(|(k, _)| k == name) {
                    check_input(position, value).map_err(|reason| (format!("inputs.{name}"), reason))?;
                }
            }
        }
        for spec in self.inputs.iter().filter(|s| s.required) {
            if !inputs.iter().any(|(k, _)| *k == spec.name) {
                return Err((
                    format!("inputs.{}", spec.name),
                    format!("`{}` ({}) is required by plugin `{}`", spec.name, spec.label, self.name),
                ));
            }
        }
        Ok(())
    }
}

/// Template variables the host provides in `hosts`; inputs may not take these names.
const RESERVED_VARS: &[&str] = &["site_host", "site_scheme"];

fn valid_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Replaces `{name}` placeholders. An unknown name is an error, not an empty string, so a
/// typo cannot widen an allowlist or blank a credential.
pub(crate) fn fill_placeholders(
    template: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}').ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
        let name = &after[..end];
        let value = lookup(name).ok_or_else(|| format!("`{{{name}}}` has no value"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_and_unknown_names_fail() {
        let filled =
            fill_placeholders("https://{subdomain}.zendesk.test", |n| (n == "subdomain").then(|| "acme".to_string()));
        assert_eq!(filled.unwrap(), "https://acme.zendesk.test");
        let err = fill_placeholders("https://{tenant}.x.test", |_| None).unwrap_err();
        assert!(err.contains("{tenant}"), "{err}");
        assert!(fill_placeholders("https://{oops.x.test", |_| None).is_err());
    }

    fn with_action(input_schema: &str) -> metadata::Manifest {
        metadata::Manifest {
            name: "p".into(),
            version: "0.1.0".into(),
            description: String::new(),
            hosts: Vec::new(),
            inputs: Vec::new(),
            settings: Vec::new(),
            callback: metadata::CallbackParams { code: "code".into(), state: "state".into() },
            actions: vec![metadata::ActionSpec {
                name: "go".into(),
                description: String::new(),
                input_schema: input_schema.into(),
                output_schema: "true".into(),
            }],
            pkce: metadata::PkceSupport::Supported,
            signs_requests: false,
        }
    }

    #[test]
    fn a_secret_setting_may_not_have_a_default() {
        let mut manifest = with_action("true");
        manifest.settings.push(metadata::SettingSpec {
            name: "private_key".into(),
            description: "The RFC 7523 signing key".into(),
            required: true,
            default: Some("\"x\"".into()),
            secret: true,
        });
        let error = Manifest::from_wit(manifest).unwrap_err();
        assert!(error.contains("setting `private_key` is secret and has a default"), "{error}");
    }

    #[test]
    fn action_schemas_are_compiled_at_load() {
        let manifest = Manifest::from_wit(with_action(r#"{"type": "object"}"#)).unwrap();
        assert_eq!(manifest.actions[0].input_schema, serde_json::json!({"type": "object"}));
        let error = Manifest::from_wit(with_action(r#"{"type": "nonsense"}"#)).unwrap_err();
        assert!(error.starts_with("action `go` input schema is not a valid JSON Schema"), "{error}");
        let error = Manifest::from_wit(with_action("[1]")).unwrap_err();
        assert!(error.contains("must be a JSON Schema object"), "{error}");
    }
}
