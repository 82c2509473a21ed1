//! `keyway integration create|list`.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::client::{ApiClient, ClientArgs};
use crate::integration::{ClientAuth, FieldError, IntegrationConfig, scopes_from_lines};
use crate::secret::ClientSecret;
use crate::service::model::List;
use crate::service::model::{IntegrationInput, ScopesInput};

/// `keyway integration …`
#[derive(clap::Args, Debug)]
pub struct IntegrationArgs {
    /// The server and key.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: IntegrationCommand,
}

/// The integration subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum IntegrationCommand {
    /// Register an integration from a TOML file holding the API's fields (admin).
    ///
    /// Keys: name, auth_method (oauth2 | basic | token), plugin, client_id, client_secret,
    /// site, authorization_url, token_path, revoke_path, client_auth (basic | post |
    /// basic_and_post), use_body_auth, issuer, scopes (an array, or one scope per line), pkce,
    /// and a [settings] table for the plugin. The server validates them.
    Create {
        /// The TOML file.
        #[arg(long, short, value_name = "FILE")]
        file: PathBuf,
    },
    /// List the integrations: id, name, auth method, plugin, site.
    List,
}

/// `scopes` as the article's form has it (one per line) or as an array; sent as written, the
/// server splits lines and drops empty ones.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum Scopes {
    List(Vec<String>),
    Lines(String),
}

/// The TOML file: exactly the POST body's fields, so a typo is caught before anything is sent.
/// No `Debug`: it holds the client secret.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct IntegrationFile {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoke_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_auth: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    use_body_auth: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<Scopes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pkce: Option<bool>,
    /// Converted by hand: TOML dates would serialize as a private wrapper.
    #[serde(skip_serializing)]
    settings: Option<toml::Table>,
    /// Connection inputs (`subdomain = "acme"`), for `keyway plugin check`: an integration has none, its
    /// connections do (`keyway connect --input`), so `integration create` leaves them out.
    #[serde(skip_serializing)]
    inputs: Option<BTreeMap<String, String>>,
    /// How `keyway plugin check` runs the flow; `integration create` leaves it out.
    #[serde(skip_serializing)]
    check: Option<CheckTable>,
}

/// The `[check]` table: what `keyway plugin check --integration` needs beyond the integration.
#[derive(Deserialize, Serialize, Default, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CheckTable {
    /// One Web API call to make with the new tokens, `METHOD PATH` relative to the plugin's API base:
    /// `"GET /api/me"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_call: Option<String>,
    /// The redirect URI registered with the app, where the check listens for the callback (loopback only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
}

/// An integration file read for `keyway plugin check`: the integration as the server would register it, and
/// what the check needs on top.
#[derive(Debug, Clone)]
pub struct IntegrationFileContents {
    /// The integration, not yet validated (the check reports what is wrong as a step).
    pub integration: IntegrationConfig,
    /// The `[inputs]` table, in file order.
    pub inputs: Vec<(String, String)>,
    /// The `[check]` table.
    pub check: CheckTable,
    /// Whether the file sets `pkce`; when it does not, the plugin's manifest decides, as on the server.
    pub pkce_given: bool,
}

/// The JSON body of `POST /api/v1/integrations` for an integration file's text.
pub fn integration_body(toml_text: &str) -> Result<serde_json::Value, String> {
    read_file(toml_text).map(|(body, _)| body)
}

/// The file's POST body, and the file itself for what the body leaves out.
fn read_file(toml_text: &str) -> Result<(serde_json::Value, IntegrationFile), String> {
    let mut file: IntegrationFile =
        toml::from_str(toml_text).map_err(|e| with_example(e.to_string().trim_end(), e.message()))?;
    let mut body = serde_json::to_value(&file).map_err(|e| e.to_string())?;
    if let Some(settings) = file.settings.take() {
        body["settings"] = toml_to_json(toml::Value::Table(settings), "settings")?;
    }
    Ok((body, file))
}

/// A parse error (`full`, with where it is) with an example of the field its `core` names, when it names one:
/// ``missing field `name` ``.
fn with_example(full: &str, core: &str) -> String {
    let field = core.split('`').nth(1).unwrap_or_default();
    match crate::integration::field_example(field) {
        Some(example) if core.starts_with("missing field") => format!("{full}\nadd it, e.g. `{example}`"),
        Some(example) => format!("{full}\nwrite it as e.g. `{example}`"),
        None => full.to_string(),
    }
}

/// Reads an integration file for `keyway plugin check`: the same file and the same parser as
/// `keyway integration create`, turned into the integration the server would register from it (the server's
/// defaults for what the file leaves out: PKCE on, Basic client authentication), plus its `[inputs]` and
/// `[check]` tables. Field values are validated later, by the check, which reports them as a step.
pub fn integration_contents(toml_text: &str) -> Result<IntegrationFileContents, String> {
    let (body, file) = read_file(toml_text)?;
    let input: IntegrationInput = serde_json::from_value(body.clone()).map_err(|e| {
        // serde_json does not say which field; the first that fails on its own is the one.
        let field = body.as_object().into_iter().flatten().find(|(key, value)| {
            serde_json::from_value::<IntegrationInput>(serde_json::json!({ key.as_str(): value })).is_err()
        });
        match field {
            Some((key, _)) => with_example(&format!("`{key}`: {e}"), &format!("`{key}`")),
            None => e.to_string(),
        }
    })?;
    let pkce_given = input.pkce.is_some();
    let integration = config_from_input(input).map_err(|e| format!("`{}`: {}", e.field, e.message))?;
    Ok(IntegrationFileContents {
        pkce_given,
        integration,
        inputs: file.inputs.unwrap_or_default().into_iter().collect(),
        check: file.check.unwrap_or_default(),
    })
}

/// The integration a `POST /api/v1/integrations` with `input` registers, before validation and before its
/// plugin is consulted (secret settings, the PKCE default). The service's own mapping is private to it; this
/// follows it field by field (trimmed names and ids, `use_body_auth` as `basic_and_post`, scope lines split).
fn config_from_input(input: IntegrationInput) -> Result<IntegrationConfig, FieldError> {
    let client_auth = match (input.client_auth, input.use_body_auth) {
        (Some(auth), Some(body)) if (auth == ClientAuth::BasicAndPost) != body => {
            return Err(FieldError::new(
                "use_body_auth",
                "`use_body_auth` and `client_auth` disagree; keep only `client_auth` (`basic`, `post` or `basic_and_post`)",
            ));
        }
        (Some(auth), _) => auth,
        (None, Some(true)) => ClientAuth::BasicAndPost,
        (None, _) => ClientAuth::Basic,
    };
    Ok(IntegrationConfig {
        name: input.name.unwrap_or_default().trim().to_string(),
        auth_method: input.auth_method.unwrap_or_default(),
        plugin: input.plugin.unwrap_or_else(|| crate::builtin::STANDARD_PLUGIN.into()),
        client_id: input.client_id.unwrap_or_default().trim().to_string(),
        client_secret: input.client_secret.filter(|s| !s.is_empty()).map(ClientSecret::new),
        site: input.site.unwrap_or_default(),
        authorization_url: input.authorization_url.unwrap_or_default().trim().to_string(),
        token_path: input.token_path.unwrap_or_default(),
        revoke_path: input.revoke_path,
        scopes: match input.scopes {
            Some(ScopesInput::List(list)) => list,
            Some(ScopesInput::Lines(text)) => scopes_from_lines(&text),
            None => Vec::new(),
        },
        client_auth,
        issuer: input.issuer.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()),
        pkce: input.pkce.unwrap_or(true),
        // Still mixed in `settings`: which are secret is the plugin's to say, and the check asks it.
        settings: input.settings.unwrap_or_else(|| serde_json::json!({})),
        secret_settings: Vec::new(),
        mcp_web_request: input.mcp_web_request.unwrap_or(true),
    })
}

/// The integration file for `integration` (the inverse of [`integration_contents`]): what `keyway mock-provider`
/// prints, so it can be fed to `keyway plugin check --integration` and `keyway integration create --file`.
pub fn integration_toml(
    integration: &IntegrationConfig,
    inputs: &[(String, String)],
    check: &CheckTable,
) -> Result<String, String> {
    let enum_text = |value: &ClientAuth| serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from));
    let file = IntegrationFile {
        name: integration.name.clone(),
        auth_method: None,
        plugin: Some(integration.plugin.clone()),
        client_id: Some(integration.client_id.clone()),
        client_secret: integration.client_secret.as_ref().map(|s| s.secret().to_string()),
        site: Some(integration.site.clone()),
        authorization_url: Some(integration.authorization_url.clone()),
        token_path: Some(integration.token_path.clone()),
        revoke_path: integration.revoke_path.clone(),
        client_auth: enum_text(&integration.client_auth),
        use_body_auth: None,
        issuer: integration.issuer.clone(),
        scopes: Some(Scopes::List(integration.scopes.clone())),
        pkce: Some(integration.pkce),
        settings: None,
        inputs: None,
        check: None,
    };
    let mut text = toml::to_string(&file).map_err(|e| e.to_string())?;
    // The tables the serializer leaves out, written after the plain keys as TOML wants them.
    let settings: toml::Table = serde_json::from_value(integration.settings.clone())
        .map_err(|e| format!("the settings are not a TOML table: {e}"))?;
    if !settings.is_empty() {
        text.push_str(&format!("\n[settings]\n{}", toml::to_string(&settings).map_err(|e| e.to_string())?));
    }
    if !inputs.is_empty() {
        let inputs: BTreeMap<&str, &str> = inputs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        text.push_str(&format!("\n[inputs]\n{}", toml::to_string(&inputs).map_err(|e| e.to_string())?));
    }
    if *check != CheckTable::default() {
        text.push_str(&format!("\n[check]\n{}", toml::to_string(check).map_err(|e| e.to_string())?));
    }
    Ok(text)
}

/// TOML to JSON, with dates as their TOML text (serde would nest them in a private wrapper).
fn toml_to_json(value: toml::Value, at: &str) -> Result<serde_json::Value, String> {
    use serde_json::Value as Json;
    Ok(match value {
        toml::Value::String(s) => Json::String(s),
        toml::Value::Integer(i) => Json::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| format!("`{at}` is {f}, which JSON cannot carry; write a finite number"))?,
        toml::Value::Boolean(b) => Json::Bool(b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| toml_to_json(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => Json::Object(
            table
                .into_iter()
                .map(|(k, v)| {
                    let value = toml_to_json(v, &format!("{at}.{k}"))?;
                    Ok((k, value))
                })
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// An integration as listed; only what the CLI prints.
#[derive(Deserialize, Debug, Clone)]
pub struct IntegrationSummary {
    /// The opaque id.
    pub id: String,
    /// The unique name.
    pub name: String,
    /// `oauth2`, `basic` or `token`.
    #[serde(default)]
    pub auth_method: Option<String>,
    /// The plugin's name.
    #[serde(default)]
    pub plugin: Option<String>,
    /// The app's site.
    #[serde(default)]
    pub site: Option<String>,
}

impl super::client::Listed for IntegrationSummary {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> Option<&str> {
        Some(&self.name)
    }
}

fn read_body(path: &Path) -> anyhow::Result<(serde_json::Value, bool)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (body, file) =
        read_file(&text).map_err(|e| anyhow::anyhow!("{} is not a valid integration file: {e}", path.display()))?;
    Ok((body, file.inputs.is_some() || file.check.is_some()))
}

/// Reads an integration file for `keyway plugin check --integration`.
pub fn read_contents(path: &Path) -> anyhow::Result<IntegrationFileContents> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    integration_contents(&text).map_err(|e| anyhow::anyhow!("{} is not a valid integration file: {e}", path.display()))
}

/// Runs `keyway integration …`.
pub async fn run(args: IntegrationArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match args.command {
        IntegrationCommand::Create { file } => {
            // Read the file first: a typo should not wait on the network, nor need a key.
            let (body, check_only) = read_body(&file)?;
            let client = ApiClient::new(&args.client)?;
            let created: IntegrationSummary = client.post(&["integrations"], &body).await?;
            writeln!(out, "created integration {} ({})", created.id, created.name)?;
            if check_only {
                writeln!(
                    out,
                    "note: the file's [inputs] and [check] tables are for `keyway plugin check`; give a \
                     connection its inputs with `keyway connect --input NAME=VALUE`"
                )?;
            }
            writeln!(out, "next: keyway connect {}", created.name)?;
        }
        IntegrationCommand::List => {
            let client = ApiClient::new(&args.client)?;
            let list: List<IntegrationSummary> = client.get(&["integrations"]).await?;
            if list.items.is_empty() {
                writeln!(out, "no integrations yet; `keyway integration create --file <toml>` adds one")?;
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .items
                .iter()
                .map(|i| {
                    vec![
                        i.id.clone(),
                        i.name.clone(),
                        super::cell(i.auth_method.as_deref()),
                        super::cell(i.plugin.as_deref()),
                        super::cell(i.site.as_deref()),
                    ]
                })
                .collect();
            super::write_table(out, &["id", "name", "auth_method", "plugin", "site"], &rows)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_article_form_maps_to_the_post_body() {
        let body = integration_body(
            r#"
            name = "github"
            auth_method = "oauth2"
            client_id = "Iv1.abc"
            client_secret = "s3cr3t"
            site = "https://api.github.com"
            authorization_url = "https://github.com/login/oauth/authorize"
            token_path = "/login/oauth/access_token"
            revoke_path = "/applications/revoke"
            use_body_auth = true
            pkce = false
            scopes = """
            repo

            read:user
            """
            "#,
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "name": "github",
                "auth_method": "oauth2",
                "client_id": "Iv1.abc",
                "client_secret": "s3cr3t",
                "site": "https://api.github.com",
                "authorization_url": "https://github.com/login/oauth/authorize",
                "token_path": "/login/oauth/access_token",
                "revoke_path": "/applications/revoke",
                "use_body_auth": true,
                "pkce": false,
                "scopes": "            repo\n\n            read:user\n            ",
            })
        );
    }

    #[test]
    fn scopes_arrays_plugins_and_settings_pass_through() {
        let body = integration_body(
            r#"
            name = "zendesk"
            plugin = "zendesk"
            client_auth = "basic_and_post"
            issuer = "https://login.example.com"
            scopes = ["read", "write"]

            [settings]
            region = "eu"
            retries = 3
            ratio = 0.5
            since = 2024-01-02
            nested = { flags = [true, false] }
            "#,
        )
        .unwrap();
        assert_eq!(body["plugin"], "zendesk");
        assert_eq!(body["client_auth"], "basic_and_post");
        assert_eq!(body["issuer"], "https://login.example.com");
        assert_eq!(body["scopes"], json!(["read", "write"]));
        assert_eq!(
            body["settings"],
            json!({"region": "eu", "retries": 3, "ratio": 0.5, "since": "2024-01-02", "nested": {"flags": [true, false]}})
        );
        assert!(body.get("client_secret").is_none(), "absent fields are left to the server's defaults");
    }

    #[test]
    fn the_check_reads_the_same_file_into_the_integration_the_server_would_register() {
        let contents = integration_contents(
            r#"
            name = "zendesk"
            plugin = "zendesk"
            client_id = " Iv1.abc "
            client_secret = "s3cr3t"
            site = "https://zendesk.com"
            authorization_url = "https://zendesk.com/oauth/authorizations/new"
            token_path = "/oauth/tokens"
            use_body_auth = true
            scopes = "read\nwrite"

            [settings]
            expires_in = 3600

            [inputs]
            subdomain = "acme"

            [check]
            api_call = "GET /api/v2/users/me.json"
            "#,
        )
        .unwrap();
        let config = &contents.integration;
        assert_eq!(
            (config.name.as_str(), config.plugin.as_str(), config.client_id.as_str()),
            ("zendesk", "zendesk", "Iv1.abc")
        );
        assert_eq!(config.client_secret.as_ref().map(ClientSecret::secret), Some("s3cr3t"));
        assert_eq!(config.client_auth, ClientAuth::BasicAndPost);
        assert_eq!(config.scopes, ["read", "write"]);
        assert!(config.pkce, "the server's default");
        assert_eq!(config.settings, json!({"expires_in": 3600}));
        assert_eq!(contents.inputs, [("subdomain".to_string(), "acme".to_string())]);
        assert_eq!(contents.check.api_call.as_deref(), Some("GET /api/v2/users/me.json"));

        // `integration create` sends neither table.
        let body =
            integration_body("name = \"x\"\n[inputs]\nsubdomain = \"acme\"\n[check]\napi_call = \"GET /\"\n").unwrap();
        assert_eq!(body, json!({"name": "x"}));
    }

    #[test]
    fn what_the_mock_provider_prints_reads_back_as_the_same_integration() {
        let mut integration = IntegrationConfig::oauth2(
            "notion-mock",
            "demo-client",
            "demo-secret with:odd+chars",
            "http://127.0.0.1:4000",
            "http://127.0.0.1:4000/v1/oauth/authorize",
            "/v1/oauth/token",
        );
        integration.plugin = "notion".into();
        integration.revoke_path = Some("/v1/oauth/revoke".into());
        integration.client_auth = ClientAuth::Post;
        integration.pkce = false;
        integration.settings = json!({"graph_url": "http://127.0.0.1:4000"});
        let inputs = [("subdomain".to_string(), "acme".to_string())];
        let check = CheckTable { api_call: Some("GET /v1/users/me".into()), redirect_uri: None };
        let text = integration_toml(&integration, &inputs, &check).unwrap();
        let back = integration_contents(&text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
        let got = &back.integration;
        assert_eq!(got.site, integration.site);
        assert_eq!(got.authorization_url, integration.authorization_url);
        assert_eq!(got.token_path, integration.token_path);
        assert_eq!(got.revoke_path, integration.revoke_path);
        assert_eq!(got.client_secret.as_ref().map(ClientSecret::secret), Some("demo-secret with:odd+chars"));
        assert_eq!((got.client_auth, got.pkce, &got.settings), (ClientAuth::Post, false, &integration.settings));
        assert_eq!((back.inputs.as_slice(), &back.check), (inputs.as_slice(), &check));
    }

    #[test]
    fn a_missing_name_comes_with_an_example() {
        let message = integration_contents("site = \"https://x.test\"\n").unwrap_err();
        assert!(
            message.contains("missing field `name`") && message.contains(r#"e.g. `name = "yourapp"`"#),
            "{message}"
        );
        let message = integration_contents("name = \"x\"\nclient_auth = \"header\"\n").unwrap_err();
        assert!(message.starts_with("`client_auth`: unknown variant `header`"), "{message}");
        assert!(message.contains(r#"e.g. `client_auth = "basic"  # or "post", "basic_and_post"`"#), "{message}");
    }

    #[test]
    fn a_typo_or_a_missing_name_is_named() {
        let message = integration_body("name = \"x\"\ntoken_url = \"/token\"\n").unwrap_err();
        assert!(message.contains("unknown field `token_url`"), "{message}");
        let message = integration_body("site = \"https://x.test\"\n").unwrap_err();
        assert!(message.contains("missing field `name`"), "{message}");
        let message = integration_body("name = \"x\"\nuse_body_auth = \"yes\"\n").unwrap_err();
        assert!(message.contains("use_body_auth"), "{message}");
    }
}
