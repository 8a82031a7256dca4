//! The waPC ABI (module `wapc`), exactly as third-party waPC guest SDKs expect it, plus WASI
//! preview1 from wasmtime-wasi with no filesystem, sockets, args or environment.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::host::{Host, HostCall, LogLevel};
use crate::log_rate::{Admission, LogRate};

/// Why an invocation was stopped by the host (as opposed to a plain guest trap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    MemoryLimit { limit: u64, requested: u64 },
    ResponseTooLarge { size: u64, limit: u64 },
}

/// Marker error raised inside host functions when a [`Violation`] stops the guest.
#[derive(Debug)]
pub(crate) struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invocation stopped by the host")
    }
}
impl std::error::Error for Stopped {}

/// Per-invocation store data: the request, what the guest answered, and its limits.
pub(crate) struct InvocationState {
    /// The embedder's id of this invocation, passed along with each host call.
    pub invocation: u64,
    pub operation: String,
    pub payload: Vec<u8>,
    pub response: Option<Vec<u8>>,
    pub guest_error: Option<String>,
    pub host_response: Option<Vec<u8>>,
    pub host_error: Option<String>,
    /// The first host call in this invocation that failed, with its message.
    pub failed_host_call: Option<(String, String)>,
    pub violation: Option<Violation>,
    pub max_memory: u64,
    pub max_response: u64,
    /// The guest's log budget for this call, in bytes, shared by `__console_log` and WASI output.
    max_log: usize,
    /// Bytes of guest log sent to the host so far in this call.
    log_used: usize,
    /// Lines dropped once the budget was spent, and their bytes.
    log_dropped: (u64, u64),
    /// The actor's log rate, shared with its other invocations.
    log_rate: Arc<Mutex<LogRate>>,
    pub host: Arc<dyn Host>,
    wasi: Option<WasiP1Ctx>,
    stdio: Option<(MemoryOutputPipe, MemoryOutputPipe)>,
}

impl InvocationState {
    pub(crate) fn new(
        invocation: u64,
        operation: String,
        payload: Vec<u8>,
        max_memory: u64,
        max_response: u64,
        max_log: usize,
        log_rate: Arc<Mutex<LogRate>>,
        host: Arc<dyn Host>,
    ) -> Self {
        Self {
            invocation,
            operation,
            payload,
            response: None,
            guest_error: None,
            host_response: None,
            host_error: None,
            failed_host_call: None,
            violation: None,
            max_memory,
            max_response,
            max_log,
            log_used: 0,
            log_dropped: (0, 0),
            log_rate,
            host,
            wasi: None,
            stdio: None,
        }
    }

    /// The WASI context, built on first use so guests that never touch WASI pay nothing for it.
    fn wasi(&mut self) -> &mut WasiP1Ctx {
        let (max_log, stdio) = (self.max_log, &mut self.stdio);
        self.wasi.get_or_insert_with(|| {
            let out = MemoryOutputPipe::new(max_log);
            let err = MemoryOutputPipe::new(max_log);
            *stdio = Some((out.clone(), err.clone()));
            WasiCtxBuilder::new().stdout(out).stderr(err).build_p1()
        })
    }

    /// Whether a guest log line of `len` bytes fits the call's budget and the actor's rate; counts
    /// it either way. Why a budget: a guest looping on `__console_log` must not flood the host log
    /// or stall its event loop (a 300 ms call once wrote 1.27 GB); why a rate too: neither may an
    /// actor called thousands of times a second, each call within its budget.
    fn admit_log(&mut self, len: usize) -> bool {
        if self.log_used + len > self.max_log {
            if self.log_dropped.0 == 0 {
                self.host.log(
                    self.invocation,
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
                self.host.log(
                    self.invocation,
                    LogLevel::Warn,
                    format!("{lines} guest log lines ({bytes} bytes) over the actor's log rate were dropped"),
                );
                true
            }
            Admission::Admitted { dropped_before: None } => true,
            Admission::Dropped { first } => {
                if first {
                    self.host.log(
                        self.invocation,
                        LogLevel::Warn,
                        format!("guest log rate of {rate} bytes/s for this actor is exceeded: lines are dropped until it recovers"),
                    );
                }
                false
            }
        }
    }

    /// Sends a guest log line to the host when the budget allows.
    fn log(&mut self, level: LogLevel, line: String) {
        if self.admit_log(line.len()) {
            self.host.log(self.invocation, level, line);
        }
    }

    /// Sends what the guest wrote to stdout/stderr to the host log, one line at a time, within the
    /// call's log budget, and says how much was dropped.
    pub(crate) fn flush_stdio(&mut self) {
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
            self.host.log(
                self.invocation,
                LogLevel::Warn,
                format!("{lines} guest log lines ({bytes} bytes) over the call's budget were dropped"),
            );
        }
    }
}

impl ResourceLimiter for InvocationState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_memory {
            self.violation = Some(Violation::MemoryLimit { limit: self.max_memory, requested: desired as u64 });
            return Err(wasmtime::Error::new(Stopped));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

fn memory(caller: &mut Caller<'_, InvocationState>) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => wasmtime::bail!("the guest exports no `memory`"),
    }
}

fn read(caller: &mut Caller<'_, InvocationState>, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let mem = memory(caller)?;
    let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
    let data = mem.data(&caller);
    match data.get(ptr..ptr.saturating_add(len)) {
        Some(s) => Ok(s.to_vec()),
        None => wasmtime::bail!("guest passed an out-of-bounds buffer ({len} bytes at {ptr}, memory is {} bytes)", data.len()),
    }
}

fn read_string(caller: &mut Caller<'_, InvocationState>, ptr: i32, len: i32) -> wasmtime::Result<String> {
    Ok(String::from_utf8_lossy(&read(caller, ptr, len)?).into_owned())
}

fn write(caller: &mut Caller<'_, InvocationState>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let mem = memory(caller)?;
    mem.write(caller, ptr as u32 as usize, bytes)
        .map_err(|_| wasmtime::format_err!("guest passed an out-of-bounds buffer for {} bytes at {}", bytes.len(), ptr as u32))
}

/// Defines the `wapc` host functions and WASI preview1 in `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<InvocationState>) -> wasmtime::Result<()> {
    p1::add_to_linker_async(linker, |s: &mut InvocationState| s.wasi())?;

    linker.func_wrap("wapc", "__guest_request", |mut c: Caller<'_, InvocationState>, op_ptr: i32, ptr: i32| {
        let op = std::mem::take(&mut c.data_mut().operation);
        let payload = std::mem::take(&mut c.data_mut().payload);
        let r = write(&mut c, op_ptr, op.as_bytes()).and_then(|_| write(&mut c, ptr, &payload));
        let s = c.data_mut();
        s.operation = op;
        s.payload = payload;
        r
    })?;
    linker.func_wrap("wapc", "__guest_response", |mut c: Caller<'_, InvocationState>, ptr: i32, len: i32| {
        let (size, limit) = (len as u32 as u64, c.data().max_response);
        if size > limit {
            c.data_mut().violation = Some(Violation::ResponseTooLarge { size, limit });
            return Err(wasmtime::Error::new(Stopped));
        }
        let bytes = read(&mut c, ptr, len)?;
        c.data_mut().response = Some(bytes);
        Ok(())
    })?;
    linker.func_wrap("wapc", "__guest_error", |mut c: Caller<'_, InvocationState>, ptr: i32, len: i32| {
        let msg = read_string(&mut c, ptr, len.min(64 << 10))?;
        c.data_mut().guest_error = Some(msg);
        Ok(())
    })?;
    linker.func_wrap("wapc", "__console_log", |mut c: Caller<'_, InvocationState>, ptr: i32, len: i32| {
        let len = len.min(64 << 10);
        // Over budget: count it without copying it out of the guest.
        if !c.data_mut().admit_log(len.max(0) as usize) {
            return Ok(());
        }
        let line = read_string(&mut c, ptr, len)?;
        c.data().host.log(c.data().invocation, LogLevel::Info, line);
        Ok(())
    })?;
    linker.func_wrap("wapc", "__host_response_len", |c: Caller<'_, InvocationState>| {
        c.data().host_response.as_ref().map_or(0, |r| r.len() as i32)
    })?;
    linker.func_wrap("wapc", "__host_response", |mut c: Caller<'_, InvocationState>, ptr: i32| {
        if let Some(r) = c.data_mut().host_response.take() {
            write(&mut c, ptr, &r)?;
            c.data_mut().host_response = Some(r);
        }
        Ok(())
    })?;
    linker.func_wrap("wapc", "__host_error_len", |c: Caller<'_, InvocationState>| {
        c.data().host_error.as_ref().map_or(0, |e| e.len() as i32)
    })?;
    linker.func_wrap("wapc", "__host_error", |mut c: Caller<'_, InvocationState>, ptr: i32| {
        if let Some(e) = c.data_mut().host_error.take() {
            write(&mut c, ptr, e.as_bytes())?;
            c.data_mut().host_error = Some(e);
        }
        Ok(())
    })?;
    linker.func_wrap_async(
        "wapc",
        "__host_call",
        |mut c: Caller<'_, InvocationState>, (bp, bl, np, nl, op, ol, pp, pl): (i32, i32, i32, i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let call = HostCall {
                    invocation: c.data().invocation,
                    binding: read_string(&mut c, bp, bl)?,
                    namespace: read_string(&mut c, np, nl)?,
                    operation: read_string(&mut c, op, ol)?,
                    payload: read(&mut c, pp, pl)?,
                };
                let target = call.target();
                let fut = c.data().host.host_call(call);
                let result = fut.await;
                let s = c.data_mut();
                s.host_response = None;
                s.host_error = None;
                Ok(match result {
                    Ok(bytes) => {
                        s.host_response = Some(bytes);
                        1
                    }
                    Err(msg) => {
                        s.failed_host_call.get_or_insert_with(|| (target, msg.clone()));
                        s.host_error = Some(msg);
                        0
                    }
                })
            })
        },
    )?;
    Ok(())
}
