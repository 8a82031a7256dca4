//! The process-wide runtime: engines, linkers, the module cache, pool slots and the epoch ticker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::{Engine, Linker, Module};

use crate::abi::{self, InvocationState};
use crate::actor::Actor;
use crate::cache::ModuleCache;
use crate::config::{ActorLimits, RuntimeConfig};
use crate::engine::{self, EpochTicker};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::module_check::{self, ItemInfo};

/// One engine with its linker and cache key.
struct EngineSet {
    engine: Arc<Engine>,
    key: String,
    linker: Linker<InvocationState>,
}

impl EngineSet {
    fn new(cfg: &RuntimeConfig, metered: bool, tick_list: &Mutex<Vec<Weak<Engine>>>) -> Result<Self> {
        let engine = Arc::new(engine::build_engine(cfg, metered)?);
        let mut linker = Linker::new(&engine);
        abi::add_to_linker(&mut linker).map_err(Error::internal)?;
        tick_list.lock().map_err(Error::internal)?.push(Arc::downgrade(&engine));
        Ok(Self { key: engine::compatibility_key(&engine), engine, linker })
    }
}

/// State shared by the runtime and its actors.
pub(crate) struct Shared {
    /// One permit per pool slot: an invocation holds one while its instance lives.
    pub(crate) slots: Semaphore,
}

/// What `inspect` reports about a module.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    /// SHA-256 of the bytes, hex.
    pub hash: String,
    pub size: usize,
    pub imports: Vec<ItemInfo>,
    pub exports: Vec<ItemInfo>,
    /// Whether the module can run as a waPC actor here.
    pub valid_actor: bool,
    /// Why it cannot, when `valid_actor` is false.
    pub problem: Option<Error>,
}

/// Point-in-time counters, used by tests to prove nothing leaks.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeStats {
    /// Pool slots held by live invocations.
    pub instances_in_use: usize,
    /// Pool slots in all.
    pub max_instances: usize,
    /// Compiled modules held in memory.
    pub modules_cached: usize,
}

/// The runtime. Cheap to clone; all clones share one engine and cache.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: RuntimeConfig,
    standard: EngineSet,
    metered: OnceLock<EngineSet>,
    tick_list: Arc<Mutex<Vec<Weak<Engine>>>>,
    cache: ModuleCache,
    shared: Arc<Shared>,
    closed: AtomicBool,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine and its pool; starts the epoch ticker.
    pub fn new(cfg: RuntimeConfig) -> Result<Self> {
        cfg.validate()?;
        let tick_list = Arc::new(Mutex::new(Vec::new()));
        let standard = EngineSet::new(&cfg, false, &tick_list)?;
        let ticker = EpochTicker::start(cfg.epoch_tick, tick_list.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                cache: ModuleCache::new(cfg.cache_dir.clone()),
                shared: Arc::new(Shared { slots: Semaphore::new(cfg.max_instances as usize) }),
                standard,
                metered: OnceLock::new(),
                tick_list,
                closed: AtomicBool::new(false),
                _ticker: ticker,
                cfg,
            }),
        })
    }

    /// The settings this runtime was built with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.cfg
    }

    fn engine_set(&self, metered: bool) -> Result<&EngineSet> {
        if !metered {
            return Ok(&self.inner.standard);
        }
        if let Some(s) = self.inner.metered.get() {
            return Ok(s);
        }
        let set = EngineSet::new(&self.inner.cfg, true, &self.inner.tick_list)?;
        Ok(self.inner.metered.get_or_init(|| set))
    }

    /// The module for `wasm` from the caches, or compiled when `compile` (else `None`).
    fn compile(
        &self,
        set: &EngineSet,
        wasm: &[u8],
        compile: bool,
    ) -> Result<Option<(Module, String, crate::CacheSource)>> {
        module_check::check_header(wasm)?;
        let hash = hex::encode(Sha256::digest(wasm));
        let found = self.inner.cache.get_or_compile(&set.engine, &set.key, &hash, wasm, compile)?;
        Ok(found.map(|(module, source)| (module, hash, source)))
    }

    /// Validates, compiles (or fetches from the cache) and links an actor. Blocking: compiling
    /// can take a while, so async callers run it on a blocking thread.
    pub fn load(&self, wasm: &[u8], limits: ActorLimits, host: Arc<dyn Host>) -> Result<Actor> {
        self.load_with(wasm, limits, host, true)?.ok_or_else(|| Error::internal("compiling was allowed but gave no module"))
    }

    /// [`Runtime::load`] when the compiled code is in the memory or disk cache, `None` when it
    /// would have to be compiled. Quick (no compiling, no wasm runs: hash, map the artifact,
    /// link), so an async caller can run it in place instead of moving to a blocking thread.
    pub fn load_cached(&self, wasm: &[u8], limits: ActorLimits, host: Arc<dyn Host>) -> Result<Option<Actor>> {
        if limits.fuel.is_some() && self.inner.metered.get().is_none() {
            // Making the metered engine is slow; `load` does it on its thread.
            return Ok(None);
        }
        self.load_with(wasm, limits, host, false)
    }

    fn load_with(&self, wasm: &[u8], limits: ActorLimits, host: Arc<dyn Host>, compile: bool) -> Result<Option<Actor>> {
        self.ensure_open()?;
        limits.validate(&self.inner.cfg)?;
        let set = self.engine_set(limits.fuel.is_some())?;
        let Some((module, hash, source)) = self.compile(set, wasm, compile)? else { return Ok(None) };
        module_check::check_exports(&module)?;
        let pre = set.linker.instantiate_pre(&module).map_err(|e| Error::InvalidModule {
            message: format!("{e:#}; wasmesh provides the waPC imports (module `wapc`) and WASI preview1 (`wasi_snapshot_preview1`)"),
        })?;
        Actor::new(self.inner.shared.clone(), (*set.engine).clone(), pre, limits, host, hash, source).map(Some)
    }

    /// Describes a module and says whether it is a valid actor, without keeping it loaded.
    pub fn inspect(&self, wasm: &[u8]) -> Result<ModuleInfo> {
        let set = &self.inner.standard;
        let (module, hash, _) =
            self.compile(set, wasm, true)?.ok_or_else(|| Error::internal("compiling was allowed but gave no module"))?;
        let (imports, exports) = module_check::items(&module);
        let problem = module_check::check_exports(&module).err().or_else(|| {
            set.linker.instantiate_pre(&module).err().map(|e| Error::InvalidModule { message: format!("{e:#}") })
        });
        Ok(ModuleInfo { hash, size: wasm.len(), imports, exports, valid_actor: problem.is_none(), problem })
    }

    /// Counters for leak checks and metrics.
    pub fn stats(&self) -> RuntimeStats {
        let max = self.inner.cfg.max_instances as usize;
        RuntimeStats {
            instances_in_use: max - self.inner.shared.slots.available_permits(),
            max_instances: max,
            modules_cached: self.inner.cache.len(),
        }
    }

    /// Refuses new loads and invocations waiting for a slot. Idempotent.
    pub fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::SeqCst) {
            self.inner.shared.slots.close();
        }
    }

    fn ensure_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::SeqCst) { Err(Error::Closed) } else { Ok(()) }
    }
}
