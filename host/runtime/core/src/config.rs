//! Runtime-wide and per-actor settings. Defaults live in the TypeScript host (which documents and
//! validates user input); this module re-checks ranges because the crate is usable on its own.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// WebAssembly page size (64 KiB).
pub const WASM_PAGE: u64 = 64 * 1024;

/// Sizing of the engine and its pooling allocator. One pool slot = one live instance.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Live instances at once across all actors (pool slots). Invocations past it wait for a slot.
    pub max_instances: u32,
    /// The largest linear memory any actor may have, in bytes; actor caps must be at or below it.
    /// It is also the per-slot address-space reservation (instead of wasmtime's 4 GiB + guard).
    pub max_memory_bytes: u64,
    /// Largest wasm stack (bytes) before a `stack_overflow` trap.
    pub max_wasm_stack_bytes: usize,
    /// Granularity of deadlines: how often the epoch ticker fires.
    pub epoch_tick: Duration,
    /// Where precompiled artifacts are kept across processes; `None` keeps them in memory only.
    /// The directory must be writable by this user only: artifacts there are loaded as native code.
    pub cache_dir: Option<PathBuf>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            max_instances: 256,
            max_memory_bytes: 64 << 20,
            max_wasm_stack_bytes: 512 << 10,
            epoch_tick: Duration::from_millis(1),
            cache_dir: None,
        }
    }
}

impl RuntimeConfig {
    /// Checks ranges; called by `Runtime::new`.
    pub fn validate(&self) -> Result<()> {
        if self.max_instances == 0 || self.max_instances > 100_000 {
            return Err(Error::config(format!("maxInstances must be in 1..=100000, got {}", self.max_instances)));
        }
        if self.max_memory_bytes < WASM_PAGE || self.max_memory_bytes > 4 << 30 {
            return Err(Error::config(format!(
                "maxMemoryBytes must be in 64 KiB..=4 GiB, got {}",
                self.max_memory_bytes
            )));
        }
        if self.max_wasm_stack_bytes < 64 << 10 || self.max_wasm_stack_bytes > 64 << 20 {
            return Err(Error::config(format!(
                "maxWasmStackBytes must be in 64 KiB..=64 MiB, got {}",
                self.max_wasm_stack_bytes
            )));
        }
        if self.epoch_tick.is_zero() || self.epoch_tick > Duration::from_secs(1) {
            return Err(Error::config("epochTick must be in 1 µs..=1 s"));
        }
        Ok(())
    }
}

/// Limits for one loaded actor.
#[derive(Debug, Clone)]
pub struct ActorLimits {
    /// Linear memory cap in bytes (at most the runtime's `max_memory_bytes`).
    pub max_memory_bytes: u64,
    /// Default deadline of one invocation, when the caller gives none.
    pub timeout: Duration,
    /// Fuel per invocation; `None` disables metering (the fast default).
    pub fuel: Option<u64>,
    /// Invocations of this actor running at once; more wait (within their deadline).
    pub max_concurrent: u32,
    /// Largest response the guest may return, in bytes.
    pub max_response_bytes: u64,
    /// Bytes of guest log (`__console_log` and WASI stdout/stderr together) forwarded to the host
    /// log per invocation; past it lines are dropped, counted, and reported in one line.
    pub max_log_bytes: usize,
    /// Bytes of guest log per second forwarded for this actor across all its invocations (bursts of
    /// up to one second, and at least one call's budget); past it lines are dropped and counted.
    pub log_rate_bytes_per_sec: usize,
}

impl Default for ActorLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 64 << 20,
            timeout: Duration::from_secs(10),
            fuel: None,
            max_concurrent: 64,
            max_response_bytes: 16 << 20,
            max_log_bytes: 64 << 10,
            log_rate_bytes_per_sec: 256 << 10,
        }
    }
}

impl ActorLimits {
    /// Checks the limits against the runtime's sizing.
    pub fn validate(&self, rt: &RuntimeConfig) -> Result<()> {
        if self.max_memory_bytes < WASM_PAGE || self.max_memory_bytes > rt.max_memory_bytes {
            return Err(Error::config(format!(
                "maxMemoryBytes must be in 64 KiB..={} (the runtime's pool slot size), got {}",
                rt.max_memory_bytes, self.max_memory_bytes
            )));
        }
        if self.timeout.is_zero() {
            return Err(Error::config("timeout must be positive"));
        }
        if self.fuel == Some(0) {
            return Err(Error::config("fuel must be positive when set"));
        }
        if self.max_concurrent == 0 {
            return Err(Error::config("maxConcurrent must be at least 1"));
        }
        if self.max_response_bytes == 0 {
            return Err(Error::config("maxResponseBytes must be positive"));
        }
        Ok(())
    }
}
