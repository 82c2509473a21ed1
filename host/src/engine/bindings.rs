//! Host bindings for the `keyway:plugin/integration` world. Generated; no logic here.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "integration",
    // Trappable: a host import can stop the guest (a breached limit) instead of answering it.
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::exports::keyway::plugin::actions;
pub use self::exports::keyway::plugin::auth_flow;
pub use self::exports::keyway::plugin::metadata;
pub use self::keyway::plugin::{api, log, outbound, types};
