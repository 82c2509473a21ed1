//! `keyway action list|run|save|delete`: custom actions through a running server.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{ApiClient, ClientArgs, Kind};
use super::integration::IntegrationSummary;
use crate::service::model::ConnectionView;
use crate::service::model::List;

/// `keyway action …`
#[derive(clap::Args, Debug)]
pub struct ActionArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ActionCommand,
}

/// The action subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ActionCommand {
    /// List an integration's actions, plugin and declarative, with their input fields.
    List {
        /// The server and key.
        #[command(flatten)]
        client: ClientArgs,
        /// The integration's id or name.
        integration: String,
        /// Print the full JSON, schemas included.
        #[arg(long)]
        json: bool,
    },
    /// Run an action through a connection and print its output and the API calls it made.
    Run {
        /// The server and key.
        #[command(flatten)]
        client: ClientArgs,
        /// The connection's id or name.
        connection: String,
        /// The action's name.
        name: String,
        /// The input, a JSON object; `@file` reads a file, `@-` standard input.
        #[arg(long, short = 'i', value_name = "JSON", default_value = "{}")]
        input: String,
    },
    /// Save a declarative action from a JSON definition file (admin); replaces one of the same name.
    Save {
        /// The server and key.
        #[command(flatten)]
        client: ClientArgs,
        /// The integration's id or name.
        integration: String,
        /// The definition: `{"name", "input_schema", "steps": [...], "output"}`.
        file: PathBuf,
    },
    /// Delete a declarative action (admin).
    Delete {
        /// The server and key.
        #[command(flatten)]
        client: ClientArgs,
        /// The integration's id or name.
        integration: String,
        /// The action's name.
        name: String,
    },
}

/// An action as listed.
#[derive(Debug, Deserialize)]
struct ActionSummary {
    name: String,
    #[serde(default)]
    description: String,
    kind: String,
    #[serde(default)]
    input_schema: Value,
}

/// An action run's answer.
#[derive(Debug, Deserialize)]
struct Outcome {
    output: Value,
    #[serde(default)]
    calls: Vec<CallLine>,
}

#[derive(Debug, Deserialize)]
struct CallLine {
    method: String,
    path: String,
    status: Option<u16>,
    duration_ms: u64,
    #[serde(default)]
    note: Option<String>,
}

/// The input's top-level fields as `name*` (required) or `name`, for the listing.
fn input_fields(schema: &Value) -> String {
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let fields: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().map(|k| if required.contains(&k.as_str()) { format!("{k}*") } else { k.clone() }).collect())
        .unwrap_or_default();
    if fields.is_empty() { "-".into() } else { fields.join(", ") }
}

fn read_input(text: &str) -> anyhow::Result<Value> {
    let text = match text.strip_prefix('@') {
        Some("-") => std::io::read_to_string(std::io::stdin()).context("cannot read the input from standard input")?,
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read the input from {path}"))?,
        None => text.to_string(),
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("--input is not JSON ({e}); write e.g. --input '{{\"owner\": \"acme\"}}'"))?;
    anyhow::ensure!(value.is_object(), "--input must be a JSON object, such as '{{\"owner\": \"acme\"}}'");
    Ok(value)
}

/// Runs `keyway action`.
pub async fn run(args: ActionArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match args.command {
        ActionCommand::List { client, integration, json } => {
            let client = ApiClient::new(&client)?;
            let id = client.resolve_id::<IntegrationSummary>(Kind::Integration, &integration).await?;
            if json {
                let list: Value = client.get(&["integrations", &id, "actions"]).await?;
                writeln!(out, "{}", serde_json::to_string_pretty(&list["items"])?)?;
                return Ok(());
            }
            let list: List<ActionSummary> = client.get(&["integrations", &id, "actions"]).await?;
            if list.items.is_empty() {
                writeln!(out, "no actions; save a declarative one with `keyway action save {integration} <file>`")?;
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .items
                .iter()
                .map(|a| vec![a.name.clone(), a.kind.clone(), input_fields(&a.input_schema), a.description.clone()])
                .collect();
            super::write_table(out, &["name", "kind", "input (* required)", "description"], &rows)?;
        }
        ActionCommand::Run { client, connection, name, input } => {
            let input = read_input(&input)?;
            let client = ApiClient::new(&client)?;
            let id = client.resolve_id::<ConnectionView>(Kind::Connection, &connection).await?;
            let outcome: Outcome =
                client.post(&["connections", &id, "actions", &name], &json!({ "input": input })).await?;
            for call in &outcome.calls {
                let status = call.status.map_or("-".to_string(), |s| s.to_string());
                let note = call.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
                writeln!(out, "  {} {} -> {status} in {} ms{note}", call.method, call.path, call.duration_ms)?;
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&outcome.output)?)?;
        }
        ActionCommand::Save { client, integration, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let definition: Value =
                serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", file.display()))?;
            let name = definition["name"]
                .as_str()
                .with_context(|| format!("{} has no \"name\"; name the action", file.display()))?
                .to_string();
            let client = ApiClient::new(&client)?;
            let id = client.resolve_id::<IntegrationSummary>(Kind::Integration, &integration).await?;
            let _: Value = client.put(&["integrations", &id, "actions", &name], &definition).await?;
            writeln!(
                out,
                "saved action `{name}`; run it with `keyway action run <connection> {name} --input '{{...}}'`"
            )?;
        }
        ActionCommand::Delete { client, integration, name } => {
            let client = ApiClient::new(&client)?;
            let id = client.resolve_id::<IntegrationSummary>(Kind::Integration, &integration).await?;
            client.delete(&["integrations", &id, "actions", &name]).await?;
            writeln!(out, "deleted action `{name}`")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_fields_mark_the_required_ones() {
        let schema = json!({"properties": {"owner": {}, "repo": {}, "labels": {}}, "required": ["owner", "repo"]});
        assert_eq!(input_fields(&schema), "labels, owner*, repo*");
        assert_eq!(input_fields(&json!({"type": "object"})), "-");
    }

    #[test]
    fn input_must_be_a_json_object() {
        assert_eq!(read_input(r#"{"a": 1}"#).unwrap(), json!({"a": 1}));
        assert!(read_input("[1]").unwrap_err().to_string().contains("JSON object"));
        assert!(read_input("{oops").unwrap_err().to_string().starts_with("--input is not JSON"));
    }
}
