//! A plugin's hooks, found once per plugin and type-checked one at a time.
//!
//! The generated `IntegrationPre::instantiate_async` looks up and type-checks every export of
//! every interface (the manifest's records, each hook's variants) on each instantiation, for a
//! call that runs one hook: about 6% of a hook call's time. [`ExportIndices`] resolves each
//! hook's name once, when the plugin loads, where [`Exports::check_every_hook`] type-checks all
//! of them once with the generated indices, so a plugin with a wrong signature is still refused
//! at install; [`Exports`] then type-checks only the hook it calls, against the same signature
//! the generated bindings use.

use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, ComponentNamedList, Instance, InstancePre, Lift, Lower};

use super::bindings::IntegrationIndices;
use super::bindings::actions::{ActionContext, ActionError};
use super::bindings::auth_flow::{
    AuthPlacement, AuthorizeRequest, CallbackResult, Credentials, Grant, RevokeTarget, TokenSet,
};
use super::bindings::metadata::Manifest;
use super::bindings::types::{AuthError, HookContext, HttpRequest, HttpResponse};
use super::store::StoreData;
use super::{API_VERSION, PACKAGE};

/// Where each hook sits in a plugin's component.
#[derive(Clone)]
pub(crate) struct ExportIndices {
    get: ComponentExportIndex,
    authorize_url: ComponentExportIndex,
    parse_callback: ComponentExportIndex,
    token_request: ComponentExportIndex,
    parse_token_response: ComponentExportIndex,
    revoke_request: ComponentExportIndex,
    api_base: ComponentExportIndex,
    api_auth: ComponentExportIndex,
    sign_request: ComponentExportIndex,
    invoke: ComponentExportIndex,
}

impl ExportIndices {
    /// Finds every hook of `pre`'s component. Fails on a missing one, which the generated
    /// `IntegrationPre::new` refuses first, with the message users see.
    pub fn new(pre: &InstancePre<StoreData>) -> wasmtime::Result<Self> {
        let component = pre.component();
        let lookup = |interface: &str, name: &str| {
            let qualified = format!("{PACKAGE}/{interface}@{API_VERSION}");
            let instance = component
                .get_export_index(None, &qualified)
                .ok_or_else(|| wasmtime::format_err!("no exported instance named `{qualified}`"))?;
            component
                .get_export_index(Some(&instance), name)
                .ok_or_else(|| wasmtime::format_err!("instance export `{qualified}` does not have export `{name}`"))
        };
        Ok(Self {
            get: lookup("metadata", "get")?,
            authorize_url: lookup("auth-flow", "authorize-url")?,
            parse_callback: lookup("auth-flow", "parse-callback")?,
            token_request: lookup("auth-flow", "token-request")?,
            parse_token_response: lookup("auth-flow", "parse-token-response")?,
            revoke_request: lookup("auth-flow", "revoke-request")?,
            api_base: lookup("auth-flow", "api-base")?,
            api_auth: lookup("auth-flow", "api-auth")?,
            sign_request: lookup("auth-flow", "sign-request")?,
            invoke: lookup("actions", "invoke")?,
        })
    }
}

/// The hooks of one fresh instance. Each method type-checks its hook's signature, then calls it.
pub(crate) struct Exports<'a> {
    instance: Instance,
    indices: &'a ExportIndices,
}

impl<'a> Exports<'a> {
    /// The hooks of `instance`, an instance of the component `indices` were found in.
    pub fn new(instance: Instance, indices: &'a ExportIndices) -> Self {
        Self { instance, indices }
    }

    async fn call<P, R>(
        &self,
        store: &mut Store<StoreData>,
        index: &ComponentExportIndex,
        params: P,
    ) -> wasmtime::Result<R>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        (R,): ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let func = self.instance.get_typed_func::<P, (R,)>(&mut *store, index)?;
        let (answer,) = func.call_async(&mut *store, params).await?;
        Ok(answer)
    }

    /// Type-checks every hook of the instance, one at a time, against the signature its call
    /// below uses, so the error names the hook that differs; then against `every`, the
    /// generated bindings' indices of the same component, as they do on each instantiation,
    /// which also covers a hook added to the WIT before it is added here. Run once, when the
    /// plugin loads.
    pub fn check_every_hook(&self, store: &mut Store<StoreData>, every: &IntegrationIndices) -> wasmtime::Result<()> {
        let i = self.indices;
        self.check::<(), Manifest>(store, "metadata.get", &i.get)?;
        self.check::<(&HookContext, &AuthorizeRequest), Result<String, AuthError>>(
            store,
            "auth-flow.authorize-url",
            &i.authorize_url,
        )?;
        self.check::<(&HookContext, &[(String, String)]), Result<CallbackResult, AuthError>>(
            store,
            "auth-flow.parse-callback",
            &i.parse_callback,
        )?;
        self.check::<(&HookContext, &Grant), Result<HttpRequest, AuthError>>(
            store,
            "auth-flow.token-request",
            &i.token_request,
        )?;
        self.check::<(&HookContext, &Grant, &HttpResponse), Result<TokenSet, AuthError>>(
            store,
            "auth-flow.parse-token-response",
            &i.parse_token_response,
        )?;
        self.check::<(&HookContext, &RevokeTarget), Result<Option<HttpRequest>, AuthError>>(
            store,
            "auth-flow.revoke-request",
            &i.revoke_request,
        )?;
        self.check::<(&HookContext,), Result<String, AuthError>>(store, "auth-flow.api-base", &i.api_base)?;
        self.check::<(&HookContext,), Result<Vec<AuthPlacement>, AuthError>>(store, "auth-flow.api-auth", &i.api_auth)?;
        self.check::<(&HookContext, &HttpRequest, &Credentials), Result<HttpRequest, AuthError>>(
            store,
            "auth-flow.sign-request",
            &i.sign_request,
        )?;
        self.check::<(&ActionContext, &str, &str), Result<String, ActionError>>(store, "actions.invoke", &i.invoke)?;
        every
            .load(store, &self.instance)
            .map(drop)
            .map_err(|e| wasmtime::format_err!("a hook's signature differs from `{PACKAGE}@{API_VERSION}`: {e:#}"))
    }

    /// Type-checks one hook against the parameters `P` and result `R` its call passes.
    fn check<P, R>(
        &self,
        store: &mut Store<StoreData>,
        hook: &str,
        index: &ComponentExportIndex,
    ) -> wasmtime::Result<()>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        (R,): ComponentNamedList + Lift + Send + Sync + 'static,
    {
        match self.instance.get_typed_func::<P, (R,)>(&mut *store, index) {
            Ok(_) => Ok(()),
            Err(e) => {
                Err(wasmtime::format_err!("the signature of `{hook}` differs from `{PACKAGE}@{API_VERSION}`: {e:#}"))
            }
        }
    }

    /// `metadata.get`.
    pub async fn get(&self, store: &mut Store<StoreData>) -> wasmtime::Result<Manifest> {
        self.call(store, &self.indices.get, ()).await
    }

    /// `auth-flow.authorize-url`.
    pub async fn authorize_url(
        &self,
        store: &mut Store<StoreData>,
        ctx: &HookContext,
        req: &AuthorizeRequest,
    ) -> wasmtime::Result<Result<String, AuthError>> {
        self.call(store, &self.indices.authorize_url, (ctx, req)).await
    }

    /// `auth-flow.parse-callback`.
    pub async fn parse_callback(
        &self,
        store: &mut Store<StoreData>,
        ctx: &HookContext,
        query: &[(String, String)],
    ) -> wasmtime::Result<Result<CallbackResult, AuthError>> {
        self.call(store, &self.indices.parse_callback, (ctx, query)).await
    }

    /// `auth-flow.token-request`.
    pub async fn token_request(
        &self,
        store: &mut Store<StoreData>,
        ctx: &HookContext,
        grant: &Grant,
    ) -> wasmtime::Result<Result<HttpRequest, AuthError>> {
        self.call(store, &self.indices.token_request, (ctx, grant)).await
    }

    /// `auth-flow.parse-token-response`.
    pub async fn parse_token_response(
        &self,
        store: &mut Store<StoreData>,
        ctx: &HookContext,
        grant: &Grant,
        response: &HttpResponse,
    ) -> wasmtime::Result<Result<TokenSet, AuthError>> {
        self.call(store, &self.indices.parse_token_response, (ctx, grant, response)).await
    }

    /// `auth-flow.revoke-request`.
    pub async fn revoke_request(
        &self,
        store: &mut Store<StoreData>,
        ctx: &HookContext,
        target: &RevokeTarget,
    ) -> wasmtime::Result<Result<Option<HttpRequest>, AuthError>> {
        self.call(store, &self.indices.revoke_request, (ctx, target)).await
    }

    /// `auth-flow.api-base`.
    pub async fn api_base(
        &self,
        store: &mut Store<StoreData>,
        ctx: &HookContext,
    ) -> wasmtime::Result<Result<String, AuthError>> {
        self.call(store, &self.indices.api_base, (ctx,)).await
    }

    /// `auth-flow.api-auth`.
    pub async fn api_auth(
        &self,
        store: &mut Store<StoreData>,
        ctx: &HookContext,
    ) -> wasmtime::Result<Result<Vec<AuthPlacement>, AuthError>> {
        self.call(store, &self.indices.api_auth, (ctx,)).await
    }

    /// `auth-flow.sign-request`.
    pub async fn sign_request(
        &self,
        store: &mut Store<StoreData>,
        ctx: &HookContext,
        request: &HttpRequest,
        credentials: &Credentials,
    ) -> wasmtime::Result<Result<HttpRequest, AuthError>> {
        self.call(store, &self.indices.sign_request, (ctx, request, credentials)).await
    }

    /// `actions.invoke`.
    pub async fn invoke(
        &self,
        store: &mut Store<StoreData>,
        ctx: &ActionContext,
        name: &str,
        input: &str,
    ) -> wasmtime::Result<Result<String, ActionError>> {
        self.call(store, &self.indices.invoke, (ctx, name, input)).await
    }
}
