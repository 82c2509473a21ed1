//! One typed method per plugin export. Each runs in a fresh instance under every limit and
//! hands back the call environment, whose trace shows what the hook sent.

use super::bindings::actions::{ActionContext, ActionError};
use super::bindings::auth_flow::{
    AuthPlacement, AuthorizeRequest, CallbackResult, Credentials, Grant, RevokeTarget, TokenSet,
};
use super::bindings::types::{AuthError, HookContext, HttpRequest, HttpResponse};
use super::{CallEnv, CallError, LoadedPlugin, PluginEngine};

/// A hook's answer (the plugin's own `Result`) plus the environment after the call.
pub type HookResult<T, E = AuthError> = Result<(Result<T, E>, CallEnv), CallError>;

/// A [`HookResult`] with the number of outbound requests the hook sent, refused ones included.
pub(crate) type CountedResult<T> = Result<(Result<T, AuthError>, CallEnv, u32), CallError>;

impl PluginEngine {
    /// `auth-flow.authorize-url`.
    pub async fn authorize_url(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
        req: AuthorizeRequest,
    ) -> HookResult<String> {
        self.call(&plugin.pre, env, "authorize-url", move |store, exports| {
            Box::pin(async move { exports.authorize_url(store, &ctx, &req).await })
        })
        .await
    }

    /// `auth-flow.parse-callback`.
    pub async fn parse_callback(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
        query: Vec<(String, String)>,
    ) -> HookResult<CallbackResult> {
        self.call(&plugin.pre, env, "parse-callback", move |store, exports| {
            Box::pin(async move { exports.parse_callback(store, &ctx, &query).await })
        })
        .await
    }

    /// `auth-flow.token-request`.
    pub async fn token_request(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
        grant: Grant,
    ) -> HookResult<HttpRequest> {
        self.call(&plugin.pre, env, "token-request", move |store, exports| {
            Box::pin(async move { exports.token_request(store, &ctx, &grant).await })
        })
        .await
    }

    /// `auth-flow.parse-token-response`. Outbound calls are allowed inside (two-step exchanges).
    pub async fn parse_token_response(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
        grant: Grant,
        response: HttpResponse,
    ) -> HookResult<TokenSet> {
        self.call(&plugin.pre, env, "parse-token-response", move |store, exports| {
            Box::pin(async move { exports.parse_token_response(store, &ctx, &grant, &response).await })
        })
        .await
    }

    /// `auth-flow.revoke-request`.
    pub async fn revoke_request(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
        target: RevokeTarget,
    ) -> HookResult<Option<HttpRequest>> {
        self.call(&plugin.pre, env, "revoke-request", move |store, exports| {
            Box::pin(async move { exports.revoke_request(store, &ctx, &target).await })
        })
        .await
    }

    /// `auth-flow.api-base`.
    pub async fn api_base(&self, plugin: &LoadedPlugin, env: CallEnv, ctx: HookContext) -> HookResult<String> {
        self.api_base_counted(plugin, env, ctx).await.map(|(result, env, _)| (result, env))
    }

    /// `auth-flow.api-auth`.
    pub async fn api_auth(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
    ) -> HookResult<Vec<AuthPlacement>> {
        self.api_auth_counted(plugin, env, ctx).await.map(|(result, env, _)| (result, env))
    }

    /// `auth-flow.api-base`, with the number of outbound requests it sent.
    pub(crate) async fn api_base_counted(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
    ) -> CountedResult<String> {
        self.call_counted(&plugin.pre, env, "api-base", self.limits.call_timeout, move |store, exports| {
            Box::pin(async move { exports.api_base(store, &ctx).await })
        })
        .await
    }

    /// `auth-flow.api-auth`, with the number of outbound requests it sent.
    pub(crate) async fn api_auth_counted(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
    ) -> CountedResult<Vec<AuthPlacement>> {
        self.call_counted(&plugin.pre, env, "api-auth", self.limits.call_timeout, move |store, exports| {
            Box::pin(async move { exports.api_auth(store, &ctx).await })
        })
        .await
    }

    /// `auth-flow.sign-request`: one API call, signed. Called only for plugins whose manifest
    /// says `signs-requests`, in a fresh instance whose `env` should allow no outbound call.
    pub async fn sign_request(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: HookContext,
        request: HttpRequest,
        credentials: Credentials,
    ) -> HookResult<HttpRequest> {
        self.call(&plugin.pre, env, "sign-request", move |store, exports| {
            Box::pin(async move { exports.sign_request(store, &ctx, &request, &credentials).await })
        })
        .await
    }

    /// `actions.invoke`, with the action's API session in `env`, within `deadline` (the
    /// action's, which may differ from the hook timeout).
    pub async fn invoke(
        &self,
        plugin: &LoadedPlugin,
        env: CallEnv,
        ctx: ActionContext,
        name: String,
        input: String,
        deadline: std::time::Duration,
    ) -> HookResult<String, ActionError> {
        let (result, env, _) = self
            .call_counted(&plugin.pre, env, "invoke", deadline, move |store, exports| {
                Box::pin(async move { exports.invoke(store, &ctx, &name, &input).await })
            })
            .await?;
        Ok((result, env))
    }
}
