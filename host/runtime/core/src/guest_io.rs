//! What a guest sends out of its sandbox during one invocation, whatever kind of actor it is (a
//! waPC module or a component): its host calls, tagged with the embedder's id of the invocation,
//! and its log lines (`__console_log`, `wasi:logging`, WASI stdout and stderr), held to the call's
//! budget and the actor's rate before they reach the embedder.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::host::{Host, LogLevel};
use crate::log_rate::{Admission, LogRate};

/// The embedder as one invocation sees it.
pub(crate) struct GuestIo {
    /// The embedder's id of this invocation, passed along with each host call and log line.
    pub invocation: u64,
    pub host: Arc<dyn Host>,
    /// The guest's log budget for this call, in bytes, shared by every way it logs.
    max_log: usize,
    /// Bytes of guest log sent to the host so far in this call.
    log_used: usize,
    /// Lines dropped once the budget was spent, and their bytes.
    log_dropped: (u64, u64),
    /// The actor's log rate, shared with its other invocations.
    log_rate: Arc<Mutex<LogRate>>,
    /// WASI stdout and stderr, once the guest's WASI context was made.
    stdio: Option<(MemoryOutputPipe, MemoryOutputPipe)>,
}

impl GuestIo {
    pub(crate) fn new(invocation: u64, host: Arc<dyn Host>, max_log: usize, log_rate: Arc<Mutex<LogRate>>) -> Self {
        Self { invocation, host, max_log, log_used: 0, log_dropped: (0, 0), log_rate, stdio: None }
    }

    /// Pipes for the guest's WASI stdout and stderr, each holding at most the call's log budget;
    /// [`GuestIo::flush`] sends what they hold to the host log.
    pub(crate) fn stdio(&mut self) -> (MemoryOutputPipe, MemoryOutputPipe) {
        let max_log = self.max_log;
        self.stdio.get_or_insert_with(|| (MemoryOutputPipe::new(max_log), MemoryOutputPipe::new(max_log))).clone()
    }

    /// Whether a guest log line of `len` bytes fits the call's budget and the actor's rate; counts
    /// it either way. Why a budget: a guest looping on `__console_log` must not flood the host log
    /// or stall its event loop (a 300 ms call once wrote 1.27 GB); why a rate too: neither may an
    /// actor called thousands of times a second, each call within its budget.
    pub(crate) fn admit(&mut self, len: usize) -> bool {
        if self.log_used + len > self.max_log {
            if self.log_dropped.0 == 0 {
                self.send(
                    LogLevel::Warn,
                    format!("guest log budget of {} bytes for this call is spent: further lines are dropped", self.max_log),
                );
            }
            self.log_dropped.0 += 1;
            self.log_dropped.1 += len as u64;
            return false;
        }
        self.log_used += len;
        let (admission, rate) = {
            // A poisoned lock only means another call panicked mid-update: the bucket is still usable.
            let mut bucket = self.log_rate.lock().unwrap_or_else(|e| e.into_inner());
            (bucket.admit(len, Instant::now()), bucket.bytes_per_sec())
        };
        match admission {
            Admission::Admitted { dropped_before: Some((lines, bytes)) } => {
                self.send(LogLevel::Warn, format!("{lines} guest log lines ({bytes} bytes) over the actor's log rate were dropped"));
                true
            }
            Admission::Admitted { dropped_before: None } => true,
            Admission::Dropped { first } => {
                if first {
                    self.send(
                        LogLevel::Warn,
                        format!("guest log rate of {rate} bytes/s for this actor is exceeded: lines are dropped until it recovers"),
                    );
                }
                false
            }
        }
    }

    /// Sends a line to the host log as it is (admitted already, or the host's own words).
    pub(crate) fn send(&self, level: LogLevel, line: String) {
        self.host.log(self.invocation, level, line);
    }

    /// Sends a guest log line to the host when the budget allows.
    pub(crate) fn log(&mut self, level: LogLevel, line: String) {
        if self.admit(line.len()) {
            self.send(level, line);
        }
    }

    /// Sends what the guest wrote to stdout/stderr to the host log, one line at a time, within the
    /// call's log budget, and says how much was dropped.
    pub(crate) fn flush(&mut self) {
        if let Some((out, err)) = self.stdio.take() {
            for (pipe, level) in [(out, LogLevel::Info), (err, LogLevel::Warn)] {
                let bytes = pipe.contents();
                for line in String::from_utf8_lossy(&bytes).lines().filter(|l| !l.is_empty()) {
                    self.log(level, line.to_owned());
                }
            }
        }
        let (lines, bytes) = self.log_dropped;
        if lines > 0 {
            self.send(LogLevel::Warn, format!("{lines} guest log lines ({bytes} bytes) over the call's budget were dropped"));
        }
    }
}
