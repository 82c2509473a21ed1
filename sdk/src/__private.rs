//! What [`export!`](crate::export) expands to: the generated `Guest` traits implemented once,
//! generically, by delegating to a [`Plugin`]. Not part of the API.

use std::marker::PhantomData;

use crate::bindings::exports::keyway::plugin::{actions, auth_flow, metadata};
use crate::{
    ActionContext, ActionError, AuthError, AuthPlacement, AuthorizeRequest, CallbackResult, Credentials, Grant,
    HookContext, HttpRequest, HttpResponse, Manifest, Plugin, RevokeTarget, TokenSet,
};

/// The plugin crate's `Cargo.toml` fields, read with `env!` in the plugin crate by `export!`.
pub trait Package {
    /// `CARGO_PKG_NAME`.
    const NAME: &'static str;
    /// `CARGO_PKG_VERSION`.
    const VERSION: &'static str;
    /// `CARGO_PKG_DESCRIPTION`.
    const DESCRIPTION: &'static str;
}

/// Implements the generated `Guest` traits for the plugin `P` of the package `K`. Never built:
/// the bindings call its associated functions.
pub struct Adapter<P, K>(PhantomData<(P, K)>);

/// Fills the manifest fields the plugin left empty from its package.
fn with_package_defaults<K: Package>(mut manifest: Manifest) -> Manifest {
    for (field, default) in [
        (&mut manifest.name, K::NAME),
        (&mut manifest.version, K::VERSION),
        (&mut manifest.description, K::DESCRIPTION),
    ] {
        if field.is_empty() {
            *field = default.to_string();
        }
    }
    manifest
}

impl<P: Plugin + Default, K: Package> metadata::Guest for Adapter<P, K> {
    fn get() -> Manifest {
        with_package_defaults::<K>(P::default().manifest())
    }
}

impl<P: Plugin + Default, K: Package> auth_flow::Guest for Adapter<P, K> {
    fn authorize_url(ctx: HookContext, req: AuthorizeRequest) -> Result<String, AuthError> {
        P::default().authorize_url(&ctx, &req)
    }

    fn parse_callback(ctx: HookContext, query: Vec<(String, String)>) -> Result<CallbackResult, AuthError> {
        P::default().parse_callback(&ctx, &query)
    }

    fn token_request(ctx: HookContext, grant: Grant) -> Result<HttpRequest, AuthError> {
        P::default().token_request(&ctx, &grant)
    }

    fn parse_token_response(ctx: HookContext, grant: Grant, response: HttpResponse) -> Result<TokenSet, AuthError> {
        P::default().parse_token_response(&ctx, &grant, &response)
    }

    fn revoke_request(ctx: HookContext, target: RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        P::default().revoke_request(&ctx, &target)
    }

    fn api_base(ctx: HookContext) -> Result<String, AuthError> {
        P::default().api_base(&ctx)
    }

    fn api_auth(ctx: HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        P::default().api_auth(&ctx)
    }

    fn sign_request(
        ctx: HookContext,
        request: HttpRequest,
        credentials: Credentials,
    ) -> Result<HttpRequest, AuthError> {
        P::default().sign_request(&ctx, request, &credentials)
    }
}

impl<P: Plugin + Default, K: Package> actions::Guest for Adapter<P, K> {
    fn invoke(ctx: ActionContext, name: String, input: String) -> Result<String, ActionError> {
        let input = serde_json::from_str(&input)
            .map_err(|e| ActionError::InvalidInput(format!("the input of `{name}` is not valid JSON: {e}")))?;
        let output = P::default().invoke(&ctx, &name, input)?;
        serde_json::to_string(&output)
            .map_err(|e| ActionError::Plugin(format!("the output of `{name}` cannot be written as JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::exports::keyway::plugin::actions::Guest as _;
    use crate::bindings::exports::keyway::plugin::auth_flow::Guest as _;
    use crate::bindings::exports::keyway::plugin::metadata::Guest as _;
    use crate::standard;
    use serde_json::{Value, json};

    struct TestPackage;
    impl Package for TestPackage {
        const NAME: &'static str = "acme-plugin";
        const VERSION: &'static str = "1.2.3";
        const DESCRIPTION: &'static str = "Acme's OAuth2 quirks";
    }

    /// Overrides the manifest's description and callback code, and offers one action.
    #[derive(Default)]
    struct Acme;
    impl Plugin for Acme {
        fn manifest(&self) -> Manifest {
            let mut manifest = standard::manifest();
            manifest.description = "Written by hand".into();
            manifest.callback.code = "spapi_oauth_code".into();
            manifest
        }

        fn invoke(&self, _ctx: &ActionContext, name: &str, input: Value) -> Result<Value, ActionError> {
            match name {
                "echo" => Ok(json!({"got": input})),
                _ => standard::invoke(_ctx, name, input),
            }
        }
    }

    #[derive(Default)]
    struct Standard;
    impl Plugin for Standard {}

    type AcmeExport = Adapter<Acme, TestPackage>;
    type StandardExport = Adapter<Standard, TestPackage>;

    fn action_context() -> ActionContext {
        ActionContext {
            connection_id: "c1".into(),
            inputs: vec![],
            metadata: vec![],
            settings: "{}".into(),
            definition: None,
        }
    }

    #[test]
    fn manifest_fills_only_empty_fields_from_the_package() {
        let manifest = AcmeExport::get();
        assert_eq!(manifest.name, "acme-plugin");
        assert_eq!(manifest.version, "1.2.3");
        assert_eq!(manifest.description, "Written by hand");

        let manifest = StandardExport::get();
        assert_eq!(manifest.description, "Acme's OAuth2 quirks");
        assert_eq!(manifest.callback.code, "code");
        assert_eq!(manifest.callback.state, "state");
    }

    #[test]
    fn default_parse_callback_reads_the_code_parameter_the_manifest_names() {
        let ctx = crate::standard::tests::context(crate::ClientAuth::Basic);
        let query =
            vec![("spapi_oauth_code".to_string(), "the-code".to_string()), ("state".to_string(), "s".to_string())];
        assert_eq!(AcmeExport::parse_callback(ctx.clone(), query.clone()).unwrap().code, "the-code");
        let error = StandardExport::parse_callback(ctx, query).unwrap_err();
        assert!(
            matches!(&error, AuthError::InvalidResponse(m) if m.contains("no `code` parameter")
                && m.contains("spapi_oauth_code, state")),
            "{error:?}"
        );
    }

    #[test]
    fn invoke_parses_input_and_serialises_output() {
        let output = AcmeExport::invoke(action_context(), "echo".into(), r#"{"a":[1,2]}"#.into());
        assert_eq!(serde_json::from_str::<Value>(&output.unwrap()).unwrap(), json!({"got": {"a": [1, 2]}}));
    }

    #[test]
    fn invoke_rejects_input_that_is_not_json() {
        let error = AcmeExport::invoke(action_context(), "echo".into(), "{oops".into()).unwrap_err();
        assert!(
            matches!(&error, ActionError::InvalidInput(m) if m.starts_with("the input of `echo` is not valid JSON")),
            "{error:?}"
        );
    }

    #[test]
    fn standard_invoke_names_the_unknown_action() {
        let error = StandardExport::invoke(action_context(), "sync".into(), "null".into()).unwrap_err();
        assert_eq!(error, ActionError::InvalidInput("unknown action `sync`: this plugin declares no actions".into()));
        assert_eq!(error.to_string(), "invalid input: unknown action `sync`: this plugin declares no actions");
    }
}
