//! What one hook call's store holds: an empty WASI context, the memory cap, and the
//! environment host imports work in. A fresh store per call, so nothing leaks between
//! connections.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::egress::{Allowlist, EgressClient};
use crate::engine::bindings::api::ApiRequest;
use crate::engine::bindings::types::{HttpError, HttpResponse};
use crate::trace::{Recorder, Redactor};

/// The app's API as an action sees it: the host resolves, authenticates, counts and retries.
pub trait ApiSession: Send + Sync {
    /// Sends one API request for the action. The inner error is the guest's to handle; a
    /// [`LimitBreach`] stops the guest.
    #[allow(clippy::type_complexity)]
    fn call(
        &self,
        req: ApiRequest,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Result<HttpResponse, HttpError>, LimitBreach>> + Send + '_>>;
}

/// A limit the host enforces inside a call (a cap on calls, a deadline), breached. A host
/// import returns it as a trap rather than as an error the guest sees, so a plugin cannot
/// swallow it and carry on: the call fails with [`super::CallError::Limit`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct LimitBreach(pub String);

/// The environment of one hook call.
pub struct CallEnv {
    /// The plugin's name, for logs.
    pub plugin: String,
    /// The integration the call serves (its unique name), or `""` for none (reading a
    /// manifest). It names the concurrency quota the call runs under.
    pub integration: String,
    /// Where `outbound` may go.
    pub allowlist: Allowlist,
    /// The client outbound requests go through.
    pub egress: EgressClient,
    /// The flow's secret values, masked in traces and plugin logs.
    pub redactor: Redactor,
    /// The API session, for actions only.
    pub api: Option<Arc<dyn ApiSession>>,
    /// Where what `outbound` sends during the call is recorded: the calling flow's recorder.
    pub recorder: Recorder,
}

impl std::fmt::Debug for CallEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallEnv")
            .field("plugin", &self.plugin)
            .field("integration", &self.integration)
            .field("allowlist", &self.allowlist)
            .field("api", &self.api.is_some())
            .field("recorder", &self.recorder)
            .finish_non_exhaustive()
    }
}

impl CallEnv {
    /// An environment with an empty allowlist: the plugin can call nothing.
    pub fn sealed(plugin: &str, egress: EgressClient) -> Self {
        Self {
            plugin: plugin.to_string(),
            integration: String::new(),
            allowlist: Allowlist::default(),
            egress,
            redactor: Redactor::default(),
            api: None,
            recorder: Recorder::off(),
        }
    }
}

/// Caps linear memory, and remembers that it did: a refused grow surfaces as the guest's
/// own `unreachable` trap (Rust aborts on OOM), which alone would not say why.
pub(crate) struct MemoryCap {
    pub(crate) max_bytes: usize,
    pub(crate) exceeded: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// What the host counts inside one call.
pub(crate) struct CallMeter {
    /// Outbound requests sent (or refused) so far.
    pub(crate) outbound_calls: u32,
    /// How many the call may send.
    pub(crate) max_outbound_calls: u32,
    /// Set when a host call returns: the next epoch check counts time the guest spent
    /// waiting, not running, and is not charged to its CPU budget.
    pub(crate) resumed_from_host: bool,
}

/// Everything a store holds.
pub(crate) struct StoreData {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) memory: MemoryCap,
    pub(crate) meter: CallMeter,
    pub(crate) env: CallEnv,
}

impl StoreData {
    pub(crate) fn new(env: CallEnv, max_memory: usize, max_outbound_calls: u32) -> Self {
        // No environment, arguments, preopened directories or sockets; stdio discarded.
        let wasi = WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap { max_bytes: max_memory, exceeded: false },
            meter: CallMeter { outbound_calls: 0, max_outbound_calls, resumed_from_host: false },
            env,
        }
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
