//! Thin napi-rs layer over `wasmesh-runtime`. It converts DTOs and errors and nothing else:
//! defaults and validation of user input live in the TypeScript host (`host/src/runtime/`).
//!
//! Errors cross as a JS `Error` whose message is a JSON object `{code, message, ...fields}`;
//! `host/src/runtime/errors.ts` turns it into a typed `WasmeshError` in one place.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use napi::bindgen_prelude::{Buffer, FnArgs, Promise};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Error as NapiError, Status};
use napi_derive::napi;
use wasmesh_runtime as rt;

/// JS `(binding, namespace, operation, payload) => Promise<Buffer>`; never throws synchronously
/// (the TS side wraps it in an async function). Weak: it does not keep Node alive.
type HostCallFn = ThreadsafeFunction<
    FnArgs<(String, String, String, Buffer)>,
    Promise<Buffer>,
    FnArgs<(String, String, String, Buffer)>,
    Status,
    false,
    true,
>;

/// JS `(id, response, errorJson) => void`: one long-lived callback per runtime delivers every
/// invocation's outcome. Creating a promise per call through napi's async machinery costs a
/// threadsafe function per call on the JS thread; this keeps the JS thread's share of a call small.
type CompleteFn = ThreadsafeFunction<
    FnArgs<(u32, Option<Buffer>, Option<String>)>,
    (),
    FnArgs<(u32, Option<Buffer>, Option<String>)>,
    Status,
    false,
>;

/// JS `(level, line) => void`.
type LogFn = ThreadsafeFunction<FnArgs<(String, String)>, (), FnArgs<(String, String)>, Status, false, true>;

fn to_js(e: rt::Error) -> NapiError {
    let mut fields = vec![
        ("code".to_owned(), json_str(e.code())),
        ("message".to_owned(), json_str(&e.to_string())),
    ];
    let mut put = |k: &str, v: String| fields.push((k.to_owned(), v));
    match &e {
        rt::Error::Trap { trap_code, backtrace, .. } => {
            put("trapCode", json_str(trap_code));
            if let Some(b) = backtrace {
                put("backtrace", json_str(b));
            }
        }
        rt::Error::Timeout { timeout, queued } => {
            put("timeoutMs", timeout.as_millis().to_string());
            put("queued", queued.to_string());
        }
        rt::Error::MemoryLimit { limit_bytes, requested_bytes } => {
            put("limitBytes", limit_bytes.to_string());
            put("requestedBytes", requested_bytes.to_string());
        }
        rt::Error::HostCallFailed { target, host_message, guest_message } => {
            put("target", json_str(target));
            put("hostMessage", json_str(host_message));
            put("guestMessage", json_str(guest_message));
        }
        rt::Error::GuestError { message } => put("guestMessage", json_str(message)),
        rt::Error::UnknownOperation { operation, message } => {
            put("operation", json_str(operation));
            put("guestMessage", json_str(message));
        }
        rt::Error::MissingExport { name, .. } => put("export", json_str(name)),
        rt::Error::ResponseTooLarge { size, limit } => {
            put("size", size.to_string());
            put("limit", limit.to_string());
        }
        rt::Error::FuelExhausted { fuel } => put("fuel", fuel.to_string()),
        _ => {}
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", json_str(k))).collect();
    NapiError::new(Status::GenericFailure, format!("{{{}}}", body.join(",")))
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Engine and pool sizing (all fields filled in by the TS side).
#[napi(object)]
pub struct NativeRuntimeOptions {
    pub max_instances: u32,
    pub max_memory_bytes: i64,
    pub max_wasm_stack_bytes: u32,
    pub epoch_tick_us: u32,
    pub cache_dir: Option<String>,
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

fn bytes(n: i64, what: &str) -> napi::Result<u64> {
    u64::try_from(n).map_err(|_| NapiError::new(Status::InvalidArg, format!("{what} must not be negative")))
}

struct JsHost {
    call: Option<Arc<HostCallFn>>,
    log: Option<LogFn>,
}

impl rt::Host for JsHost {
    fn host_call(&self, call: rt::HostCall) -> rt::HostCallFuture {
        let Some(f) = self.call.clone() else { return rt::NoHost.host_call(call) };
        let args = FnArgs::from((call.binding, call.namespace, call.operation, Buffer::from(call.payload)));
        Box::pin(async move {
            let promise = f.call_async(args).await.map_err(|e| e.reason.clone())?;
            let out = promise.await.map_err(|e| e.reason.clone())?;
            Ok(out.to_vec())
        })
    }

    fn log(&self, level: rt::LogLevel, line: String) {
        if let Some(f) = &self.log {
            f.call(FnArgs::from((level.as_str().to_owned(), line)), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// The process's wasm runtime (engine, pool, cache).
#[napi]
pub struct NativeRuntime {
    inner: rt::Runtime,
    /// Outcome callback; read-locked by workers to call it, write-locked by JS to ref/unref it.
    complete: Arc<RwLock<CompleteFn>>,
}

#[napi]
impl NativeRuntime {
    /// `complete` receives every invocation outcome; it starts unreferenced (it does not keep Node
    /// alive) and JS references it while invocations are outstanding.
    #[napi(constructor)]
    #[allow(deprecated, reason = "napi_unref_threadsafe_function is exactly the uv_unref we want; the deprecation is about reference counting")]
    pub fn new(env: Env, opts: NativeRuntimeOptions, mut complete: CompleteFn) -> napi::Result<Self> {
        complete.unref(&env)?;
        let cfg = rt::RuntimeConfig {
            max_instances: opts.max_instances,
            max_memory_bytes: bytes(opts.max_memory_bytes, "maxMemoryBytes")?,
            max_wasm_stack_bytes: opts.max_wasm_stack_bytes as usize,
            epoch_tick: Duration::from_micros(u64::from(opts.epoch_tick_us)),
            cache_dir: opts.cache_dir.map(PathBuf::from),
        };
        Ok(Self { inner: rt::Runtime::new(cfg).map_err(to_js)?, complete: Arc::new(RwLock::new(complete)) })
    }

    /// Keeps Node alive while invocations are outstanding (`true`), or lets it exit (`false`).
    #[napi]
    #[allow(deprecated, reason = "napi_ref/unref_threadsafe_function is exactly the uv_ref/unref we want")]
    pub fn set_active(&self, env: Env, active: bool) -> napi::Result<()> {
        let mut f = self.complete.write().map_err(|_| NapiError::from_reason("completion lock poisoned"))?;
        if active { f.refer(&env) } else { f.unref(&env) }
    }

    /// Compiles (or fetches from cache) and links an actor, off the JS thread.
    #[napi]
    pub async fn load(
        &self,
        wasm: Buffer,
        opts: NativeActorOptions,
        host_call: Option<HostCallFn>,
        log: Option<LogFn>,
    ) -> napi::Result<NativeActor> {
        let limits = rt::ActorLimits {
            max_memory_bytes: bytes(opts.max_memory_bytes, "maxMemoryBytes")?,
            timeout: Duration::from_millis(u64::from(opts.timeout_ms)),
            fuel: opts.fuel.map(|f| bytes(f, "fuel")).transpose()?,
            max_concurrent: opts.max_concurrent,
            max_response_bytes: bytes(opts.max_response_bytes, "maxResponseBytes")?,
            max_log_bytes: opts.max_log_bytes as usize,
        };
        let wasm = wasm.to_vec();
        let runtime = self.inner.clone();
        let host: Arc<dyn rt::Host> = Arc::new(JsHost { call: host_call.map(Arc::new), log });
        let actor = tokio::task::spawn_blocking(move || runtime.load(&wasm, limits, host))
            .await
            .map_err(|e| NapiError::from_reason(format!("load task failed: {e}")))?
            .map_err(to_js)?;
        Ok(NativeActor { inner: actor, complete: self.complete.clone() })
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
    complete: Arc<RwLock<CompleteFn>>,
}

#[napi]
impl NativeActor {
    /// Starts one waPC call in a fresh instance on a runtime worker thread and returns at once;
    /// the runtime's `complete(id, response, errorJson)` callback receives the outcome.
    #[napi]
    pub fn invoke(&self, id: u32, operation: String, payload: &[u8], timeout_ms: Option<u32>) {
        let payload = payload.to_vec();
        let actor = self.inner.clone();
        let complete = self.complete.clone();
        napi::bindgen_prelude::spawn(async move {
            let outcome = actor.invoke(&operation, payload, timeout_ms.map(|t| Duration::from_millis(u64::from(t)))).await;
            let args = match outcome {
                Ok(out) => (id, Some(Buffer::from(out)), None),
                Err(e) => (id, None, Some(to_js(e).reason)),
            };
            if let Ok(f) = complete.read() {
                f.call(FnArgs::from(args), ThreadsafeFunctionCallMode::NonBlocking);
            }
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
