//! `keyway integration create|list`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::client::{ApiClient, ClientArgs, Items};

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
}

/// The JSON body of `POST /api/v1/integrations` for an integration file's text.
pub fn integration_body(toml_text: &str) -> Result<serde_json::Value, String> {
    let file: IntegrationFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
    let mut body = serde_json::to_value(&file).map_err(|e| e.to_string())?;
    if let Some(settings) = file.settings {
        body["settings"] = toml_to_json(toml::Value::Table(settings), "settings")?;
    }
    Ok(body)
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

fn read_body(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    integration_body(&text).map_err(|e| anyhow::anyhow!("{} is not a valid integration file: {e}", path.display()))
}

/// Runs `keyway integration …`.
pub async fn run(args: IntegrationArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match args.command {
        IntegrationCommand::Create { file } => {
            // Read the file first: a typo should not wait on the network, nor need a key.
            let body = read_body(&file)?;
            let client = ApiClient::new(&args.client)?;
            let created: IntegrationSummary = client.post(&["integrations"], &body).await?;
            writeln!(out, "created integration {} ({})", created.id, created.name)?;
            writeln!(out, "next: keyway connect {}", created.name)?;
        }
        IntegrationCommand::List => {
            let client = ApiClient::new(&args.client)?;
            let list: Items<IntegrationSummary> = client.get(&["integrations"]).await?;
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
    fn a_typo_or_a_missing_name_is_named() {
        let message = integration_body("name = \"x\"\ntoken_url = \"/token\"\n").unwrap_err();
        assert!(message.contains("unknown field `token_url`"), "{message}");
        let message = integration_body("site = \"https://x.test\"\n").unwrap_err();
        assert!(message.contains("missing field `name`"), "{message}");
        let message = integration_body("name = \"x\"\nuse_body_auth = \"yes\"\n").unwrap_err();
        assert!(message.contains("use_body_auth"), "{message}");
    }
}
