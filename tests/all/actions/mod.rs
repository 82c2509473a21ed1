//! Custom actions through the real service: declarative definitions stored in the database
//! and run by the built-in component, plugin actions, and the limits and secrecy the host
//! enforces around both. Each runs on SQLite and PostgreSQL against the strict mock provider.

mod declarative;
mod limits;
mod secrecy;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Reply};

/// Saves a declarative action on `integration` as the admin.
pub async fn save(api: &Api, integration: &str, definition: Value) -> Reply {
    api.admin(Method::POST, &format!("/api/v1/integrations/{integration}/actions"), Some(definition)).await
}

/// Runs `name` through `connection` as the admin.
pub async fn run(api: &Api, connection: &str, name: &str, input: Value) -> Reply {
    api.admin(
        Method::POST,
        &format!("/api/v1/connections/{connection}/actions/{name}"),
        Some(json!({ "input": input })),
    )
    .await
}

/// A connected standard integration on the API's mock: `(integration id, connection id)`.
pub async fn connected(api: &Api) -> (String, String) {
    let integration = api.integration(json!({})).await;
    let key = api.admin_key.clone();
    let connection = api.connect(&key, &integration).await;
    (integration, connection)
}

/// The statuses of a run's `calls`, in order.
pub fn statuses(outcome: &Value) -> Vec<Value> {
    outcome["calls"].as_array().expect("calls").iter().map(|c| c["status"].clone()).collect()
}
