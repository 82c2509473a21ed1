//! `keyway keys create|list|revoke`: API keys (admin only, enforced by the server).

use std::io::Write;

use serde::Deserialize;
use serde_json::json;

use super::client::{ApiClient, ClientArgs, Kind, Listed};
use crate::service::model::List;

/// `keyway keys …`
#[derive(clap::Args, Debug)]
pub struct KeysArgs {
    /// The server and key.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// The keys subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key and print it, once.
    Create {
        /// `admin` manages integrations, plugins and keys; `member` creates connections and
        /// uses those it owns or is allowed on.
        #[arg(long, value_enum)]
        role: Role,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List the keys: id, name, role, created, revoked.
    List,
    /// Revoke a key by id (or unique name); requests made with it are refused from then on.
    Revoke {
        /// The key's id or unique name.
        key: String,
    },
}

/// An API key's role.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Manages integrations, plugins and keys.
    Admin,
    /// Creates and uses connections.
    Member,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// A key as listed; the key itself is never listed.
#[derive(Deserialize, Debug)]
pub struct KeySummary {
    /// The opaque id.
    pub id: String,
    /// The label, if any.
    #[serde(default)]
    pub name: Option<String>,
    /// `admin` or `member`.
    pub role: String,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    /// RFC 3339, when revoked.
    #[serde(default)]
    pub revoked_at: Option<String>,
}

impl Listed for KeySummary {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The answer to `POST /api/v1/keys`: the only time the key is shown. No `Debug`.
#[derive(Deserialize)]
struct CreatedKey {
    id: String,
    #[serde(default)]
    name: Option<String>,
    role: String,
    key: String,
}

/// The body of `POST /api/v1/keys`.
fn create_body(role: Role, name: Option<&str>) -> serde_json::Value {
    let mut body = json!({ "role": role.as_str() });
    if let Some(name) = name {
        body["name"] = json!(name);
    }
    body
}

/// Runs `keyway keys …`.
pub async fn run(args: KeysArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.client)?;
    match args.command {
        KeysCommand::Create { role, name } => {
            let created: CreatedKey = client.post(&["keys"], &create_body(role, name.as_deref())).await?;
            let label =
                created.name.as_deref().filter(|n| !n.is_empty()).map(|n| format!(" ({n})")).unwrap_or_default();
            writeln!(out, "created {} key {}{label}:", created.role, created.id)?;
            writeln!(out)?;
            writeln!(out, "  {}", created.key)?;
            writeln!(out)?;
            writeln!(out, "Store it now: it is not shown again. Use it as KEYWAY_API_KEY or --api-key.")?;
        }
        KeysCommand::List => {
            let list: List<KeySummary> = client.get(&["keys"]).await?;
            let rows: Vec<Vec<String>> = list
                .items
                .iter()
                .map(|k| {
                    vec![
                        k.id.clone(),
                        super::cell(k.name.as_deref()),
                        k.role.clone(),
                        super::cell(k.created_at.as_deref()),
                        super::cell(k.revoked_at.as_deref()),
                    ]
                })
                .collect();
            super::write_table(out, &["id", "name", "role", "created", "revoked"], &rows)?;
        }
        KeysCommand::Revoke { key } => {
            let id = client.resolve_id::<KeySummary>(Kind::Key, &key).await?;
            client.delete(&["keys", &id]).await?;
            writeln!(out, "revoked key {id}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        keys: KeysArgs,
    }

    #[test]
    fn create_takes_a_role_and_an_optional_name() {
        let argv = ["keyway", "--api-key", "k", "create", "--role", "member", "--name", "ci"];
        let KeysCommand::Create { role, name } = Wrapper::try_parse_from(argv).unwrap().keys.command else {
            panic!("not create")
        };
        assert_eq!(create_body(role, name.as_deref()), json!({"role": "member", "name": "ci"}));
        assert_eq!(create_body(Role::Admin, None), json!({"role": "admin"}));
        let error = Wrapper::try_parse_from(["keyway", "create", "--role", "owner"]).err().unwrap().to_string();
        assert!(error.contains("[possible values: admin, member]"), "{error}");
    }
}
