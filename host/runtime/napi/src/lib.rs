//! Thin napi-rs layer over `wasmesh-runtime`. It converts DTOs and errors and nothing else:
//! defaults and validation of user input live in the TypeScript host (`host/src/runtime/`).
//!
//! Errors cross as a JS `Error` whose message is a JSON object `{code, message, ...fields}`;
//! `host/src/runtime/errors.ts` turns it into a typed `WasmeshError` in one place.

mod dispatch;
mod errors;
mod host;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Buffer, Object};
use napi::{Env, Error as NapiError, Status};
use napi_derive::napi;
use wasmesh_runtime as rt;

use crate::dispatch::{Dispatch, Job, WakeFn};
use crate::errors::to_js;
use crate::host::JsHost;

/// Engine and pool sizing (all fields filled in by the TS side).
#[napi(object)]
pub struct NativeRuntimeOptions {
    pub max_instances: u32,
    pub max_memory_bytes: i64,
    pub max_wasm_stack_bytes: u32,
    pub epoch_tick_us: u32,
    pub cache_dir: Option<String>,
    /// How long the JS thread spins for a lone invocation's outcome, and a worker lingers for the
    /// next job after the last one in flight ended (µs; 0: neither).
    pub spin_wait_us: u32,
}

/// Per-actor limits (all fields filled in by the TS side).
#[napi(object)]
pub struct NativeActorOptions {
    pub max_memory_bytes: i64,
    pub timeout_ms: u32,
    pub fuel: Option<i64>,
    pub max_concurrent: u32,
    pub max_response_bytes: i64,
    pub max_log_bytes: u32,
    pub log_rate_bytes_per_sec: u32,
}

/// One import or export.
#[napi(object)]
pub struct NativeItem {
    pub module: String,
    pub name: String,
    pub r#type: String,
}

/// What `inspect` found.
#[napi(object)]
pub struct NativeModuleInfo {
    pub hash: String,
    pub size: u32,
    /// A component (its items are interfaces), else a core module.
    pub component: bool,
    pub imports: Vec<NativeItem>,
    pub exports: Vec<NativeItem>,
    pub valid_actor: bool,
    /// `{code, message}` JSON of why it is not a valid actor.
    pub problem: Option<String>,
}

/// Runtime counters.
#[napi(object)]
pub struct NativeStats {
    pub instances_in_use: u32,
    pub max_instances: u32,
    pub modules_cached: u32,
}

fn items(v: Vec<rt::ItemInfo>) -> Vec<NativeItem> {
    v.into_iter().map(|i| NativeItem { module: i.module, name: i.name, r#type: i.ty }).collect()
}

fn limits(opts: &NativeActorOptions) -> napi::Result<rt::ActorLimits> {
    Ok(rt::ActorLimits {
        max_memory_bytes: bytes(opts.max_memory_bytes, "maxMemoryBytes")?,
        timeout: Duration::from_millis(u64::from(opts.timeout_ms)),
        fuel: opts.fuel.map(|f| bytes(f, "fuel")).transpose()?,
        max_concurrent: opts.max_concurrent,
        max_response_bytes: bytes(opts.max_response_bytes, "maxResponseBytes")?,
        max_log_bytes: opts.max_log_bytes as usize,
        log_rate_bytes_per_sec: opts.log_rate_bytes_per_sec as usize,
    })
}

fn js_host(handles_calls: bool, dispatch: &Arc<Dispatch>) -> Arc<dyn rt::Host> {
    Arc::new(JsHost { handles_calls, dispatch: dispatch.clone() })
}

fn bytes(n: i64, what: &str) -> napi::Result<u64> {
    u64::try_from(n).map_err(|_| NapiError::new(Status::InvalidArg, format!("{what} must not be negative")))
}

/// The process's wasm runtime (engine, pool, cache).
#[napi]
pub struct NativeRuntime {
    inner: rt::Runtime,
    dispatch: Arc<Dispatch>,
}

#[napi]
impl NativeRuntime {
    /// `wake` is called (with no arguments) when invocation outcomes are ready for
    /// `takeCompleted()`. It starts unreferenced, so it does not keep Node alive; JS references it
    /// with `setActive(true)` while invocations are outstanding.
    #[napi(constructor)]
    pub fn new(env: Env, opts: NativeRuntimeOptions, wake: WakeFn) -> napi::Result<Self> {
        let cfg = rt::RuntimeConfig {
            max_instances: opts.max_instances,
            max_memory_bytes: bytes(opts.max_memory_bytes, "maxMemoryBytes")?,
            max_wasm_stack_bytes: opts.max_wasm_stack_bytes as usize,
            epoch_tick: Duration::from_micros(u64::from(opts.epoch_tick_us)),
            cache_dir: opts.cache_dir.map(PathBuf::from),
        };
        let dispatch = Dispatch::new(wake, Duration::from_micros(u64::from(opts.spin_wait_us)));
        dispatch.set_active(&env, false)?;
        // Start napi's tokio runtime (its worker threads) now rather than on the first load.
        napi::bindgen_prelude::spawn(async {});
        Ok(Self { inner: rt::Runtime::new(cfg).map_err(to_js)?, dispatch })
    }

    /// Keeps Node alive while invocations are outstanding (`true`), or lets it exit (`false`).
    #[napi]
    pub fn set_active(&self, env: Env, active: bool) -> napi::Result<()> {
        self.dispatch.set_active(&env, active)
    }

    /// Busy-waits up to `max_micros` for an outcome; true when `takeCompleted` must be called
    /// (outcomes are ready and no wake-up will come for them). JS calls it at the end of every
    /// turn in which it invoked (with 0 when it does not spin); see `Dispatch::wait_finished`.
    #[napi]
    pub fn wait_completed(&self, max_micros: u32) -> bool {
        self.dispatch.wait_finished(Duration::from_micros(u64::from(max_micros)))
    }

    /// Every invocation outcome finished since the last call, or `null` (see `Dispatch::take`).
    #[napi]
    pub fn take_completed<'env>(&self, env: &'env Env) -> napi::Result<Option<Object<'env>>> {
        self.dispatch.take(env)
    }

    /// Answers host call `id` (from `takeCompleted().callIds`) with `response`.
    #[napi]
    pub fn resolve_host_call(&self, id: u32, response: &[u8]) {
        self.dispatch.answer_host_call(id, Ok(response.to_vec()));
    }

    /// Fails host call `id` with `message`, the error text the guest sees.
    #[napi]
    pub fn reject_host_call(&self, id: u32, message: String) {
        self.dispatch.answer_host_call(id, Err(message));
    }

    /// Loads an actor whose compiled code is in the memory or disk cache, synchronously: that
    /// takes about 0.2 ms (hash, map the artifact, link) and runs no wasm, so it is cheaper here
    /// than two thread hops. Returns `null` when the module needs compiling: use `load`.
    #[napi]
    pub fn load_precompiled(
        &self,
        wasm: &[u8],
        opts: NativeActorOptions,
        handles_calls: bool,
    ) -> napi::Result<Option<NativeActor>> {
        let limits = limits(&opts)?;
        let actor = self.inner.load_cached(wasm, limits, js_host(handles_calls, &self.dispatch)).map_err(to_js)?;
        Ok(actor.map(|inner| NativeActor { inner, dispatch: self.dispatch.clone() }))
    }

    /// Validates, compiles (or fetches from the cache) and links an actor on a blocking thread.
    #[napi]
    pub async fn load(
        &self,
        wasm: Buffer,
        opts: NativeActorOptions,
        handles_calls: bool,
    ) -> napi::Result<NativeActor> {
        let limits = limits(&opts)?;
        let wasm = wasm.to_vec();
        let runtime = self.inner.clone();
        let host = js_host(handles_calls, &self.dispatch);
        let actor = tokio::task::spawn_blocking(move || runtime.load(&wasm, limits, host))
            .await
            .map_err(|e| NapiError::from_reason(format!("load task failed: {e}")))?
            .map_err(to_js)?;
        Ok(NativeActor { inner: actor, dispatch: self.dispatch.clone() })
    }

    /// Describes a module, off the JS thread.
    #[napi]
    pub async fn inspect(&self, wasm: Buffer) -> napi::Result<NativeModuleInfo> {
        let wasm = wasm.to_vec();
        let runtime = self.inner.clone();
        let info = tokio::task::spawn_blocking(move || runtime.inspect(&wasm))
            .await
            .map_err(|e| NapiError::from_reason(format!("inspect task failed: {e}")))?
            .map_err(to_js)?;
        Ok(NativeModuleInfo {
            hash: info.hash,
            size: info.size as u32,
            component: info.component,
            imports: items(info.imports),
            exports: items(info.exports),
            valid_actor: info.valid_actor,
            problem: info.problem.map(|p| to_js(p).reason),
        })
    }

    #[napi]
    pub fn stats(&self) -> NativeStats {
        let s = self.inner.stats();
        NativeStats {
            instances_in_use: s.instances_in_use as u32,
            max_instances: s.max_instances as u32,
            modules_cached: s.modules_cached as u32,
        }
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

/// A loaded actor.
#[napi]
pub struct NativeActor {
    inner: rt::Actor,
    dispatch: Arc<Dispatch>,
}

#[napi]
impl NativeActor {
    /// Queues invocation `id` to run in a fresh instance on a worker thread and returns at once;
    /// its outcome comes back through the runtime's `takeCompleted()`.
    #[napi]
    pub fn invoke(&self, id: u32, operation: String, payload: &[u8], timeout_ms: Option<u32>) {
        self.dispatch.submit(Job {
            id,
            actor: self.inner.clone(),
            operation,
            payload: payload.to_vec(),
            timeout: timeout_ms.map(|t| Duration::from_millis(u64::from(t))),
        });
    }

    #[napi(getter)]
    pub fn hash(&self) -> String {
        self.inner.hash().to_owned()
    }

    /// `memory`, `disk` or `compiled`: where the code came from at load.
    #[napi(getter)]
    pub fn source(&self) -> String {
        self.inner.source().as_str().to_owned()
    }

    #[napi(getter)]
    pub fn in_flight(&self) -> u32 {
        self.inner.in_flight() as u32
    }
}
