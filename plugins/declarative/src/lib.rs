//! The built-in component that runs declarative actions.
//!
//! An admin stores a declarative action as JSON on an integration; to run it, the host calls
//! this component's `actions.invoke` with the stored definition in `ctx.definition`. The steps
//! go out through `api.call`, so a declarative action gets exactly what a plugin action gets:
//! the sandbox, the connection's credentials attached by the host (never seen here), a refresh
//! after a 401, retries of 429 and 5xx, the egress allowlist, and the caps on calls and time.
//!
//! The auth hooks are the SDK's defaults and are never called: the host uses this component
//! only for actions, and each integration keeps its own plugin for authentication.
//!
//! How a failed run is reported, so the caller knows what to fix:
//!
//! | failure | [`ActionError`] |
//! |---|---|
//! | a template reads a missing `input.*` value | `InvalidInput`: fix the input |
//! | any other template failure (a missing `steps.*` value, a failing expression), or a path that renders to something that is not a path | `Plugin`: fix the definition |
//! | the API answered outside 2xx, or the call failed (including the host's `denied`, whose text is kept; a breached call cap or deadline stops the run in the host instead) | `Upstream` |
//! | no definition in the context, or one that does not parse | `Plugin` |

use keyway_declarative::{Definition, RunError, StepRequest, StepResponse};
use keyway_sdk::serde_json::Value;
use keyway_sdk::{ActionContext, ActionError, ApiRequest, Manifest, Plugin, standard};

/// Runs the definition it is given; declares no actions of its own.
#[derive(Default)]
struct Declarative;

impl Plugin for Declarative {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "keyway-declarative".to_string(),
            description: "Runs stored declarative actions".to_string(),
            ..standard::manifest()
        }
    }

    fn invoke(&self, ctx: &ActionContext, name: &str, input: Value) -> Result<Value, ActionError> {
        let Some(text) = ctx.definition.as_deref() else {
            return Err(ActionError::Plugin(format!(
                "no definition was passed for the declarative action `{name}`: the host must put the stored \
                 definition in the action's context"
            )));
        };
        // The host validated the definition when it was saved; parsing again guards against a
        // definition saved by an older version with rules this one no longer accepts.
        let definition = Definition::parse(text).map_err(|e| {
            ActionError::Plugin(format!(
                "the stored definition of `{name}` cannot be used; save it again after fixing: {e}"
            ))
        })?;
        keyway_declarative::run(&definition, &input, send).map_err(action_error)
    }
}

/// Sends one step through the host's `api.call`.
fn send(request: StepRequest) -> Result<StepResponse, String> {
    let StepRequest { method, path, query, headers, body, .. } = request;
    let response = keyway_sdk::api::call(&ApiRequest { method, path, query, headers, body })
        // `HttpError`'s text keeps the host's own message (`denied`, `too-large`) whole.
        .map_err(|e| e.to_string())?;
    Ok(StepResponse { status: response.status, headers: response.headers, body: response.body })
}

/// Sorts a failed run by whom it asks to act: the caller, the API, or the definition's author.
fn action_error(error: RunError) -> ActionError {
    let message = error.to_string();
    match error {
        RunError::Template { .. } if error.concerns_input() => ActionError::InvalidInput(message),
        RunError::Template { .. } | RunError::Request { .. } => ActionError::Plugin(message),
        RunError::Transport { .. } | RunError::Status { .. } => ActionError::Upstream(message),
    }
}

keyway_sdk::export!(Declarative);
