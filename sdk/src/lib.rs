//! Write Keyway plugins: per-app OAuth2 formatting and composite actions, as WebAssembly
//! components.
//!
//! A plugin implements [`Plugin`], whose every method defaults to the standard OAuth2 flow of
//! [`standard`], overrides only what its app does differently, and registers itself with
//! [`export!`]:
//!
//! ```no_run
//! use keyway_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Notion;
//!
//! impl Plugin for Notion {
//!     fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
//!         let url = standard::authorize_url(ctx, req)?;
//!         Ok(keyway_sdk::url::append_query(&url, &[("owner", "user")]))
//!     }
//! }
//!
//! keyway_sdk::export!(Notion);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (crate type `cdylib`). The host
//! does all I/O and keeps the secrets at rest; a plugin only formats requests and reads answers.
//! It has no network, files or environment of its own: outbound calls go through
//! [`http::send`] (auth hooks) or [`api::call`] (actions), under the host's egress allowlist.
//! The wall clock ([`time`]) and secure random numbers ([`random`]) work; sleeping traps.
#![warn(missing_docs)]

#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings;

pub mod action;
pub mod api;
mod context;
mod digest;
pub mod form;
pub mod http;
pub mod log;
pub mod random;
mod specs;
pub mod standard;
pub mod time;
pub mod token_request;
pub mod token_response;
mod types;
pub mod url;

#[doc(hidden)]
pub mod __private;

/// The SDK README's examples, compiled as doctests so that they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub mod readme {}

/// JSON, for action inputs and outputs, settings, and token responses.
pub use serde_json;

pub use bindings::exports::keyway::plugin::actions::ActionContext;
pub use bindings::exports::keyway::plugin::auth_flow::{AuthPlacement, Expiry, Grant};
pub use bindings::exports::keyway::plugin::metadata::{
    ActionSpec, CallbackParams, InputSpec, Manifest, PkceSupport, SettingSpec,
};
pub use bindings::keyway::plugin::api::ApiRequest;
pub use bindings::keyway::plugin::log::Level as LogLevel;
pub use bindings::keyway::plugin::types::{
    AuthMethod, ClientAuth, HookContext, HttpRequest, HttpResponse, ProviderError,
};
pub use digest::{hmac_sha256, hmac_sha256_hex, sha256_hex};
pub use types::{
    ActionError, AuthError, AuthorizeRequest, CallbackResult, CodeGrant, Credentials, HttpError, Integration,
    NamedSecret, RefreshGrant, RevokeTarget, TokenSet,
};

/// The value of an `Authorization` header for HTTP Basic client authentication, as RFC 6749
/// §2.3.1 specifies it: `Basic base64(urlencode(id) ":" urlencode(secret))`, each part
/// form-encoded first, so a `:` or space in either cannot be misread. The standard token and
/// revoke requests use it; call it when an app wants Basic somewhere else.
///
/// ```
/// assert_eq!(keyway_sdk::basic_auth("id", "s3cr:t"), "Basic aWQ6czNjciUzQXQ=");
/// ```
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let credentials = format!("{}:{}", form::encode_component(user), form::encode_component(password));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
}

/// What an integration's plugin does differently from standard OAuth2.
///
/// Every method has a default that calls the function of the same name in [`standard`] (the help
/// article's requests), so a plugin overrides only the hooks its app needs, and an override can
/// call the standard function and adjust its result. The host creates the plugin with `Default`
/// for every call: keep no state between calls.
///
/// Errors go to the admin: say what is wrong and how to fix it.
pub trait Plugin {
    /// What the plugin is: hosts it may call, per-connection inputs, settings, actions, and the
    /// callback's parameter names. Empty `name`, `version` and `description` are filled from the
    /// plugin crate's `Cargo.toml`. Read once, when the plugin is installed.
    fn manifest(&self) -> Manifest {
        standard::manifest()
    }

    /// The URL the browser is sent to. Override for renamed parameters (`client_key`), other
    /// scope separators, extra parameters (`audience`, `access_type=offline`) or a tenant host.
    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        standard::authorize_url(ctx, req)
    }

    /// Reads the callback query. The default takes the code from the parameter the manifest's
    /// `callback.code` names (`code` by default), so a renamed code needs only the manifest.
    /// Override to keep metadata such as `realmId` or `shop`.
    fn parse_callback(&self, ctx: &HookContext, query: &[(String, String)]) -> Result<CallbackResult, AuthError> {
        let code_param = self.manifest().callback.code;
        if code_param.is_empty() {
            standard::parse_callback(ctx, query)
        } else {
            standard::parse_callback_with(query, &code_param)
        }
    }

    /// The token request for a code exchange or a refresh. Override for a JSON body, renamed
    /// fields, custom headers, parameters in the query, or a separate refresh endpoint.
    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        standard::token_request(ctx, grant)
    }

    /// Turns the token endpoint's answer into tokens. Override for errors in a 200, nested
    /// tokens, other expiry formats, metadata to keep, or a further exchange through
    /// [`http::send`].
    fn parse_token_response(
        &self,
        ctx: &HookContext,
        grant: &Grant,
        response: &HttpResponse,
    ) -> Result<TokenSet, AuthError> {
        standard::parse_token_response(ctx, grant, response)
    }

    /// The revocation request (RFC 7009), or `None` when the app cannot revoke.
    fn revoke_request(&self, ctx: &HookContext, target: &RevokeTarget) -> Result<Option<HttpRequest>, AuthError> {
        standard::revoke_request(ctx, target)
    }

    /// The base URL relative API paths resolve against. Override when the API lives elsewhere
    /// than the site (`https://api.example.com`, or a URL from the connection's metadata).
    ///
    /// Answer from `ctx` alone: the host remembers this answer and [`Plugin::api_auth`]'s per
    /// plugin and context, and asks again only when the integration, its settings or the
    /// connection's inputs or metadata change. Anything that must differ per request (a
    /// timestamp, a nonce, a signature) belongs in [`Plugin::sign_request`].
    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        standard::api_base(ctx)
    }

    /// How the host attaches credentials to API requests. Override for another header
    /// (`X-Shopify-Access-Token: {access_token}`) or a query parameter. Like `api_base`, the
    /// answer is remembered per context; placements are templates, filled per request.
    fn api_auth(&self, ctx: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        standard::api_auth(ctx)
    }

    /// Signs one API call, after the placements are applied: add a signature, a timestamp or
    /// a fresh request id, computed from the request and the live `credentials`. The host calls
    /// it for every call, retries included, but only when the manifest sets `signs_requests`
    /// (the default here returns the request unchanged). It runs in an instance of its own and
    /// may not make outbound calls; its result passes the host's egress checks.
    fn sign_request(
        &self,
        ctx: &HookContext,
        request: HttpRequest,
        credentials: &Credentials,
    ) -> Result<HttpRequest, AuthError> {
        standard::sign_request(ctx, request, credentials)
    }

    /// Runs the action `name`, one the manifest declares, with a JSON input the host has checked
    /// against the action's input schema (read it with [`action::input`]). Make API calls with
    /// [`api::get`], [`api::post`] and the rest, or follow pages with [`api::paginate_link`]; the
    /// host attaches the credentials, and `?` turns their [`api::ApiError`] into an
    /// [`ActionError`].
    fn invoke(
        &self,
        ctx: &ActionContext,
        name: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, ActionError> {
        standard::invoke(ctx, name, input)
    }
}

/// Registers a [`Plugin`] (which must also implement `Default`) as the component's
/// implementation of the Keyway plugin interface. Use it once, at the root of the plugin crate.
///
/// The manifest's empty `name`, `version` and `description` become the plugin crate's
/// `CARGO_PKG_NAME`, `CARGO_PKG_VERSION` and `CARGO_PKG_DESCRIPTION`. Action inputs arrive as
/// JSON text and are parsed here: input that is not JSON is [`ActionError::InvalidInput`].
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        const _: () = {
            struct __KeywayPackage;
            impl $crate::__private::Package for __KeywayPackage {
                const NAME: &'static str = ::core::env!("CARGO_PKG_NAME");
                const VERSION: &'static str = ::core::env!("CARGO_PKG_VERSION");
                const DESCRIPTION: &'static str = ::core::env!("CARGO_PKG_DESCRIPTION");
            }
            type __KeywayExport = $crate::__private::Adapter<$plugin, __KeywayPackage>;
            $crate::bindings::__keyway_export_integration!(
                __KeywayExport with_types_in $crate::bindings
            );
        };
    };
}

/// The usual imports of a plugin: the trait, the records its hooks take and return,
/// [`standard`] and its options, the token request and response shapes, and for actions
/// [`api`], [`action`] and their types.
pub mod prelude {
    pub use crate::api::{ApiError, ApiResponse};
    pub use crate::token_request::{Body, ClientCredentials, TokenRequest};
    pub use crate::token_response::{ErrorFields, ExpiryFormat, ScopeSeparator, TokenFields};
    pub use crate::{
        ActionContext, ActionError, ActionSpec, ApiRequest, AuthError, AuthPlacement, AuthorizeRequest, CallbackResult,
        Credentials, Expiry, Grant, HookContext, HttpError, HttpRequest, HttpResponse, Manifest, NamedSecret,
        PkceSupport, Plugin, ProviderError, RevokeTarget, SettingSpec, TokenSet,
    };
    pub use crate::{InputSpec, standard::AuthorizeOptions};
    pub use crate::{action, api, standard};
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    fn decode_basic(header: &str) -> String {
        let encoded = header.strip_prefix("Basic ").expect("a Basic header");
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn basic_auth_form_encodes_both_parts_before_base64() {
        assert_eq!(decode_basic(&super::basic_auth("plain", "secret")), "plain:secret");
        assert_eq!(decode_basic(&super::basic_auth("my id:1", "p+w d:x")), "my+id%3A1:p%2Bw+d%3Ax");
    }
}
