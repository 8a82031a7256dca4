//! Engine construction: one pooled engine per process (plus a fuel-metered twin, made on first
//! use, because fuel instrumentation slows all code compiled by an engine), and the epoch ticker
//! thread that drives deadlines.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, WasmBacktraceDetails};

use crate::config::RuntimeConfig;
use crate::error::{Error, Result};

/// What an engine compiles. Components get an engine of their own, made when the first one is
/// loaded: their instances hold several core instances, memories and tables each, and a
/// componentize-js component's function table alone is tens of thousands of entries, so their
/// pool is shaped differently from the waPC modules' (one of each per instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Core,
    Component,
}

/// Core instances, memories and tables one component instance may hold (a componentize-js
/// component has a handful of each: the engine, the WASI adapter, the shims between them).
const CORE_INSTANCES_PER_COMPONENT: u32 = 32;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 8;
/// A component's largest function table: SpiderMonkey's is about 20,000 entries.
const COMPONENT_TABLE_ELEMENTS: usize = 100_000;

/// Builds an engine for `flavor` with a pooling allocator sized by `cfg`. `metered` turns on fuel.
pub(crate) fn build_engine(cfg: &RuntimeConfig, metered: bool, flavor: Flavor) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    let n = cfg.max_instances;
    match flavor {
        Flavor::Core => {
            pool.total_core_instances(n)
                .total_memories(n)
                .total_tables(n)
                .total_component_instances(0)
                .max_memories_per_module(1)
                .max_tables_per_module(1)
                .table_elements(20_000)
                .max_core_instance_size(1 << 20);
        }
        Flavor::Component => {
            pool.total_component_instances(n)
                .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
                .total_memories(n.saturating_mul(MEMORIES_PER_COMPONENT))
                .total_tables(n.saturating_mul(TABLES_PER_COMPONENT))
                .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
                .max_memories_per_component(MEMORIES_PER_COMPONENT)
                .max_tables_per_component(TABLES_PER_COMPONENT)
                .max_memories_per_module(1)
                .max_tables_per_module(TABLES_PER_COMPONENT)
                .table_elements(COMPONENT_TABLE_ELEMENTS)
                .max_core_instance_size(4 << 20)
                .max_component_instance_size(1 << 20);
        }
    }
    pool.total_stacks(n)
        .max_memory_size(cfg.max_memory_bytes as usize)
        // Keep the first pages of a reused slot resident: memset beats madvise + page faults for
        // the small heaps actors have.
        .linear_memory_keep_resident(256 << 10)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10);

    let mut c = Config::new();
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .epoch_interruption(true)
        .consume_fuel(metered)
        .max_wasm_stack(cfg.max_wasm_stack_bytes)
        .async_stack_size(cfg.max_wasm_stack_bytes + (1 << 20))
        // A slot reserves exactly the largest allowed memory (not 4 GiB + guard per slot).
        .memory_reservation(cfg.max_memory_bytes)
        .memory_guard_size(64 << 10)
        .memory_reservation_for_growth(0)
        .wasm_backtrace_details(WasmBacktraceDetails::Enable)
        .wasm_backtrace_max_frames(NonZeroUsize::new(32));
    Engine::new(&c).map_err(|e| Error::config(format!("engine refused the settings: {e:#}")))
}

/// A stable hex key for the engine's precompiled-code compatibility (version, settings, CPU).
pub(crate) fn compatibility_key(engine: &Engine) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Background thread that advances the epoch of live engines every tick; stops on drop.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(tick: Duration, engines: Arc<std::sync::Mutex<Vec<Weak<Engine>>>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wasmesh-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    let list = engines.lock().unwrap_or_else(|p| p.into_inner());
                    for e in list.iter().filter_map(Weak::upgrade) {
                        e.increment_epoch();
                    }
                }
            })
            .ok();
        Self { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
