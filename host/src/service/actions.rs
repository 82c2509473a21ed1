//! Custom actions: listing, the declarative definitions admins store, and running either kind
//! through a connection.

use keyway_store::Store as _;
use std::sync::Arc;

use keyway_declarative::Definition;
use keyway_policy::text::clip_plugin_text;
use keyway_store::{ActionRecord, IntegrationRecord};
use serde_json::Value;

use super::action_session::ActionSession;
use super::context::{ConnectionCtx, Freshness};
use super::model::{ActionKind, ActionOutcome, ActionView};
use super::{Service, ServiceError, now, require_admin};
use crate::actions::schema;
use crate::egress::Allowlist;
use crate::engine::bindings::actions::{ActionContext, ActionError};
use crate::engine::{CallEnv, CallError, LoadedPlugin};
use crate::integration::FieldError;
use crate::keys::Principal;
use crate::trace::Recorder;

/// Which code runs an action, and the schemas it is checked against.
struct Resolved {
    runner: Arc<LoadedPlugin>,
    input_schema: Value,
    output_schema: Option<Value>,
    /// The stored definition, for the declarative runner.
    definition: Option<String>,
}

impl Service {
    /// The integration's actions: its plugin's, then its declarative ones, with their schemas.
    pub async fn list_actions(&self, _who: &Principal, integration_id: &str) -> Result<Vec<ActionView>, ServiceError> {
        let record = self.integration_record(integration_id).await?;
        let plugin = self.plugin_for(&self.config_of(&record)?).await?;
        let mut views: Vec<ActionView> = plugin
            .manifest
            .actions
            .iter()
            .map(|a| ActionView {
                name: a.name.clone(),
                description: a.description.clone(),
                kind: ActionKind::Plugin,
                input_schema: a.input_schema.clone(),
                output_schema: Some(a.output_schema.clone()),
                definition: None,
            })
            .collect();
        for stored in self.store.list_actions(&record.id).await? {
            views.push(declarative_view(&stored)?);
        }
        Ok(views)
    }

    /// Stores a new declarative action (admin), its JSON text as written. The definition is
    /// checked in full first: its templates compile, its schemas are JSON Schemas, and its name
    /// is not one of the plugin's actions.
    pub async fn create_action(
        &self,
        who: &Principal,
        integration_id: &str,
        definition: &str,
    ) -> Result<ActionView, ServiceError> {
        require_admin(who, "defining actions")?;
        let stored = self.checked_action(integration_id, definition).await?;
        self.store.insert_action(&stored).await?;
        declarative_view(&stored)
    }

    /// Creates or replaces the declarative action `name` (admin).
    pub async fn put_action(
        &self,
        who: &Principal,
        integration_id: &str,
        name: &str,
        definition: &str,
    ) -> Result<ActionView, ServiceError> {
        require_admin(who, "defining actions")?;
        // `update_action` keeps the stored `created_at`; this one is used only when inserting.
        let stored = self.checked_action(integration_id, definition).await?;
        if stored.name != name {
            return Err(ServiceError::BadRequest(format!(
                "the definition is named `{}` but the URL says `{name}`; to rename an action, delete it and create it anew",
                stored.name
            )));
        }
        match self.store.update_action(&stored).await {
            Ok(()) => {}
            Err(keyway_store::StoreError::NotFound) => self.store.insert_action(&stored).await?,
            Err(e) => return Err(e.into()),
        }
        declarative_view(&stored)
    }

    /// Deletes the declarative action `name` (admin).
    pub async fn delete_action(&self, who: &Principal, integration_id: &str, name: &str) -> Result<(), ServiceError> {
        require_admin(who, "deleting actions")?;
        let record = self.integration_record(integration_id).await?;
        self.store.delete_action(&record.id, name).await.map_err(|e| match e {
            keyway_store::StoreError::NotFound => ServiceError::NotFound(format!(
                "integration `{}` has no declarative action `{name}` (plugin actions go with the plugin)",
                record.name
            )),
            other => other.into(),
        })
    }

    /// The action record to store for `definition` (its JSON text as written), once the
    /// definition is checked in full.
    async fn checked_action(&self, integration_id: &str, definition: &str) -> Result<ActionRecord, ServiceError> {
        let record = self.integration_record(integration_id).await?;
        let def = parse_definition(definition)?;
        schema::check_schema(&def.input_schema)
            .map_err(|e| ServiceError::BadRequest(format!("`input_schema` is {e}")))?;
        if let Some(output) = &def.output_schema {
            schema::check_schema(output).map_err(|e| ServiceError::BadRequest(format!("`output_schema` is {e}")))?;
        }
        let plugin = self.plugin_for(&self.config_of(&record)?).await?;
        if plugin.manifest.actions.iter().any(|a| a.name == def.name) {
            return Err(ServiceError::Conflict(format!(
                "plugin `{}` already has an action named `{}`; give the declarative action another name",
                plugin.manifest.name, def.name
            )));
        }
        let at = now();
        Ok(ActionRecord {
            integration_id: record.id,
            name: def.name,
            definition: definition.trim().to_string(),
            created_at: at,
            updated_at: at,
        })
    }

    /// Runs the action `name` through connection `id`: checks the input, runs the action in
    /// the sandbox with an API session on the connection, checks the output.
    pub async fn run_action(
        self: &Arc<Self>,
        who: &Principal,
        id: &str,
        name: &str,
        input: Value,
    ) -> Result<ActionOutcome, ServiceError> {
        let ctx = self.open_connection(who, id, Freshness::Callable).await?;
        let action = self.resolve_action(&ctx.plugin, &ctx.integration_record, name).await?;
        schema::validate(&action.input_schema, &input).map_err(|v| {
            ServiceError::Invalid(FieldError {
                field: format!("input{}", v.first_field),
                message: format!("the input does not match action `{name}`'s input schema: {}", v.message),
            })
        })?;
        let ConnectionCtx { record, integration, plugin, state, .. } = ctx;
        let target = self.flows.api_target(&plugin, &integration, &state, &Recorder::off()).await?;
        let ctx = ActionContext {
            connection_id: record.id.clone(),
            inputs: state.inputs.clone(),
            metadata: state.metadata.clone(),
            settings: integration.settings.to_string(),
            definition: action.definition.clone(),
        };
        let limits = self.settings.action_limits.clone();
        let session = Arc::new(ActionSession::new(
            self.clone(),
            record.id.clone(),
            integration.clone(),
            target,
            state,
            limits.clone(),
        ));
        // Actions reach the app only through `api`: the raw `outbound` import gets an empty
        // allowlist, so no request leaves without the host's auth and limits.
        let env = CallEnv {
            plugin: action.runner.manifest.name.clone(),
            integration: integration.name.clone(),
            allowlist: Allowlist::default(),
            egress: self.flows.egress().clone(),
            redactor: session.redactor(),
            api: Some(session.clone()),
            recorder: Recorder::off(),
        };
        let started = std::time::Instant::now();
        let result = self
            .flows
            .engine()
            .invoke(&action.runner, env, ctx, name.to_string(), input.to_string(), limits.deadline)
            .await;
        crate::metrics::action_run(&integration.name, name, &result, started.elapsed());
        let redactor = session.redactor();
        let scrub = |text: &str| redactor.scrub(text);
        let calls = session.calls();
        tracing::info!(
            connection = id,
            action = name,
            calls = calls.len(),
            ok = matches!(result, Ok((Ok(_), _))),
            "action run"
        );

        let output = match result {
            // The breach stopped the action's code where it was: it could not carry on without
            // the calls it was refused.
            Err(CallError::Limit { limit, .. }) => {
                return Err(ServiceError::LimitExceeded(format!("action `{name}` stopped: {limit}")));
            }
            Err(CallError::Timeout { timeout, .. }) => {
                return Err(ServiceError::LimitExceeded(format!(
                    "action `{name}` did not finish within its {timeout:?} deadline (setting `action_deadline`); it made {} API calls",
                    calls.len()
                )));
            }
            Err(e @ CallError::Busy { .. }) => return Err(e.into()),
            Err(e) => return Err(ServiceError::Upstream(scrub(&e.to_string()))),
            Ok((Err(e), _)) => {
                return Err(match e {
                    ActionError::InvalidInput(m) => {
                        ServiceError::BadRequest(format!("action `{name}`: {}", scrub(&clip_plugin_text(m))))
                    }
                    ActionError::Upstream(m) => {
                        ServiceError::Upstream(format!("action `{name}`: {}", scrub(&clip_plugin_text(m))))
                    }
                    ActionError::Plugin(m) => ServiceError::Upstream(format!(
                        "action `{name}` failed inside plugin `{}`: {}",
                        action.runner.manifest.name,
                        scrub(&clip_plugin_text(m))
                    )),
                });
            }
            Ok((Ok(text), _)) => text,
        };
        let output: Value = serde_json::from_str(&output)
            .map_err(|e| ServiceError::Upstream(format!("action `{name}` returned output that is not JSON: {e}")))?;
        if let Some(output_schema) = &action.output_schema {
            schema::validate(output_schema, &output).map_err(|v| {
                ServiceError::Upstream(format!(
                    "action `{name}` returned output that does not match its output schema: {}",
                    v.message
                ))
            })?;
        }
        // The action never had the credentials, but the output is scrubbed all the same: the
        // API it called may have echoed them.
        let output = serde_json::from_str(&scrub(&output.to_string())).unwrap_or(output);
        Ok(ActionOutcome { output, calls })
    }

    /// The plugin's action `name`, else the integration's declarative action `name`.
    async fn resolve_action(
        &self,
        plugin: &Arc<LoadedPlugin>,
        integration: &IntegrationRecord,
        name: &str,
    ) -> Result<Resolved, ServiceError> {
        if let Some(spec) = plugin.manifest.actions.iter().find(|a| a.name == name) {
            return Ok(Resolved {
                runner: plugin.clone(),
                input_schema: spec.input_schema.clone(),
                output_schema: Some(spec.output_schema.clone()),
                definition: None,
            });
        }
        let Some(stored) = self.store.cached_action(&integration.id, name).await? else {
            return Err(ServiceError::NotFound(format!(
                "integration `{}` has no action `{name}`; list them with GET /api/v1/integrations/{}/actions",
                integration.name, integration.id
            )));
        };
        let def = parse_definition(&stored.definition)?;
        Ok(Resolved {
            runner: self.plugins.declarative().clone(),
            input_schema: def.input_schema,
            output_schema: def.output_schema,
            definition: Some(stored.definition.clone()),
        })
    }
}

fn parse_definition(definition: &str) -> Result<Definition, ServiceError> {
    Definition::parse(definition)
        .map_err(|e| ServiceError::BadRequest(format!("the action definition is invalid: {e}")))
}

fn declarative_view(stored: &ActionRecord) -> Result<ActionView, ServiceError> {
    let value: Value = serde_json::from_str(&stored.definition)
        .map_err(|e| ServiceError::Internal(format!("stored action `{}` is not JSON: {e}", stored.name)))?;
    let def = parse_definition(&stored.definition)?;
    Ok(ActionView {
        name: def.name,
        description: def.description,
        kind: ActionKind::Declarative,
        input_schema: def.input_schema,
        output_schema: def.output_schema,
        definition: Some(value),
    })
}
