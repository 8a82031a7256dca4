//! A loaded actor: its pre-linked module or component, limits and concurrency cap, and `invoke`,
//! which runs one call in a fresh instance.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::{Engine, InstancePre, ModuleExport, Store, Trap, UpdateDeadline, WasmBacktrace};
use wasmtime_wasi::I32Exit;

use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::abi::{InvocationState, Violation};
use crate::cache::CacheSource;
use crate::component::{self, ComponentState, INCOMING_HANDLER};
use crate::contracts::HTTP_SERVER_HANDLE_REQUEST;
use crate::config::ActorLimits;
use crate::error::{Error, Result};
use crate::guest_io::GuestIo;
use crate::host::Host;
use crate::log_rate::LogRate;
use crate::runtime::Shared;

/// How waPC guest SDKs word an unknown operation: wapc-rs and our SDK, then @wapc/as-guest.
const UNKNOWN_OPERATION_PREFIXES: [&str; 2] = ["No handler registered for function", "Could not find function"];

/// Exports run, in this order, before `__guest_call` in every fresh instance (wapc-rs order).
const INIT_EXPORTS: [&str; 3] = ["_start", "_initialize", "wapc_init"];

/// A compiled, linked actor ready for invocations. Cheap to clone.
#[derive(Clone)]
pub struct Actor {
    inner: Arc<ActorInner>,
}

/// What an actor runs: a waPC module, or a component served through its exports.
pub(crate) enum Code {
    Module { pre: InstancePre<InvocationState>, guest_call: ModuleExport, init: Vec<ModuleExport> },
    Component { pre: ProxyPre<ComponentState> },
}

impl Code {
    /// A waPC module's code, with the exports every invocation calls looked up once.
    pub(crate) fn module(pre: InstancePre<InvocationState>) -> Result<Self> {
        let module = pre.module();
        let guest_call = module
            .get_export_index("__guest_call")
            .ok_or_else(|| Error::internal("__guest_call vanished after validation"))?;
        let init = INIT_EXPORTS
            .iter()
            .filter(|n| module.get_export(n).and_then(|t| t.func().cloned()).is_some_and(|f| f.params().len() == 0 && f.results().len() == 0))
            .filter_map(|n| module.get_export_index(n))
            .collect();
        Ok(Code::Module { pre, guest_call, init })
    }
}

struct ActorInner {
    shared: Arc<Shared>,
    engine: Engine,
    code: Code,
    limits: ActorLimits,
    concurrency: Semaphore,
    log_rate: Arc<Mutex<LogRate>>,
    host: Arc<dyn Host>,
    hash: String,
    source: CacheSource,
}

impl Actor {
    pub(crate) fn new(
        shared: Arc<Shared>,
        engine: Engine,
        code: Code,
        limits: ActorLimits,
        host: Arc<dyn Host>,
        hash: String,
        source: CacheSource,
    ) -> Self {
        let concurrency = Semaphore::new(limits.max_concurrent as usize);
        let log_rate = Arc::new(Mutex::new(LogRate::new(limits.log_rate_bytes_per_sec, limits.max_log_bytes)));
        Self { inner: Arc::new(ActorInner { shared, engine, code, limits, concurrency, log_rate, host, hash, source }) }
    }

    /// Whether this actor is a component (else a waPC module).
    pub fn is_component(&self) -> bool {
        matches!(self.inner.code, Code::Component { .. })
    }

    /// The binary's content key in the compiled-code cache: its BLAKE3 digest (hex).
    pub fn hash(&self) -> &str {
        &self.inner.hash
    }

    /// Where the compiled code came from when this actor was loaded.
    pub fn source(&self) -> CacheSource {
        self.inner.source
    }

    /// The limits this actor runs under.
    pub fn limits(&self) -> &ActorLimits {
        &self.inner.limits
    }

    /// Invocations of this actor currently running.
    pub fn in_flight(&self) -> usize {
        self.inner.limits.max_concurrent as usize - self.inner.concurrency.available_permits()
    }

    /// Runs `operation` with `payload` in a fresh instance and returns the guest's response.
    /// `timeout` (default: the actor's) covers waiting for a slot as well as execution.
    pub async fn invoke(&self, operation: &str, payload: Vec<u8>, timeout: Option<Duration>) -> Result<Vec<u8>> {
        self.invoke_as(0, operation, payload, timeout).await
    }

    /// [`Actor::invoke`], tagging the host calls the guest makes with `invocation` (see
    /// [`HostCall::invocation`]) so the embedder can tie them to the call that caused them.
    pub async fn invoke_as(
        &self,
        invocation: u64,
        operation: &str,
        payload: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>> {
        let mut outcome = None;
        self.invoke_then(invocation, operation, payload, timeout, |r, _| outcome = Some(r)).await;
        outcome.unwrap_or_else(|| Err(Error::internal("the invocation ended without an outcome")))
    }

    /// [`Actor::invoke_as`], handing the outcome to `deliver` as soon as it is known, before the
    /// instance is torn down: resetting its memory, table and stack for the next user takes a few
    /// microseconds, and tens on a pool slot's first use, which a caller need not wait for.
    /// Until this returns the invocation still holds its pool slot and counts as in flight.
    ///
    /// `deliver` also gets the invocation's queue wait: how long it waited for the actor's
    /// concurrency permit and a pool slot before its instance was made (about zero when neither
    /// was contended), so an embedder can tell a saturated actor or pool from a slow guest. For an
    /// invocation that failed while waiting (its deadline passed, or the runtime closed), it is
    /// the whole time it waited.
    pub async fn invoke_then(
        &self,
        invocation: u64,
        operation: &str,
        payload: Vec<u8>,
        timeout: Option<Duration>,
        deliver: impl FnOnce(Result<Vec<u8>>, Duration),
    ) {
        let a = &self.inner;
        let timeout = timeout.unwrap_or(a.limits.timeout);
        let start = Instant::now();
        let deadline = start + timeout;
        let tdeadline = tokio::time::Instant::from_std(deadline);
        let permits = match acquire(&a.concurrency, tdeadline, timeout).await {
            Ok(p) => (p, acquire(&a.shared.slots, tdeadline, timeout).await),
            Err(e) => return deliver(Err(e), start.elapsed()),
        };
        let _permits = match permits {
            (p, Ok(slot)) => (p, slot),
            (_, Err(e)) => return deliver(Err(e), start.elapsed()),
        };
        let queued = start.elapsed();
        let mut deliver = Some(move |outcome: Result<Vec<u8>>| deliver(outcome, queued));
        let run = self.run(invocation, operation, payload, deadline, timeout, &mut deliver);
        if tokio::time::timeout_at(tdeadline, run).await.is_err()
            && let Some(d) = deliver.take()
        {
            d(Err(Error::Timeout { timeout, queued: false }));
        }
    }

    /// Runs the call in a fresh instance and hands its outcome to `deliver` before dropping the
    /// instance: resetting its pool slot (memory, tables, stack) is not the caller's wait.
    async fn run(
        &self,
        invocation: u64,
        operation: &str,
        payload: Vec<u8>,
        deadline: Instant,
        timeout: Duration,
        deliver: &mut Option<impl FnOnce(Result<Vec<u8>>)>,
    ) {
        let mut hand_over = |result| {
            if let Some(d) = deliver.take() {
                d(result);
            }
        };
        match &self.inner.code {
            Code::Module { pre, guest_call, init } => {
                let (result, store) =
                    self.run_module(pre, guest_call, init, invocation, operation, payload, deadline, timeout).await;
                hand_over(result);
                drop(store);
            }
            Code::Component { pre } => {
                let (result, store) = self.run_component(pre, invocation, operation, payload, deadline, timeout).await;
                hand_over(result);
                drop(store);
            }
        }
    }

    /// One waPC call: `__guest_call` in a fresh instance of the module.
    #[allow(clippy::too_many_arguments)]
    async fn run_module(
        &self,
        pre: &InstancePre<InvocationState>,
        guest_call: &ModuleExport,
        init: &[ModuleExport],
        invocation: u64,
        operation: &str,
        payload: Vec<u8>,
        deadline: Instant,
        timeout: Duration,
    ) -> (Result<Vec<u8>>, Store<InvocationState>) {
        let (op_len, len) = (operation.len() as i32, payload.len() as i32);
        let a = &self.inner;
        let state = InvocationState::new(operation.to_owned(), payload, a.limits.max_memory_bytes, a.limits.max_response_bytes, self.io(invocation));
        let mut store = Store::new(&a.engine, state);
        store.limiter(|s| s);
        if let Err(e) = self.arm(&mut store, deadline) {
            return (Err(e), store);
        }
        let outcome = call_guest(pre, guest_call, init, &mut store, op_len, len).await;
        let state = store.data_mut();
        state.io.flush();
        (classify(outcome, state, operation, timeout, a.limits.fuel), store)
    }

    /// One call of a component, through the export that serves `operation`.
    async fn run_component(
        &self,
        pre: &ProxyPre<ComponentState>,
        invocation: u64,
        operation: &str,
        payload: Vec<u8>,
        deadline: Instant,
        timeout: Duration,
    ) -> (Result<Vec<u8>>, Option<Store<ComponentState>>) {
        if operation != HTTP_SERVER_HANDLE_REQUEST {
            let message = format!("the component serves `{HTTP_SERVER_HANDLE_REQUEST}` only (through `{INCOMING_HANDLER}`)");
            return (Err(Error::UnknownOperation { operation: operation.to_owned(), message }), None);
        }
        let a = &self.inner;
        let mut store = Store::new(&a.engine, ComponentState::new(self.io(invocation), a.limits.max_memory_bytes));
        store.limiter(|s| s);
        if let Err(e) = self.arm(&mut store, deadline) {
            return (Err(e), Some(store));
        }
        let outcome = component::serve_http(pre, &mut store, &payload, a.limits.max_response_bytes).await;
        let state = store.data_mut();
        state.io.flush();
        let result = outcome.map_err(|e| match e.downcast_ref::<Error>() {
            Some(ours) => ours.clone(),
            None => classify_failure(e, state.violation, None, timeout, a.limits.fuel),
        });
        (result, Some(store))
    }

    /// What an invocation's guest may send out: its host calls and its log.
    fn io(&self, invocation: u64) -> GuestIo {
        let a = &self.inner;
        GuestIo::new(invocation, a.host.clone(), a.limits.max_log_bytes, a.log_rate.clone())
    }

    /// Arms `store` with the actor's fuel and the invocation's deadline.
    fn arm<T: 'static>(&self, store: &mut Store<T>, deadline: Instant) -> Result<()> {
        if let Some(fuel) = self.inner.limits.fuel {
            store.set_fuel(fuel).map_err(Error::internal)?;
            store.fuel_async_yield_interval(Some(100_000)).map_err(Error::internal)?;
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
        });
        Ok(())
    }
}

/// `__guest_call` in a fresh instance, after the module's initialisers.
async fn call_guest(
    pre: &InstancePre<InvocationState>,
    guest_call: &ModuleExport,
    init: &[ModuleExport],
    store: &mut Store<InvocationState>,
    op_len: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    let instance = pre.instantiate_async(&mut *store).await?;
    for export in init {
        if let Some(f) = instance.get_module_export(&mut *store, export).and_then(|e| e.into_func()) {
            match f.typed::<(), ()>(&*store)?.call_async(&mut *store, ()).await {
                Ok(()) => {}
                // A WASI command's `_start` may end with proc_exit(0): initialised, not failed.
                Err(e) if e.downcast_ref::<I32Exit>().is_some_and(|x| x.0 == 0) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let f = instance
        .get_module_export(&mut *store, guest_call)
        .and_then(|e| e.into_func())
        .ok_or_else(|| wasmtime::format_err!("__guest_call is not a function"))?;
    f.typed::<(i32, i32), i32>(&*store)?.call_async(&mut *store, (op_len, len)).await
}

/// Takes a permit, waiting at most until `deadline`; the uncontended path sets no timer.
async fn acquire(
    sem: &Semaphore,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<tokio::sync::SemaphorePermit<'_>> {
    match sem.try_acquire() {
        Ok(p) => Ok(p),
        Err(tokio::sync::TryAcquireError::Closed) => Err(Error::Closed),
        Err(tokio::sync::TryAcquireError::NoPermits) => tokio::time::timeout_at(deadline, sem.acquire())
            .await
            .map_err(|_| Error::Timeout { timeout, queued: true })?
            .map_err(|_| Error::Closed),
    }
}

/// How a host's answer to a host call says the call ran out of time (`WASMESH_ERR_TIMEOUT: …`).
const HOST_TIMEOUT_PREFIX: &str = "WASMESH_ERR_TIMEOUT";

/// Turns the raw outcome of `__guest_call` into the response or a typed error.
fn classify(
    outcome: wasmtime::Result<i32>,
    state: &mut InvocationState,
    operation: &str,
    timeout: Duration,
    fuel: Option<u64>,
) -> Result<Vec<u8>> {
    match outcome {
        Ok(1) => Ok(state.response.take().unwrap_or_default()),
        Ok(0) => {
            let message = state.guest_error.take().unwrap_or_else(|| "the guest failed without an error message".into());
            if let Some((target, host_message)) = state.failed_host_call.take() {
                // A host call is given what is left of the invocation's time: when that ran out,
                // the invocation timed out, whichever noticed first (the call or the epoch timer).
                if host_message.starts_with(HOST_TIMEOUT_PREFIX) {
                    return Err(Error::Timeout { timeout, queued: false });
                }
                return Err(Error::HostCallFailed { target, host_message, guest_message: message });
            }
            if UNKNOWN_OPERATION_PREFIXES.iter().any(|p| message.starts_with(p)) {
                return Err(Error::UnknownOperation { operation: operation.to_owned(), message });
            }
            Err(Error::GuestError { message })
        }
        Ok(rc) => Err(Error::Protocol { message: format!("__guest_call returned {rc}; waPC allows only 1 (ok) or 0 (error)") }),
        Err(e) => Err(classify_failure(e, state.violation, state.guest_error.take(), timeout, fuel)),
    }
}

/// A failed wasm call as a typed error: the host's own stop (`violation`), the deadline, fuel, or a
/// trap (with what the guest reported before it, if anything).
fn classify_failure(
    e: wasmtime::Error,
    violation: Option<Violation>,
    guest_error: Option<String>,
    timeout: Duration,
    fuel: Option<u64>,
) -> Error {
    match violation {
        Some(Violation::MemoryLimit { limit, requested }) => {
            return Error::MemoryLimit { limit_bytes: limit, requested_bytes: requested };
        }
        Some(Violation::ResponseTooLarge { size, limit }) => return Error::ResponseTooLarge { size, limit },
        None => {}
    }
    if let Some(exit) = e.downcast_ref::<I32Exit>() {
        return Error::GuestError { message: format!("the guest called proc_exit({}) during the call", exit.0) };
    }
    let backtrace = e.downcast_ref::<WasmBacktrace>().map(|b| b.to_string()).filter(|b| !b.is_empty());
    let trap = e.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::Interrupt) => return Error::Timeout { timeout, queued: false },
        Some(Trap::OutOfFuel) => return Error::FuelExhausted { fuel: fuel.unwrap_or(0) },
        _ => {}
    }
    let trap_code = trap.map_or_else(|| "host_function".to_owned(), trap_name);
    let mut message = match trap {
        Some(t) => t.to_string(),
        None => format!("{e:#}"),
    };
    // AssemblyScript's abort (and similar) report their reason through __guest_error, then trap.
    if let Some(reason) = guest_error {
        message = format!("{message} (guest reported: {reason})");
    }
    Error::Trap { trap_code, message, backtrace }
}

/// `Trap::StackOverflow` → `stack_overflow`.
fn trap_name(t: Trap) -> String {
    let debug = match t {
        Trap::UnreachableCodeReached => "Unreachable".to_owned(),
        other => format!("{other:?}"),
    };
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}
