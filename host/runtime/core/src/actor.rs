//! A loaded actor: its pre-linked module, limits and concurrency cap, and `invoke`, which runs
//! one waPC call in a fresh instance.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::{Engine, InstancePre, ModuleExport, Store, Trap, UpdateDeadline, WasmBacktrace};
use wasmtime_wasi::I32Exit;

use crate::abi::{InvocationState, Violation};
use crate::cache::CacheSource;
use crate::config::ActorLimits;
use crate::error::{Error, Result};
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

struct ActorInner {
    shared: Arc<Shared>,
    engine: Engine,
    pre: InstancePre<InvocationState>,
    guest_call: ModuleExport,
    init: Vec<ModuleExport>,
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
        pre: InstancePre<InvocationState>,
        limits: ActorLimits,
        host: Arc<dyn Host>,
        hash: String,
        source: CacheSource,
    ) -> Result<Self> {
        let module = pre.module();
        let guest_call = module
            .get_export_index("__guest_call")
            .ok_or_else(|| Error::internal("__guest_call vanished after validation"))?;
        let init = INIT_EXPORTS
            .iter()
            .filter(|n| module.get_export(n).and_then(|t| t.func().cloned()).is_some_and(|f| f.params().len() == 0 && f.results().len() == 0))
            .filter_map(|n| module.get_export_index(n))
            .collect();
        let concurrency = Semaphore::new(limits.max_concurrent as usize);
        let log_rate = Arc::new(Mutex::new(LogRate::new(limits.log_rate_bytes_per_sec, limits.max_log_bytes)));
        Ok(Self {
            inner: Arc::new(ActorInner { shared, engine, pre, guest_call, init, limits, concurrency, log_rate, host, hash, source }),
        })
    }

    /// SHA-256 (hex) of the module bytes.
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

    /// Runs the call in a fresh instance and hands its outcome to `deliver` before dropping it.
    async fn run(
        &self,
        invocation: u64,
        operation: &str,
        payload: Vec<u8>,
        deadline: Instant,
        timeout: Duration,
        deliver: &mut Option<impl FnOnce(Result<Vec<u8>>)>,
    ) {
        let (op_len, len) = (operation.len() as i32, payload.len() as i32);
        let mut store = match self.store(invocation, operation, payload, deadline) {
            Ok(s) => s,
            Err(e) => {
                if let Some(d) = deliver.take() {
                    d(Err(e));
                }
                return;
            }
        };
        let outcome = self.call_guest(&mut store, op_len, len).await;
        let state = store.data_mut();
        state.flush_stdio();
        let result = classify(outcome, state, operation, timeout, self.inner.limits.fuel);
        if let Some(d) = deliver.take() {
            d(result);
        }
    }

    /// A store for one invocation, with the actor's limits and the deadline armed.
    fn store(&self, invocation: u64, operation: &str, payload: Vec<u8>, deadline: Instant) -> Result<Store<InvocationState>> {
        let a = &self.inner;
        let state = InvocationState::new(
            invocation,
            operation.to_owned(),
            payload,
            a.limits.max_memory_bytes,
            a.limits.max_response_bytes,
            a.limits.max_log_bytes,
            a.log_rate.clone(),
            a.host.clone(),
        );
        let mut store = Store::new(&a.engine, state);
        store.limiter(|s| s);
        if let Some(fuel) = a.limits.fuel {
            store.set_fuel(fuel).map_err(Error::internal)?;
            store.fuel_async_yield_interval(Some(100_000)).map_err(Error::internal)?;
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
        });
        Ok(store)
    }

    async fn call_guest(&self, store: &mut Store<InvocationState>, op_len: i32, len: i32) -> wasmtime::Result<i32> {
        let a = &self.inner;
        let instance = a.pre.instantiate_async(&mut *store).await?;
        for export in &a.init {
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
            .get_module_export(&mut *store, &a.guest_call)
            .and_then(|e| e.into_func())
            .ok_or_else(|| wasmtime::format_err!("__guest_call is not a function"))?;
        f.typed::<(i32, i32), i32>(&*store)?.call_async(&mut *store, (op_len, len)).await
    }
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
        Err(e) => Err(classify_failure(e, state, timeout, fuel)),
    }
}

fn classify_failure(e: wasmtime::Error, state: &mut InvocationState, timeout: Duration, fuel: Option<u64>) -> Error {
    match state.violation {
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
    if let Some(reason) = state.guest_error.take() {
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
