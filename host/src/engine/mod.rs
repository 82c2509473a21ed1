//! The Wasm runtime: compiles plugins once, checks them before anything runs, and calls
//! their hooks each in a fresh, limited store.

pub mod bindings;
mod convert;
mod exports;
mod hooks;
mod host;
mod manifest;
mod quota;
pub(crate) mod shape;
mod store;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline};

pub use manifest::{ActionSpec, InputSpec, Manifest, PkceSupport, SettingSpec};
pub use store::{ApiSession, CallEnv, LimitBreach};

pub(crate) use manifest::fill_placeholders;

use bindings::{Integration as World, IntegrationIndices};
use exports::{ExportIndices, Exports};
use store::StoreData;

/// The plugin API this host implements: the WIT package version in export names.
pub const API_VERSION: &str = "0.1.0";
const PACKAGE: &str = "keyway:plugin";

/// Per-call resource limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock budget of one hook call, everything included: guest code, host calls and
    /// the I/O they wait for.
    pub call_timeout: Duration,
    /// Budget of time spent executing guest code in one call. Time the guest spends waiting
    /// for a host call (an outbound request, an API call) is not charged to it: the wall-clock
    /// `call_timeout` bounds that.
    pub cpu_budget: Duration,
    /// Largest linear memory one call may grow.
    pub max_memory_bytes: usize,
    /// How many hook calls may run at once in the whole host: a backstop above the
    /// per-integration quota.
    pub max_concurrent_calls: usize,
    /// How many hook calls one integration may run at once; kept below
    /// `max_concurrent_calls`, so one integration never takes every slot.
    pub integration_concurrent_calls: usize,
    /// How long a call waits for a free slot before it is refused as busy (HTTP 503).
    pub quota_wait: Duration,
    /// How many outbound requests one auth hook may send, refused ones included.
    pub hook_max_calls: u32,
    /// How much of a finished call's linear memory stays mapped for the next call in that pool
    /// slot, reset in place to its initial contents (nothing of one call is visible to the
    /// next). Above it, pages are returned with `madvise`, which costs TLB
    /// shootdowns on every core and page faults on the next call. Where the kernel has the
    /// `PAGEMAP_SCAN` ioctl (Linux 6.7+), only the pages the call touched are reset and stay
    /// resident; elsewhere the whole kept region is memset on every reuse and stays resident
    /// in every slot ever used, which is why the default is then 0 (see [`keep_resident_default`]).
    pub keep_resident_memory_bytes: usize,
    /// The same for tables.
    pub keep_resident_table_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(30),
            cpu_budget: Duration::from_secs(2),
            max_memory_bytes: 32 << 20,
            max_concurrent_calls: 64,
            integration_concurrent_calls: 8,
            quota_wait: Duration::from_secs(2),
            hook_max_calls: 20,
            keep_resident_memory_bytes: keep_resident_default(),
            keep_resident_table_bytes: keep_resident_default(),
        }
    }
}

/// What [`Limits::keep_resident_memory_bytes`] (and the table's) default to: 1 MiB where the
/// kernel resets only touched pages, else 0. The bench measured both: with `PAGEMAP_SCAN`, 1 MiB
/// took a hook call from 30 µs to 12.5 µs and 1,000 in-flight runs peaked at 318 MiB instead of
/// 301; without it, 1 MiB was no faster and 1,000 runs peaked at 1189 MiB.
pub fn keep_resident_default() -> usize {
    static DEFAULT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *DEFAULT.get_or_init(|| if PoolingAllocationConfig::is_pagemap_scan_available() { 1 << 20 } else { 0 })
}

/// Granularity of the CPU budget: one epoch tick.
const TICK: Duration = Duration::from_millis(10);

/// Why a plugin cannot be loaded. Each says what is wrong with the upload.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a component at all.
    #[error("not a WebAssembly component: {0}")]
    Malformed(String),
    /// A component, but not a Keyway plugin.
    #[error("not a Keyway plugin: {0}")]
    WrongWorld(String),
    /// A Keyway plugin for another API version.
    #[error(
        "plugin built against keyway:plugin@{found}, but this host supports @{API_VERSION}; rebuild it with a matching keyway-sdk"
    )]
    UnsupportedApiVersion {
        /// The version in the component's export names.
        found: String,
    },
    /// Its manifest is invalid.
    #[error("invalid manifest: {0}")]
    Manifest(String),
    /// Reading the manifest failed.
    #[error("reading the manifest failed: {0}")]
    Call(#[from] CallError),
}

/// Why one hook call failed. The host and other calls are unaffected.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The guest used up its CPU budget (an endless loop, usually).
    #[error("plugin `{plugin}` ran out of its {budget:?} CPU budget in `{hook}`")]
    CpuBudget {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: &'static str,
        /// The budget it ran out of.
        budget: Duration,
    },
    /// The call took longer than its wall-clock timeout.
    #[error("plugin `{plugin}` did not finish `{hook}` within {timeout:?}")]
    Timeout {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: &'static str,
        /// The timeout.
        timeout: Duration,
    },
    /// The guest tried to grow memory past the cap.
    #[error("plugin `{plugin}` exceeded its {limit_mib} MiB memory limit in `{hook}`")]
    Memory {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: &'static str,
        /// The cap.
        limit_mib: usize,
    },
    /// The integration (or the host) already runs as many calls as it may, and no slot freed
    /// up within the bounded wait. Worth retrying after `retry_after`.
    #[error("{reason}; no slot freed up within {waited:?}, retry in {} s", retry_after.as_secs())]
    Busy {
        /// Which quota is full, and its setting.
        reason: String,
        /// How long the call waited.
        waited: Duration,
        /// When a retry has a fair chance.
        retry_after: Duration,
    },
    /// The call breached a limit the host enforces inside it (a call cap, a deadline). The
    /// guest was stopped there: it cannot catch the breach and carry on.
    #[error("plugin `{plugin}` was stopped in `{hook}`: {limit}")]
    Limit {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: &'static str,
        /// The limit, and the setting that raises it.
        limit: String,
    },
    /// The guest tried to sleep, which would hold a slot of its integration for nothing.
    #[error(
        "plugin `{plugin}` tried to sleep in `{hook}`; plugins may not sleep (a sleeping call holds one of its integration's slots): return an error and let the caller retry instead"
    )]
    Sleep {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: &'static str,
    },
    /// The guest trapped (a panic, an out-of-bounds access...).
    #[error("plugin `{plugin}` failed in `{hook}`: {message}")]
    Trap {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: &'static str,
        /// The trap, with the guest backtrace when there is one.
        message: String,
    },
}

/// Compiles and runs plugins. One per process; cheap to share behind an `Arc`.
pub struct PluginEngine {
    engine: Engine,
    linker: Linker<StoreData>,
    limits: Limits,
    cache_dir: Option<Arc<cap_std::fs::Dir>>,
    quotas: quota::Quotas,
    ticker_stop: Arc<AtomicBool>,
    instances: AtomicU64,
    pooled: bool,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl PluginEngine {
    /// Builds the engine and starts its epoch ticker. Instances come from a pool of slots
    /// reserved up front; when the address space is too short for the pool (a `ulimit -v`),
    /// the engine falls back to allocating each instance on demand, and says so.
    pub fn new(limits: Limits) -> anyhow::Result<Self> {
        let (engine, pooled) = match Engine::new(&engine_config(&limits, true)) {
            Ok(engine) => (engine, true),
            Err(e) => {
                tracing::warn!(
                    "could not reserve the instance pool ({e:#}); allocating plugin instances on demand, which is slower. \
                     Lower `limits.max_concurrent_calls` or `limits.max_memory_mib` (the pool reserves address space for \
                     twice as many calls, each up to twice the memory cap), or raise the address-space limit"
                );
                (Engine::new(&engine_config(&limits, false))?, false)
            }
        };

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        refuse_sleep(&mut linker)?;
        World::add_to_linker::<_, host::KeywayImports>(&mut linker, |data: &mut StoreData| host::HostView {
            env: &mut data.env,
            meter: &mut data.meter,
        })?;

        // A plain thread, not a tokio task: with every worker inside a spinning guest, a
        // task would never run and nothing would ever interrupt the guests.
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = ticker_stop.clone();
        let ticking = engine.weak();
        std::thread::Builder::new().name("keyway-epoch".into()).spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                match ticking.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })?;

        Ok(Self {
            engine,
            linker,
            cache_dir: None,
            quotas: quota::Quotas::new(
                limits.max_concurrent_calls,
                limits.integration_concurrent_calls,
                limits.quota_wait,
            ),
            limits,
            ticker_stop,
            instances: AtomicU64::new(0),
            pooled,
        })
    }

    /// How many plugin instances this engine has created: one per hook call that got as far
    /// as instantiating.
    pub fn instances_created(&self) -> u64 {
        self.instances.load(Ordering::Relaxed)
    }

    /// Whether instances come from the pooling allocator (`false` after the fallback).
    pub fn is_pooled(&self) -> bool {
        self.pooled
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Keeps compiled artifacts in `dir` (this host's own disk), so a restart does not
    /// recompile. Only files this host wrote are ever loaded back, and every access goes through
    /// the handle: a name that tries to leave it (`..`, an absolute path, a symlink out) is refused.
    pub fn with_cache_dir(mut self, dir: cap_std::fs::Dir) -> Self {
        self.cache_dir = Some(Arc::new(dir));
        self
    }

    /// The cache directory and the artifact's name in it for `hash` under this engine's settings:
    /// compiled code is only valid for the engine configuration that produced it.
    fn artifact_path(&self, hash: &str) -> Option<Artifact> {
        use std::hash::{Hash, Hasher};
        let dir = self.cache_dir.clone()?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut hasher);
        Some(Artifact { dir, name: format!("{hash}-{:016x}.cwasm", hasher.finish()) })
    }

    /// Compiles `bytes`, or loads this host's cached artifact for them; `true` when it had to
    /// compile. Runs off the async workers: compiling takes a while.
    async fn compile(&self, bytes: &[u8], hash: &str) -> Result<(Component, bool), LoadError> {
        let engine = self.engine.clone();
        let artifact = self.artifact_path(hash);
        let bytes = bytes.to_vec();
        let short = hash[..12].to_string();
        tokio::task::spawn_blocking(move || compile_or_load(&engine, &bytes, artifact, &short))
            .await
            .map_err(|e| LoadError::Malformed(format!("compilation did not finish: {e}")))?
    }

    /// Caches a freshly compiled component, once it has passed every check: a rejected upload
    /// leaves nothing behind.
    async fn cache(&self, component: &Component, hash: &str) {
        let Some(artifact) = self.artifact_path(hash) else { return };
        let component = component.clone();
        let written =
            tokio::task::spawn_blocking(move || write_artifact(&artifact, &component).map_err(|e| (artifact.name, e)))
                .await;
        if let Ok(Err((name, e))) = written {
            tracing::warn!(artifact = name, "could not cache the compiled plugin: {e:#}");
        }
    }

    /// Checks a plugin's world by name (without compiling), compiles and pre-instantiates it,
    /// then reads its manifest in a sealed sandbox. Compilation runs off the async workers.
    pub async fn load(
        &self,
        bytes: &[u8],
        egress: &crate::egress::EgressClient,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let hash = hex::encode(Sha256::digest(bytes));
        // Names first: a plugin for another API version or world is refused before it costs a compile.
        let shape = shape::read(bytes).map_err(|e| {
            LoadError::Malformed(format!("{e}; upload the `.wasm` that `cargo build --target wasm32-wasip2` produced"))
        })?;
        let api_version = shape::check_world(&shape)?;
        let (component, fresh) = self.compile(bytes, &hash).await?;
        let instance_pre =
            self.linker.instantiate_pre(&component).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        // The generated bindings' indices check that every export exists, with the messages
        // users see, and (in the call below) that each has its signature, once; later calls go
        // through indices of our own and check only the hook they run (see `exports`).
        let every = IntegrationIndices::new(&instance_pre)
            .map_err(|e| LoadError::WrongWorld(shape_mismatch(&format!("{e:#}"))))?;
        let exports = ExportIndices::new(&instance_pre).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        let pre = Instantiable { instance_pre, exports };

        let env = CallEnv::sealed("(loading)", egress.clone());
        let (raw, _) = self
            .call(&pre, env, "metadata.get", |store, exports| {
                Box::pin(async move {
                    // A wrong signature is the plugin's shape, not a failed call: kept apart
                    // so it reaches the user as `WrongWorld` with how to fix it.
                    match exports.check_every_hook(store, &every) {
                        Ok(()) => exports.get(store).await.map(Ok),
                        Err(wrong) => Ok(Err(wrong)),
                    }
                })
            })
            .await?;
        let raw = raw.map_err(|e| {
            LoadError::WrongWorld(format!("{e:#}; rebuild it with this Keyway's `keyway-sdk` (`keyway plugin build`)"))
        })?;
        let manifest = Manifest::from_wit(raw).map_err(LoadError::Manifest)?;
        if fresh {
            self.cache(&component, &hash).await;
        }
        Ok(Arc::new(LoadedPlugin { manifest, api_version, hash, pre }))
    }

    /// Runs `f` against a fresh instance of `plugin`, under every limit. Returns the result
    /// and the environment (with its trace) after the call.
    pub(crate) async fn call<R, F>(
        &self,
        pre: &Instantiable,
        env: CallEnv,
        hook: &'static str,
        f: F,
    ) -> Result<(R, CallEnv), CallError>
    where
        R: Send,
        F: for<'a> FnOnce(
                &'a mut Store<StoreData>,
                &'a Exports<'a>,
            ) -> Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>
            + Send,
    {
        self.call_counted(pre, env, hook, self.limits.call_timeout, f).await.map(|(value, env, _)| (value, env))
    }

    /// [`PluginEngine::call`] within `timeout` (an action's deadline rather than the hook
    /// timeout), also returning how many outbound requests the guest sent (or had refused): an
    /// answer that came from none is a function of the hook's arguments.
    pub(crate) async fn call_counted<R, F>(
        &self,
        pre: &Instantiable,
        env: CallEnv,
        hook: &'static str,
        timeout: Duration,
        f: F,
    ) -> Result<(R, CallEnv, u32), CallError>
    where
        R: Send,
        F: for<'a> FnOnce(
                &'a mut Store<StoreData>,
                &'a Exports<'a>,
            ) -> Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>
            + Send,
    {
        let _slot = self.quotas.acquire(&env.integration).await.map_err(|full| self.busy(&env.integration, full))?;
        let plugin_name = env.plugin.clone();
        let data = StoreData::new(env, self.limits.max_memory_bytes, self.limits.hook_max_calls);
        let mut store = Store::new(&self.engine, data);
        store.limiter(|data| &mut data.memory);

        // Yield to tokio at every tick so a spinning guest cannot starve other calls, and
        // interrupt it when its CPU budget is spent. The epoch only reaches the guest while it
        // runs, but the first check after a host call returns sees every tick that passed
        // during the call: that one is not the guest's, and is not charged (so at most one
        // tick per host call goes uncharged, and host calls are capped).
        let budget_ticks = (self.limits.cpu_budget.as_millis() / TICK.as_millis()).max(1) as u64;
        let mut ticks = 0u64;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut store| {
            if std::mem::take(&mut store.data_mut().meter.resumed_from_host) {
                return Ok(UpdateDeadline::Continue(1));
            }
            ticks += 1;
            if ticks >= budget_ticks {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
            }
        });

        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(timeout, async {
            self.instances.fetch_add(1, Ordering::Relaxed);
            let instance = pre.instance_pre.instantiate_async(&mut store).await?;
            let exports = Exports::new(instance, &pre.exports);
            f(&mut store, &exports).await
        })
        .await;

        let result = match outcome {
            Err(_) => Err(CallError::Timeout { plugin: plugin_name, hook, timeout }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(self.classify(&store, err, plugin_name, hook)),
        };
        crate::metrics::plugin_call(&store.data().env.plugin, hook, result.as_ref().err(), started.elapsed());
        result.map(|value| {
            let data = store.into_data();
            (value, data.env, data.meter.outbound_calls)
        })
    }

    fn busy(&self, integration: &str, full: quota::Full) -> CallError {
        let reason = match full {
            quota::Full::Integration(n) => format!(
                "integration `{integration}` is already running its {n} plugin calls at once (setting `limits.integration_concurrent_calls`)"
            ),
            quota::Full::Host(n) => {
                format!(
                    "the host is already running its {n} plugin calls at once (setting `limits.max_concurrent_calls`)"
                )
            }
        };
        let waited = self.quotas.wait();
        CallError::Busy {
            reason,
            waited,
            retry_after: Duration::from_secs(waited.as_secs_f64().ceil().max(1.0) as u64),
        }
    }

    fn classify(
        &self,
        store: &Store<StoreData>,
        err: wasmtime::Error,
        plugin: String,
        hook: &'static str,
    ) -> CallError {
        if store.data().memory.exceeded {
            return CallError::Memory { plugin, hook, limit_mib: self.limits.max_memory_bytes >> 20 };
        }
        if let Some(breach) = err.downcast_ref::<LimitBreach>() {
            return CallError::Limit { plugin, hook, limit: breach.0.clone() };
        }
        if err.downcast_ref::<SleepRefused>().is_some() {
            return CallError::Sleep { plugin, hook };
        }
        if let Some(wasmtime::Trap::Interrupt) = err.downcast_ref::<wasmtime::Trap>() {
            return CallError::CpuBudget { plugin, hook, budget: self.limits.cpu_budget };
        }
        // A guest's panic message is its own text, of any length.
        CallError::Trap { plugin, hook, message: keyway_policy::text::clip_plugin_text(format!("{err:#}")) }
    }
}

/// The engine's configuration: `pooled` reserves a pool of instance slots up front (fast
/// instantiation, slots reused warm), else each instance is allocated on demand. Both keep
/// the same memory reservation, so compiled artifacts suit either.
fn engine_config(limits: &Limits, pooled: bool) -> Config {
    let slots = u32::try_from(limits.max_concurrent_calls.max(1).saturating_mul(2)).unwrap_or(u32::MAX);
    let reservation = limits.max_memory_bytes.max(1 << 20).saturating_mul(2);
    let mut config = Config::new();
    config.epoch_interruption(true).memory_reservation(reservation as u64);
    if pooled {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(8))
            .total_memories(slots.saturating_mul(4))
            .total_tables(slots.saturating_mul(8))
            .total_stacks(slots)
            .max_memory_size(reservation)
            .max_unused_warm_slots(16)
            .linear_memory_keep_resident(limits.keep_resident_memory_bytes)
            .table_keep_resident(limits.keep_resident_table_bytes)
            // Resets only the pages a call touched (Linux 6.7+); without it, what is kept is
            // memset whole on every reuse.
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    } else {
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
    config
}

/// A guest's sleep, refused: it traps, so the call ends at once and frees its slot.
#[derive(Debug, thiserror::Error)]
#[error("plugins may not sleep")]
struct SleepRefused;

/// Replaces WASI's monotonic-clock timers (`subscribe-duration`, `subscribe-instant`, what
/// `std::thread::sleep` and every timed poll use) with ones that trap unless already due: a
/// sleeping guest would hold a slot of its integration without using the CPU budget. The
/// clocks themselves (`now`, `resolution`, the wall clock) and random keep working.
fn refuse_sleep(linker: &mut Linker<StoreData>) -> anyhow::Result<()> {
    use wasmtime::component::Resource;
    use wasmtime_wasi::clocks::WasiClocksView as _;
    use wasmtime_wasi::p2::DynPollable;
    use wasmtime_wasi::p2::bindings::clocks::monotonic_clock::Host as _;

    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("subscribe-duration", |mut store, (duration,): (u64,)| {
        if duration > 0 {
            return Err(SleepRefused.into());
        }
        let pollable: Resource<DynPollable> = store.data_mut().clocks().subscribe_duration(0)?;
        Ok((pollable,))
    })?;
    clock.func_wrap("subscribe-instant", |mut store, (when,): (u64,)| {
        let mut clocks = store.data_mut().clocks();
        if when > clocks.now()? {
            return Err(SleepRefused.into());
        }
        let pollable: Resource<DynPollable> = clocks.subscribe_duration(0)?;
        Ok((pollable,))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The monotonic clock interface as `wasmtime-wasi` defines it; guests built against an older
/// 0.2 release resolve to it.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Loads the cached artifact when there is a usable one, else compiles (`true`). The caller
/// caches what it compiled once the component has passed its checks.
fn compile_or_load(
    engine: &Engine,
    bytes: &[u8],
    artifact: Option<Artifact>,
    short_hash: &str,
) -> Result<(Component, bool), LoadError> {
    if let Some(artifact) = &artifact
        && let Ok(cached) = artifact.dir.read(&artifact.name)
    {
        // SAFETY: the bytes were read through the handle of this host's private cache directory
        // (mode 0700, so no other user can plant a file), from a file `write_artifact` wrote with
        // `Component::serialize` for this exact engine configuration (the name carries the
        // compatibility hash); wasmtime checks the header again.
        match unsafe { Component::deserialize(engine, &cached) } {
            Ok(component) => {
                tracing::debug!(component = short_hash, "loaded the cached compiled plugin");
                return Ok((component, false));
            }
            Err(e) => tracing::warn!(artifact = artifact.name, "ignoring an unusable cached artifact: {e:#}"),
        }
    }
    // Compiling takes seconds per plugin on a small machine: say so, since a first start with
    // many plugins would otherwise look stuck.
    tracing::info!(component = short_hash, bytes = bytes.len(), "compiling a plugin component");
    let started = std::time::Instant::now();
    let component = Component::new(engine, bytes).map_err(|e| LoadError::Malformed(format!("{e:#}")))?;
    tracing::info!(component = short_hash, took_ms = started.elapsed().as_millis() as u64, "compiled");
    Ok((component, true))
}

/// A compiled artifact's place: a name inside the cache directory's handle.
struct Artifact {
    dir: Arc<cap_std::fs::Dir>,
    name: String,
}

/// Writes a compiled artifact atomically (temp file, then rename, both inside the cache
/// directory's handle), private to this user.
fn write_artifact(artifact: &Artifact, component: &Component) -> anyhow::Result<()> {
    use std::io::Write as _;
    let tmp = format!("{}.tmp{}", artifact.name, std::process::id());
    let mut options = cap_std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = artifact.dir.open_with(&tmp, &options)?;
    file.write_all(&component.serialize()?)?;
    drop(file);
    artifact.dir.rename(&tmp, &artifact.dir, &artifact.name)?;
    Ok(())
}

/// The error for a component whose exports do not match this host's interface, with the fix
/// when the cause is a component built before the interface gained a hook. `0.1.0` is still
/// unreleased and changes in place, so its version alone cannot tell the two shapes apart.
fn shape_mismatch(error: &str) -> String {
    if error.contains("keyway:plugin/") && error.contains("does not have export") {
        format!(
            "{error}: the component was built against an earlier pre-release of `keyway:plugin@{API_VERSION}`; \
             rebuild it with this Keyway's `keyway-sdk` (`keyway plugin build`)"
        )
    } else {
        error.to_string()
    }
}

/// A compiled, validated plugin, ready to instantiate. Cloning shares the compiled code.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// What the plugin declared, validated.
    pub manifest: Manifest,
    /// The API version the plugin was built against.
    pub api_version: String,
    /// SHA-256 of the component bytes, hex.
    pub hash: String,
    pre: Instantiable,
}

/// A pre-instantiated component and where its hooks are: all a call needs to start an instance.
#[derive(Clone)]
pub(crate) struct Instantiable {
    instance_pre: InstancePre<StoreData>,
    exports: ExportIndices,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .field("hash", &self.hash)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{Limits, PluginEngine, shape_mismatch};

    // 64 slots × 4 memories × (2 TiB + guards) is over the 128 TiB a Linux process can map,
    // so reserving the pool fails at once, before any of it is touched; the engine still
    // comes up, allocating on demand.
    #[test]
    fn a_pool_too_large_to_reserve_falls_back_to_on_demand_instances() {
        assert!(PluginEngine::new(Limits::default()).unwrap().is_pooled());
        let huge = Limits { max_concurrent_calls: 32, max_memory_bytes: 1 << 40, ..Limits::default() };
        let engine = PluginEngine::new(huge).expect("the on-demand fallback");
        assert!(!engine.is_pooled());
    }

    // The text wasmtime 48 gives for a plugin built before `sign-request` existed, as
    // `keyway plugin inspect` printed it for one.
    #[test]
    fn a_component_of_an_earlier_pre_release_is_told_to_rebuild() {
        let wasmtime = "instance export `keyway:plugin/auth-flow@0.1.0` does not have export `sign-request`";
        let message = shape_mismatch(wasmtime);
        assert!(message.starts_with(wasmtime), "{message}");
        assert!(message.contains("earlier pre-release of `keyway:plugin@0.1.0`"), "{message}");
        assert!(message.contains("rebuild it with this Keyway's `keyway-sdk` (`keyway plugin build`)"), "{message}");
        assert_eq!(
            shape_mismatch("import `wasi:sockets/tcp` is not defined"),
            "import `wasi:sockets/tcp` is not defined"
        );
    }
}
