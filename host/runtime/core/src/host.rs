//! What an actor can reach outside its sandbox: host calls and logging, provided by the embedder.

use std::future::Future;
use std::pin::Pin;

/// A guest's `__host_call`: waPC's binding / namespace / operation and an opaque payload.
#[derive(Debug, Clone)]
pub struct HostCall {
    /// The id the embedder gave the invocation making this call (`Actor::invoke_as`), 0 otherwise.
    pub invocation: u64,
    pub binding: String,
    pub namespace: String,
    pub operation: String,
    pub payload: Vec<u8>,
}

impl HostCall {
    /// `binding/namespace.operation`, for error messages.
    pub fn target(&self) -> String {
        format!("{}/{}.{}", self.binding, self.namespace, self.operation)
    }
}

/// Severity of a guest log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `wasi:logging` trace.
    Trace,
    /// `wasi:logging` debug.
    Debug,
    /// `__console_log`, WASI stdout and `wasi:logging` info.
    Info,
    /// WASI stderr, `wasi:logging` warn and the runtime's own notes on a guest.
    Warn,
    /// `wasi:logging` error.
    Error,
    /// `wasi:logging` critical.
    Critical,
}

impl LogLevel {
    /// The name pino-style loggers use for the level (`critical` is pino's `fatal`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Critical => "fatal",
        }
    }
}

/// Future returned by [`Host::host_call`]: the response bytes, or the error text the guest sees.
pub type HostCallFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>>;

/// The embedder's side of an actor: answers host calls and receives guest logs.
pub trait Host: Send + Sync + 'static {
    /// Runs a host call; the guest is suspended (its fiber parked) until the future resolves.
    fn host_call(&self, call: HostCall) -> HostCallFuture;
    /// Receives one guest log line, written during the invocation the embedder tagged
    /// `invocation` (see [`HostCall::invocation`]).
    fn log(&self, invocation: u64, level: LogLevel, line: String);
}

/// A host that refuses every host call and drops logs; for actors that need neither.
pub struct NoHost;

impl Host for NoHost {
    fn host_call(&self, call: HostCall) -> HostCallFuture {
        let target = call.target();
        Box::pin(async move { Err(format!("no host call handler is configured (call to {target})")) })
    }
    fn log(&self, _invocation: u64, _level: LogLevel, _line: String) {}
}
