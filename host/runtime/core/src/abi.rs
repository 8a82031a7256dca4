//! The waPC ABI (module `wapc`), exactly as third-party waPC guest SDKs expect it, plus WASI
//! preview1 from wasmtime-wasi with no filesystem, sockets, args or environment.

use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::{self, WasiP1Ctx};

use crate::guest_io::GuestIo;
use crate::host::{HostCall, LogLevel};

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
    /// The embedder, and the guest's log on its way there.
    pub io: GuestIo,
    wasi: Option<WasiP1Ctx>,
}

impl InvocationState {
    pub(crate) fn new(operation: String, payload: Vec<u8>, max_memory: u64, max_response: u64, io: GuestIo) -> Self {
        Self {
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
            io,
            wasi: None,
        }
    }

    /// The WASI context, built on first use so guests that never touch WASI pay nothing for it.
    fn wasi(&mut self) -> &mut WasiP1Ctx {
        let io = &mut self.io;
        self.wasi.get_or_insert_with(|| {
            let (out, err) = io.stdio();
            WasiCtxBuilder::new().stdout(out).stderr(err).build_p1()
        })
    }
}

impl ResourceLimiter for InvocationState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        cap_memory(self.max_memory, desired, &mut self.violation)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// Lets a memory grow to `desired` bytes if that is within `max`; otherwise records the violation
/// and stops the guest (a trap the caller sees as `MEMORY_LIMIT`, not a failed `memory.grow` the
/// guest might survive in a confusing state).
pub(crate) fn cap_memory(max: u64, desired: usize, violation: &mut Option<Violation>) -> wasmtime::Result<bool> {
    if desired as u64 > max {
        *violation = Some(Violation::MemoryLimit { limit: max, requested: desired as u64 });
        return Err(wasmtime::Error::new(Stopped));
    }
    Ok(true)
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
        if !c.data_mut().io.admit(len.max(0) as usize) {
            return Ok(());
        }
        let line = read_string(&mut c, ptr, len)?;
        c.data().io.send(LogLevel::Info, line);
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
                    invocation: c.data().io.invocation,
                    binding: read_string(&mut c, bp, bl)?,
                    namespace: read_string(&mut c, np, nl)?,
                    operation: read_string(&mut c, op, ol)?,
                    payload: read(&mut c, pp, pl)?,
                };
                let target = call.target();
                let fut = c.data().io.host.host_call(call);
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
