//! Moves invocations between the JS thread and the runtime's worker threads in batches.
//!
//! A call crossing threads one by one costs two wake-ups (JS → worker, worker → JS) and, through
//! napi's promise machinery, a threadsafe function per call. Here the JS thread appends jobs to a
//! submission queue and spawns one drain task per batch; workers append outcomes to a completion
//! queue and wake JS once per batch, and JS takes every finished outcome in one call (one buffer
//! holding all responses). Under load, many invocations share each wake-up. A guest's host calls
//! ride the completion queue too, and JS answers each with one synchronous call.
//!
//! A lone caller (one invocation at a time, e.g. a sequential loop) gets no batching, so both
//! wake-ups sit on its latency: waking a parked worker costs 20-30 µs on a busy 2-core machine,
//! more than the invocation itself. So both sides linger briefly for each other: the JS thread
//! spins for the outcome (`wait_finished`), and the worker that finished the last invocation in
//! flight keeps polling the submission queue (yielding to other tasks) for the next one
//! (`linger`). A worker whose outcome the spinning JS thread will see skips the wake-up call.
//! Lingering stops as soon as JS leaves its outcome untaken for a few microseconds: then JS is
//! not running (asleep in its event loop, or waiting for this very core on a busy machine), and
//! holding the core would only delay it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{Buffer, BufferSlice, Object};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use tokio::sync::oneshot;
use wasmesh_runtime as rt;

use crate::errors::to_js;

/// JS `() => void`: "outcomes are waiting; call `takeCompleted()`".
pub(crate) type WakeFn = ThreadsafeFunction<(), (), (), Status, false>;

/// One invocation waiting for a worker.
pub(crate) struct Job {
    pub id: u32,
    pub actor: rt::Actor,
    pub operation: String,
    pub payload: Vec<u8>,
    pub timeout: Option<Duration>,
}

/// Outcomes finished since JS last took them. `lengths[i]` is the byte length of the i-th
/// response in `data`, or -1 when invocation `ids[i]` failed (its error is the next of `errors`).
/// `waits[i]` is how long invocation `ids[i]` waited for its actor's concurrency permit and a pool
/// slot, in µs (see [`rt::Actor::invoke_then`]); `any_wait` says whether one is not zero.
/// Guest log lines travel in the same queue, so JS sees an invocation's logs before its outcome.
/// Host calls travel in the same queue too (`calls`), so one wake-up serves outcomes and host
/// calls alike.
#[derive(Default)]
struct Finished {
    ids: Vec<u32>,
    lengths: Vec<i32>,
    waits: Vec<u32>,
    any_wait: bool,
    data: Vec<u8>,
    errors: Vec<String>,
    log_ids: Vec<u32>,
    log_levels: Vec<String>,
    log_lines: Vec<String>,
    calls: HostCalls,
}

impl Finished {
    fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.log_ids.is_empty() && self.calls.ids.is_empty()
    }

    /// Entries JS must act on (outcomes and host calls; log lines ride along with them).
    fn actionable(&self) -> usize {
        self.ids.len() + self.calls.ids.len()
    }
}

/// Host calls waiting for JS: `ids[i]` (answer with `resolveHostCall`/`rejectHostCall`) was made
/// by invocation `invocations[i]`; its payload is the next `payload_lengths[i]` bytes of `data`.
#[derive(Default)]
struct HostCalls {
    ids: Vec<u32>,
    invocations: Vec<u32>,
    bindings: Vec<String>,
    namespaces: Vec<String>,
    operations: Vec<String>,
    payload_lengths: Vec<u32>,
    data: Vec<u8>,
}

/// `d` in whole microseconds, saturating at `u32::MAX` (over an hour: no deadline is that long).
fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// The answer to a host call: the response bytes, or the error text the guest sees.
pub(crate) type HostCallOutcome = Result<Vec<u8>, String>;

/// Host calls handed to JS and not answered yet, by id.
#[derive(Default)]
struct AwaitedCalls {
    senders: HashMap<u32, oneshot::Sender<HostCallOutcome>>,
    next_id: u32,
}

/// Responses of a batch up to this many bytes in all are copied into a buffer V8 owns; larger
/// ones are handed over as they are. Making an external buffer (and later finalizing it) costs
/// more than copying a few KiB, and a lone call pays it on every round trip.
const COPY_LIMIT: usize = 64 << 10;

/// Jobs waiting for a worker, and whether a worker is lingering for them (then a new job needs
/// no task of its own).
#[derive(Default)]
struct Submitted {
    jobs: Vec<Job>,
    lingering: bool,
}

/// The longest a worker lingers for the next job: a caller slower than this between calls is not
/// in a tight loop, and the wake-up it then costs is small next to its own pace.
const LINGER_MAX: Duration = Duration::from_micros(50);

/// How long a lingering worker tolerates its outcome not being taken by JS (see the module doc).
const UNTAKEN_MAX: Duration = Duration::from_micros(5);

/// The right to linger for the next job, held by at most one task; dropping it (also when a
/// task unwinds) gives it back, so new jobs spawn their own task again.
struct LingerRole<'a>(&'a Dispatch);

impl LingerRole<'_> {
    /// Gives the role back and takes the submitted jobs, in one step: a job submitted between
    /// the two would find neither a lingering worker nor a reason to spawn a task.
    fn release(self) -> Vec<Job> {
        let d = self.0;
        std::mem::forget(self);
        let mut q = d.submitted.lock().unwrap_or_else(|p| p.into_inner());
        q.lingering = false;
        d.submitted_count.store(0, Ordering::Release);
        std::mem::take(&mut q.jobs)
    }
}

impl Drop for LingerRole<'_> {
    fn drop(&mut self) {
        self.0.submitted.lock().unwrap_or_else(|p| p.into_inner()).lingering = false;
    }
}

/// `Dispatch::js_state`: JS needs a wake-up call to see new outcomes.
const JS_IDLE: u8 = 0;
/// JS will look at the finished queue without a wake-up: it submitted a job this turn and checks
/// for outcomes at the end of the turn, or it is spinning for one (see `wait_finished`).
const JS_WATCHING: u8 = 1;
/// A worker queued an outcome while JS was watching and left the wake-up to it.
const JS_HANDED_OFF: u8 = 2;

/// The two queues and the JS wake-up callback of one runtime.
pub(crate) struct Dispatch {
    submitted: Mutex<Submitted>,
    /// Jobs in `submitted`, readable without the lock (for `linger`).
    submitted_count: AtomicUsize,
    /// Invocations submitted and not finished yet.
    in_flight: AtomicUsize,
    /// How long a worker waits for the next job after the last invocation in flight ended.
    linger: Duration,
    finished: Mutex<Finished>,
    /// Outcomes in `finished`, readable without the lock (for `wait_finished`).
    finished_count: AtomicUsize,
    /// `JS_IDLE`, `JS_WATCHING` or `JS_HANDED_OFF`.
    js_state: AtomicU8,
    /// Read-locked by workers to call it, write-locked by JS to ref/unref it.
    wake_js: RwLock<WakeFn>,
    awaited: Mutex<AwaitedCalls>,
}

impl Dispatch {
    /// `spin`: how long JS spins for a lone outcome; workers linger for at most as long (and
    /// [`LINGER_MAX`]); zero turns lingering off.
    pub(crate) fn new(wake_js: WakeFn, spin: Duration) -> Arc<Self> {
        Arc::new(Self {
            submitted: Mutex::new(Submitted::default()),
            submitted_count: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            linger: spin.min(LINGER_MAX),
            finished: Mutex::new(Finished::default()),
            finished_count: AtomicUsize::new(0),
            js_state: AtomicU8::new(JS_IDLE),
            wake_js: RwLock::new(wake_js),
            awaited: Mutex::new(AwaitedCalls::default()),
        })
    }

    /// Queues `job` (JS thread); the first job of a batch spawns the task that starts them all,
    /// unless a worker lingering for it will take it.
    pub(crate) fn submit(self: &Arc<Self>, job: Job) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if !self.linger.is_zero() {
            // JS calls `wait_finished` at the end of this turn (see host/src/runtime/pending.ts).
            let _ = self.js_state.compare_exchange(JS_IDLE, JS_WATCHING, Ordering::AcqRel, Ordering::Acquire);
        }
        let spawn = {
            let mut q = self.submitted.lock().unwrap_or_else(|p| p.into_inner());
            q.jobs.push(job);
            self.submitted_count.store(q.jobs.len(), Ordering::Release);
            q.jobs.len() == 1 && !q.lingering
        };
        if spawn {
            napi::bindgen_prelude::spawn(self.clone().drain(None));
        }
    }

    /// Starts `jobs`, or every submitted job: the last runs in this task, the others get a task
    /// each, so idle workers steal them and every core runs wasm. Then lingers for more. (Boxed:
    /// the tasks it spawns may spawn it again.)
    fn drain(self: Arc<Self>, mut jobs: Option<Vec<Job>>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            loop {
                let mut batch = jobs.take().unwrap_or_else(|| self.take_submitted());
                let last = batch.pop();
                for job in batch {
                    tokio::spawn(self.clone().run_then_linger(job));
                }
                let Some(job) = last else { return };
                let Some(role) = self.run(job).await else { return };
                match self.linger(role).await {
                    Some(more) => jobs = Some(more),
                    None => return,
                }
            }
        })
    }

    async fn run_then_linger(self: Arc<Self>, job: Job) {
        if let Some(role) = self.run(job).await
            && let Some(more) = self.linger(role).await
        {
            // A task on this worker's own queue: it runs when this one returns, with no wake-up.
            tokio::spawn(self.clone().drain(Some(more)));
        }
    }

    fn take_submitted(&self) -> Vec<Job> {
        let mut q = self.submitted.lock().unwrap_or_else(|p| p.into_inner());
        self.submitted_count.store(0, Ordering::Release);
        std::mem::take(&mut q.jobs)
    }

    /// Runs `job`; its outcome goes to JS before its instance is torn down. Returns the
    /// lingering role when this task took it (see `finish`).
    async fn run(&self, job: Job) -> Option<LingerRole<'_>> {
        let id = job.id;
        let mut role = None;
        job.actor
            .invoke_then(u64::from(id), &job.operation, job.payload, job.timeout, |outcome, queued| {
                role = self.finish(id, outcome, queued);
            })
            .await;
        role
    }

    /// Waits up to `self.linger` for the next jobs, yielding to other tasks between looks, so a
    /// lone caller's next call starts without waking a parked worker; returns them for this task
    /// to start. Gives up early when JS leaves the last outcome untaken (see the module doc).
    async fn linger(&self, role: LingerRole<'_>) -> Option<Vec<Job>> {
        let start = Instant::now();
        loop {
            let waited = start.elapsed();
            let untaken = self.finished_count.load(Ordering::Acquire) > 0;
            let give_up = waited >= self.linger || (untaken && waited >= UNTAKEN_MAX);
            if give_up || self.submitted_count.load(Ordering::Acquire) > 0 {
                let jobs = role.release();
                return if jobs.is_empty() { None } else { Some(jobs) };
            }
            tokio::task::yield_now().await;
        }
    }

    /// Queues invocation `id`'s outcome and its queue wait for JS. When it was the last in flight,
    /// its task takes the lingering role, before JS can see the outcome, so a job JS submits in
    /// reply finds a lingering worker instead of spawning a task of its own.
    fn finish(&self, id: u32, outcome: rt::Result<Vec<u8>>, queued: Duration) -> Option<LingerRole<'_>> {
        let last = self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1;
        let free = last && !self.linger.is_zero() && {
            let mut q = self.submitted.lock().unwrap_or_else(|p| p.into_inner());
            // Queued jobs already have a drain task (spawned when the first was queued).
            let free = q.jobs.is_empty() && !q.lingering;
            q.lingering |= free;
            free
        };
        // Made only when taken (and after the lock is released): dropping a role gives it back.
        let role = free.then(|| LingerRole(self));
        let wait = micros(queued);
        self.push(|f| {
            f.ids.push(id);
            f.waits.push(wait);
            f.any_wait |= wait != 0;
            match outcome {
                Ok(bytes) => {
                    f.lengths.push(bytes.len() as i32);
                    f.data.extend_from_slice(&bytes);
                }
                Err(e) => {
                    f.lengths.push(-1);
                    f.errors.push(to_js(e).reason);
                }
            }
        });
        role
    }

    /// Hands a guest's host call to JS (any thread) in the finished queue, where it shares the
    /// wake-up of the outcomes around it instead of crossing on its own, and waits for JS's answer
    /// (`answer_host_call`). Like a worker after its last job, it first polls for the answer for
    /// up to the linger time (yielding to other tasks), so a quick answer needs no wake-up of a
    /// parked worker.
    pub(crate) async fn host_call(&self, invocation: u32, call: rt::HostCall) -> HostCallOutcome {
        let mut answer = self.queue_host_call(invocation, call);
        let start = Instant::now();
        while start.elapsed() < self.linger {
            match answer.try_recv() {
                Ok(outcome) => return outcome,
                Err(oneshot::error::TryRecvError::Empty) => tokio::task::yield_now().await,
                Err(oneshot::error::TryRecvError::Closed) => break,
            }
        }
        // Closed only when the runtime drops the call unanswered (it is going away).
        answer.await.unwrap_or_else(|_| Err("the host call was dropped unanswered: the runtime is closing".to_owned()))
    }

    /// Queues the host call for JS; the receiver gets the answer, or is closed if it is dropped.
    fn queue_host_call(&self, invocation: u32, call: rt::HostCall) -> oneshot::Receiver<HostCallOutcome> {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut a = self.awaited.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                a.next_id = a.next_id.wrapping_add(1);
                if a.next_id != 0 && !a.senders.contains_key(&a.next_id) {
                    break;
                }
            }
            let id = a.next_id;
            a.senders.insert(id, tx);
            id
        };
        self.push(|f| {
            let c = &mut f.calls;
            c.ids.push(id);
            c.invocations.push(invocation);
            c.bindings.push(call.binding);
            c.namespaces.push(call.namespace);
            c.operations.push(call.operation);
            c.payload_lengths.push(call.payload.len() as u32);
            c.data.extend_from_slice(&call.payload);
        });
        rx
    }

    /// Delivers JS's answer to host call `id` (JS thread); an unknown id (already answered, or
    /// its invocation gone) is ignored.
    pub(crate) fn answer_host_call(&self, id: u32, outcome: HostCallOutcome) {
        let sender = self.awaited.lock().unwrap_or_else(|p| p.into_inner()).senders.remove(&id);
        if let Some(tx) = sender {
            let _ = tx.send(outcome);
        }
    }

    /// Queues a guest log line of invocation `id` (any thread).
    pub(crate) fn log(&self, id: u32, level: rt::LogLevel, line: String) {
        self.push(|f| {
            f.log_ids.push(id);
            f.log_levels.push(level.as_str().to_owned());
            f.log_lines.push(line);
        });
    }

    /// Adds to the finished queue; the first entry of a batch wakes JS, unless JS is watching
    /// for it (then JS takes it when it looks, see `wait_finished`).
    fn push(&self, add: impl FnOnce(&mut Finished)) {
        let first = {
            let mut f = self.finished.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = f.is_empty();
            add(&mut f);
            self.finished_count.store(f.actionable(), Ordering::Release);
            was_empty
        };
        if !first {
            return;
        }
        let handed_off =
            self.js_state.compare_exchange(JS_WATCHING, JS_HANDED_OFF, Ordering::AcqRel, Ordering::Acquire).is_ok();
        if !handed_off && let Ok(wake) = self.wake_js.read() {
            wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Takes every finished outcome (JS thread) as one object: `ids`, `lengths` and `data`
    /// (see [`Finished`]), plus `waits`, `errors`, `logIds`, `logLevels` and `logLines`, and the
    /// host calls (`callIds`, `callInvocations`, `callBindings`, `callNamespaces`,
    /// `callOperations`, `callLengths`, `callData`; see [`HostCalls`]) when there are any (`waits`
    /// when one is not zero: an uncontended batch, the common case, costs no extra array); `null`
    /// when nothing finished. Plain arrays and a copied buffer: for the few outcomes of a typical
    /// batch they are cheaper to make than typed arrays over Rust memory.
    pub(crate) fn take<'env>(&self, env: &'env Env) -> napi::Result<Option<Object<'env>>> {
        let f = {
            let mut guard = self.finished.lock().unwrap_or_else(|p| p.into_inner());
            self.finished_count.store(0, Ordering::Release);
            std::mem::take(&mut *guard)
        };
        if f.is_empty() {
            return Ok(None);
        }
        let mut o = Object::new(env)?;
        o.set("ids", f.ids)?;
        o.set("lengths", f.lengths)?;
        if f.any_wait {
            o.set("waits", f.waits)?;
        }
        if f.data.len() <= COPY_LIMIT {
            o.set("data", &BufferSlice::copy_from(env, &f.data)?)?;
        } else {
            o.set("data", Buffer::from(f.data))?;
        }
        if !f.errors.is_empty() {
            o.set("errors", f.errors)?;
        }
        if !f.log_ids.is_empty() {
            o.set("logIds", f.log_ids)?;
            o.set("logLevels", f.log_levels)?;
            o.set("logLines", f.log_lines)?;
        }
        let c = f.calls;
        if !c.ids.is_empty() {
            o.set("callIds", c.ids)?;
            o.set("callInvocations", c.invocations)?;
            o.set("callBindings", c.bindings)?;
            o.set("callNamespaces", c.namespaces)?;
            o.set("callOperations", c.operations)?;
            o.set("callLengths", c.payload_lengths)?;
            o.set("callData", &BufferSlice::copy_from(env, &c.data)?)?;
        }
        Ok(Some(o))
    }

    /// Busy-waits up to `max` for an outcome to be ready (JS thread). Used when a single
    /// invocation is outstanding: catching its outcome here saves the JS thread the wake-up from
    /// its event loop, which dominates the latency of a lone call. Returns whether one is ready;
    /// then the caller must take the outcomes (a worker may have left the wake-up to it).
    /// With `max` zero it only looks, ending the watch `submit` began.
    pub(crate) fn wait_finished(&self, max: Duration) -> bool {
        if self.js_state.swap(JS_WATCHING, Ordering::AcqRel) == JS_HANDED_OFF {
            self.js_state.store(JS_IDLE, Ordering::Release);
            return true;
        }
        let start = Instant::now();
        loop {
            if self.finished_count.load(Ordering::Acquire) > 0 {
                self.js_state.store(JS_IDLE, Ordering::Release);
                return true;
            }
            if start.elapsed() >= max {
                // A worker that queued something meanwhile (log lines) left the wake-up to us.
                return self.js_state.swap(JS_IDLE, Ordering::AcqRel) == JS_HANDED_OFF;
            }
            std::hint::spin_loop();
        }
    }

    /// References (keeps Node alive) or unreferences the wake-up callback.
    #[allow(deprecated, reason = "napi_ref/unref_threadsafe_function is exactly the uv_ref/unref we want")]
    pub(crate) fn set_active(&self, env: &Env, active: bool) -> napi::Result<()> {
        let mut f = self.wake_js.write().map_err(|_| napi::Error::from_reason("wake-up lock poisoned"))?;
        if active { f.refer(env) } else { f.unref(env) }
    }
}
