//! The runtime's error type. Every failure a caller can see is one variant with a stable code;
//! the napi layer turns each into a typed JS error in one place (`host/src/runtime/errors.ts`).

use std::time::Duration;

/// A failure to load or invoke an actor. `code()` is stable and documented in the README.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not a valid WebAssembly core module or component (or use something the
    /// runtime refuses, such as an import it does not provide).
    #[error("invalid module: {message}")]
    InvalidModule { message: String },
    /// The module lacks an export the waPC ABI requires (`__guest_call`, `memory`), or the
    /// component one wasmesh serves it through (`wasi:http/incoming-handler`).
    #[error("missing export `{name}`: {message}")]
    MissingExport { name: String, message: String },
    /// The guest trapped. `trap_code` names the kind (e.g. `stack_overflow`, `unreachable`).
    #[error("guest trapped ({trap_code}): {message}")]
    Trap { trap_code: String, message: String, backtrace: Option<String> },
    /// The invocation ran past its deadline (queued or executing).
    #[error("invocation exceeded its deadline of {} ms{}", .timeout.as_millis(), if *.queued { " while waiting for a free slot" } else { "" })]
    Timeout { timeout: Duration, queued: bool },
    /// The guest tried to grow linear memory past its cap.
    #[error("guest exceeded its memory limit of {limit_bytes} bytes (asked for {requested_bytes})")]
    MemoryLimit { limit_bytes: u64, requested_bytes: u64 },
    /// The guest consumed all the fuel it was given.
    #[error("guest ran out of fuel (budget {fuel})")]
    FuelExhausted { fuel: u64 },
    /// The guest failed after a host call it made was refused; both messages are kept.
    #[error("host call {target} failed: {host_message}; the guest then failed with: {guest_message}")]
    HostCallFailed { target: String, host_message: String, guest_message: String },
    /// The guest returned an error through `__guest_error`.
    #[error("guest error: {message}")]
    GuestError { message: String },
    /// The guest has no handler for the requested operation.
    #[error("unknown operation `{operation}`: {message}")]
    UnknownOperation { operation: String, message: String },
    /// The guest's response is larger than the actor's limit.
    #[error("guest response of {size} bytes exceeds the limit of {limit} bytes")]
    ResponseTooLarge { size: u64, limit: u64 },
    /// The guest broke the waPC protocol: `__guest_call` returned something other than 0 or 1.
    /// (Returning 1 without `__guest_response` is an empty response, as for a handler returning nothing.)
    #[error("guest protocol violation: {message}")]
    Protocol { message: String },
    /// The embedder's request to the actor was malformed (an `HttpServer.HandleRequest` payload
    /// that is not an `HttpRequest`, say).
    #[error("bad request: {message}")]
    BadRequest { message: String },
    /// Options were out of range.
    #[error("invalid configuration: {message}")]
    Config { message: String },
    /// The runtime was closed.
    #[error("the runtime is closed")]
    Closed,
    /// A failure inside the runtime itself (I/O on the cache, the engine refusing a setting).
    #[error("internal runtime error: {message}")]
    Internal { message: String },
}

impl Error {
    /// The stable error code, e.g. `WASMESH_ERR_TRAP`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidModule { .. } => "WASMESH_ERR_INVALID_MODULE",
            Error::MissingExport { .. } => "WASMESH_ERR_MISSING_EXPORT",
            Error::Trap { .. } => "WASMESH_ERR_TRAP",
            Error::Timeout { .. } => "WASMESH_ERR_TIMEOUT",
            Error::MemoryLimit { .. } => "WASMESH_ERR_MEMORY_LIMIT",
            Error::FuelExhausted { .. } => "WASMESH_ERR_FUEL_EXHAUSTED",
            Error::HostCallFailed { .. } => "WASMESH_ERR_HOST_CALL_FAILED",
            Error::GuestError { .. } => "WASMESH_ERR_GUEST_ERROR",
            Error::UnknownOperation { .. } => "WASMESH_ERR_UNKNOWN_OPERATION",
            Error::ResponseTooLarge { .. } => "WASMESH_ERR_RESPONSE_TOO_LARGE",
            Error::Protocol { .. } => "WASMESH_ERR_GUEST_PROTOCOL",
            Error::BadRequest { .. } => "WASMESH_ERR_BAD_REQUEST",
            Error::Config { .. } => "WASMESH_ERR_CONFIG",
            Error::Closed => "WASMESH_ERR_CLOSED",
            Error::Internal { .. } => "WASMESH_ERR_INTERNAL",
        }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal { message: e.to_string() }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config { message: message.into() }
    }
}

/// Result alias for runtime operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
