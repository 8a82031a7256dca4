//! wasmesh's actor runtime: wasmtime with a pooling allocator, the waPC ABI with async host calls,
//! WASI 0.2 components served through the contracts (component.rs), per-actor limits (memory,
//! deadline, fuel, concurrency) and a compiled-code cache on disk.
//!
//! Every invocation gets a fresh instance from a pre-linked [`wasmtime::InstancePre`]; wasm runs
//! inside tokio tasks (never on the caller's thread when called from Node), and host calls suspend
//! the guest while the embedder's future runs.

mod abi;
mod actor;
mod cache;
mod component;
mod config;
mod contracts;
mod engine;
mod error;
mod guest_io;
mod host;
mod log_rate;
mod module_check;
mod runtime;

pub use actor::Actor;
pub use cache::CacheSource;
pub use config::{ActorLimits, RuntimeConfig, WASM_PAGE};
pub use error::{Error, Result};
pub use host::{Host, HostCall, HostCallFuture, LogLevel, NoHost};
pub use module_check::ItemInfo;
pub use runtime::{ModuleInfo, Runtime, RuntimeStats};
