//! A component with every export of `keyway:plugin/integration@0.1.0` by name, but whose
//! `auth-flow.api-base` returns a `u32` where the plugin API says `string`: the names pass the
//! host's checks, so only the type check can refuse it, and it must, at install.

wit_bindgen::generate!({ path: "wit", world: "integration" });

use exports::keyway::plugin::actions::{ActionContext, ActionError, Guest as Actions};
use exports::keyway::plugin::auth_flow::{
    AuthPlacement, AuthorizeRequest, CallbackResult, Credentials, Grant, Guest as AuthFlow, RevokeTarget, TokenSet,
};
use exports::keyway::plugin::metadata::{Guest as Metadata, Manifest};
use keyway::plugin::types::{AuthError, HookContext, HttpRequest, HttpResponse, Json};

/// Never runs: the host refuses the component before calling any hook.
struct WrongSignature;

impl Metadata for WrongSignature {
    fn get() -> Manifest {
        unreachable!("refused at install")
    }
}

impl AuthFlow for WrongSignature {
    fn authorize_url(_: HookContext, _: AuthorizeRequest) -> Result<String, AuthError> {
        unreachable!()
    }
    fn parse_callback(_: HookContext, _: Vec<(String, String)>) -> Result<CallbackResult, AuthError> {
        unreachable!()
    }
    fn token_request(_: HookContext, _: Grant) -> Result<HttpRequest, AuthError> {
        unreachable!()
    }
    fn parse_token_response(_: HookContext, _: Grant, _: HttpResponse) -> Result<TokenSet, AuthError> {
        unreachable!()
    }
    fn revoke_request(_: HookContext, _: RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        unreachable!()
    }
    /// The wrong type: `string` in the plugin API.
    fn api_base(_: HookContext) -> Result<u32, AuthError> {
        unreachable!()
    }
    fn api_auth(_: HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        unreachable!()
    }
    fn sign_request(_: HookContext, _: HttpRequest, _: Credentials) -> Result<HttpRequest, AuthError> {
        unreachable!()
    }
}

impl Actions for WrongSignature {
    fn invoke(_: ActionContext, _: String, _: Json) -> Result<Json, ActionError> {
        unreachable!()
    }
}

export!(WrongSignature);
