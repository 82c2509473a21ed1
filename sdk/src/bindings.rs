//! The generated WIT bindings. Plugin authors never name this module: the crate root re-exports
//! the records they use, and [`export!`](crate::export) wires the generated `Guest` traits.
//!
//! Records that carry secrets (the client secret, codes, verifiers, tokens, `state`) and the
//! error variants are written by hand in `types.rs` and substituted here with `with`, so
//! that their `Debug` redacts secrets and their `Display` reads as a sentence.

wit_bindgen::generate!({
    path: "../wit",
    world: "integration",
    // The SDK's `export!` calls this macro; the plugin crate never names it.
    pub_export_macro: true,
    export_macro_name: "__keyway_export_integration",
    default_bindings_module: "keyway_sdk::bindings",
    additional_derives: [PartialEq, Eq],
    with: {
        "keyway:plugin/types@0.1.0/integration": crate::types::Integration,
        "keyway:plugin/types@0.1.0/auth-error": crate::types::AuthError,
        "keyway:plugin/types@0.1.0/http-error": crate::types::HttpError,
        "keyway:plugin/auth-flow@0.1.0/authorize-request": crate::types::AuthorizeRequest,
        "keyway:plugin/auth-flow@0.1.0/callback-result": crate::types::CallbackResult,
        "keyway:plugin/auth-flow@0.1.0/code-grant": crate::types::CodeGrant,
        "keyway:plugin/auth-flow@0.1.0/refresh-grant": crate::types::RefreshGrant,
        "keyway:plugin/auth-flow@0.1.0/token-set": crate::types::TokenSet,
        "keyway:plugin/auth-flow@0.1.0/named-secret": crate::types::NamedSecret,
        "keyway:plugin/auth-flow@0.1.0/credentials": crate::types::Credentials,
        "keyway:plugin/auth-flow@0.1.0/revoke-target": crate::types::RevokeTarget,
        "keyway:plugin/actions@0.1.0/action-error": crate::types::ActionError,
    },
});
