//! Host bindings for the `keyway:plugin/integration` world. Generated; no logic here.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "integration",
    imports: { default: async },
    exports: { default: async },
});

pub use self::exports::keyway::plugin::actions;
pub use self::exports::keyway::plugin::auth_flow;
pub use self::exports::keyway::plugin::metadata;
pub use self::keyway::plugin::{api, log, outbound, types};
