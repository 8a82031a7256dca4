//! Moves invocations between the JS thread and the runtime's worker threads in batches.
//!
//! A call crossing threads one by one costs two wake-ups (JS → worker, worker → JS) and, through
//! napi's promise machinery, a threadsafe function per call. Here the JS thread appends jobs to a
//! submission queue and spawns one drain task per batch; workers append outcomes to a completion
//! queue and wake JS once per batch, and JS takes every finished outcome in one call (one buffer
//! holding all responses). Under load, many invocations share each wake-up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{Buffer, Int32Array, Uint32Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
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
/// Guest log lines travel in the same queue, so JS sees an invocation's logs before its outcome.
#[derive(Default)]
struct Finished {
    ids: Vec<u32>,
    lengths: Vec<i32>,
    data: Vec<u8>,
    errors: Vec<String>,
    log_ids: Vec<u32>,
    log_levels: Vec<String>,
    log_lines: Vec<String>,
}

impl Finished {
    fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.log_ids.is_empty()
    }
}

/// A batch of outcomes as JS receives it (see [`Finished`]).
#[napi(object)]
pub struct NativeCompletions {
    pub ids: Uint32Array,
    pub lengths: Int32Array,
    pub data: Buffer,
    /// `{code, message, ...}` JSON per failed invocation, in order.
    pub errors: Vec<String>,
    /// Guest log lines: the invocation that wrote each, its level (`info`, `warn`) and text.
    pub log_ids: Uint32Array,
    pub log_levels: Vec<String>,
    pub log_lines: Vec<String>,
}

/// The two queues and the JS wake-up callback of one runtime.
pub(crate) struct Dispatch {
    submitted: Mutex<Vec<Job>>,
    finished: Mutex<Finished>,
    /// Outcomes in `finished`, readable without the lock (for `wait_finished`).
    finished_count: AtomicUsize,
    /// Read-locked by workers to call it, write-locked by JS to ref/unref it.
    wake_js: RwLock<WakeFn>,
}

impl Dispatch {
    pub(crate) fn new(wake_js: WakeFn) -> Arc<Self> {
        Arc::new(Self {
            submitted: Mutex::new(Vec::new()),
            finished: Mutex::new(Finished::default()),
            finished_count: AtomicUsize::new(0),
            wake_js: RwLock::new(wake_js),
        })
    }

    /// Queues `job` (JS thread); the first job of a batch spawns the task that starts them all.
    pub(crate) fn submit(self: &Arc<Self>, job: Job) {
        let first = {
            let mut q = self.submitted.lock().unwrap_or_else(|p| p.into_inner());
            q.push(job);
            q.len() == 1
        };
        if first {
            let this = self.clone();
            napi::bindgen_prelude::spawn(async move {
                let mut jobs = std::mem::take(&mut *this.submitted.lock().unwrap_or_else(|p| p.into_inner()));
                // The last job runs in this task; the others get a task each, so idle workers steal
                // them and every core runs wasm.
                let last = jobs.pop();
                for job in jobs {
                    tokio::spawn(this.clone().run(job));
                }
                if let Some(job) = last {
                    this.run(job).await;
                }
            });
        }
    }

    async fn run(self: Arc<Self>, job: Job) {
        let outcome = job.actor.invoke_as(u64::from(job.id), &job.operation, job.payload, job.timeout).await;
        self.finish(job.id, outcome);
    }

    fn finish(&self, id: u32, outcome: rt::Result<Vec<u8>>) {
        self.push(|f| {
            f.ids.push(id);
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
    }

    /// Queues a guest log line of invocation `id` (any thread).
    pub(crate) fn log(&self, id: u32, level: rt::LogLevel, line: String) {
        self.push(|f| {
            f.log_ids.push(id);
            f.log_levels.push(level.as_str().to_owned());
            f.log_lines.push(line);
        });
    }

    /// Adds to the finished queue; the first entry of a batch wakes JS.
    fn push(&self, add: impl FnOnce(&mut Finished)) {
        let first = {
            let mut f = self.finished.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = f.is_empty();
            add(&mut f);
            self.finished_count.store(f.ids.len(), Ordering::Release);
            was_empty
        };
        if first && let Ok(wake) = self.wake_js.read() {
            wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Takes every finished outcome (JS thread).
    pub(crate) fn take(&self) -> NativeCompletions {
        let f = {
            let mut guard = self.finished.lock().unwrap_or_else(|p| p.into_inner());
            self.finished_count.store(0, Ordering::Release);
            std::mem::take(&mut *guard)
        };
        NativeCompletions {
            ids: Uint32Array::new(f.ids),
            lengths: Int32Array::new(f.lengths),
            data: f.data.into(),
            errors: f.errors,
            log_ids: Uint32Array::new(f.log_ids),
            log_levels: f.log_levels,
            log_lines: f.log_lines,
        }
    }

    /// Busy-waits up to `max` for an outcome to be ready (JS thread). Used when a single
    /// invocation is outstanding: catching its outcome here saves the JS thread the wake-up from
    /// its event loop, which dominates the latency of a lone call. Returns whether one is ready.
    pub(crate) fn wait_finished(&self, max: Duration) -> bool {
        let start = Instant::now();
        loop {
            if self.finished_count.load(Ordering::Acquire) > 0 {
                return true;
            }
            if start.elapsed() >= max {
                return false;
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
