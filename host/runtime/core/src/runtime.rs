//! The process-wide runtime: engines, linkers, the module cache, pool slots and the epoch ticker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::{Engine, Linker};

use crate::abi::{self, InvocationState};
use crate::actor::{Actor, Code};
use crate::cache::{CacheSource, Compiled, ModuleCache};
use crate::component::{self, ComponentState};
use crate::config::{ActorLimits, RuntimeConfig};
use crate::engine::{self, EpochTicker, Flavor};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::module_check::{self, ItemInfo};

/// One engine with its linker (`L`: of waPC modules or of components) and cache key.
struct EngineSet<L> {
    engine: Arc<Engine>,
    key: String,
    linker: L,
}

type ModuleEngine = EngineSet<Linker<InvocationState>>;
type ComponentEngine = EngineSet<wasmtime::component::Linker<ComponentState>>;

impl<L> EngineSet<L> {
    /// An engine for `flavor`, ticked by the epoch thread, with the linker `link` makes for it.
    fn new(
        cfg: &RuntimeConfig,
        metered: bool,
        flavor: Flavor,
        tick_list: &Mutex<Vec<Weak<Engine>>>,
        link: impl FnOnce(&Engine) -> wasmtime::Result<L>,
    ) -> Result<Self> {
        let engine = Arc::new(engine::build_engine(cfg, metered, flavor)?);
        let linker = link(&engine).map_err(Error::internal)?;
        tick_list.lock().map_err(Error::internal)?.push(Arc::downgrade(&engine));
        Ok(Self { key: engine::compatibility_key(&engine), engine, linker })
    }

    /// The compiled code for `wasm` from the caches, or compiled when `compile` (else `None`),
    /// with the binary's content key: its BLAKE3 digest (hex). BLAKE3, not SHA-256: the key is
    /// computed on every load, and for a 12 MB component SHA-256 alone took 9 ms of a cold load
    /// (BLAKE3 is several times faster and as collision-resistant, which the key needs: the cache
    /// hands out native code by it).
    fn compile(
        &self,
        cache: &ModuleCache,
        wasm: &[u8],
        flavor: Flavor,
        compile: bool,
    ) -> Result<Option<(Compiled, String, CacheSource)>> {
        let hash = content_key(wasm);
        let found = cache.get_or_compile(&self.engine, &self.key, &hash, wasm, flavor, compile)?;
        Ok(found.map(|(code, source)| (code, hash, source)))
    }
}

/// Inputs from this size up are hashed on all cores: a 12.8 MB componentize-js component took
/// 4.2 ms on one core, most of its cold-start budget. Below it, one core is faster than the hand-off.
const PARALLEL_HASH_BYTES: usize = 1 << 20;

/// The BLAKE3 digest (hex) of `wasm`: the same standard digest whichever way it is computed.
fn content_key(wasm: &[u8]) -> String {
    if wasm.len() < PARALLEL_HASH_BYTES {
        return blake3::hash(wasm).to_hex().to_string();
    }
    blake3::Hasher::new().update_rayon(wasm).finalize().to_hex().to_string()
}

fn module_engine(cfg: &RuntimeConfig, metered: bool, tick_list: &Mutex<Vec<Weak<Engine>>>) -> Result<ModuleEngine> {
    EngineSet::new(cfg, metered, Flavor::Core, tick_list, |engine| {
        let mut linker = Linker::new(engine);
        abi::add_to_linker(&mut linker)?;
        Ok(linker)
    })
}

fn component_engine(cfg: &RuntimeConfig, metered: bool, tick_list: &Mutex<Vec<Weak<Engine>>>) -> Result<ComponentEngine> {
    EngineSet::new(cfg, metered, Flavor::Component, tick_list, component::linker)
}

/// State shared by the runtime and its actors.
pub(crate) struct Shared {
    /// One permit per pool slot: an invocation holds one while its instance lives.
    pub(crate) slots: Semaphore,
}

/// What `inspect` reports about a module or component.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    /// SHA-256 of the bytes, hex.
    pub hash: String,
    pub size: usize,
    /// A component of the Component Model (its imports and exports are interfaces), else a core module.
    pub component: bool,
    pub imports: Vec<ItemInfo>,
    pub exports: Vec<ItemInfo>,
    /// Whether it can run as an actor here (a waPC module, or a component wasmesh can link and serve).
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
    standard: ModuleEngine,
    metered: OnceLock<ModuleEngine>,
    /// Made when the first component is loaded (and its metered twin when one needs fuel).
    components: OnceLock<ComponentEngine>,
    metered_components: OnceLock<ComponentEngine>,
    /// Held while an engine is made, so that two callers never make the same one.
    building: Arc<Mutex<()>>,
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
        let standard = module_engine(&cfg, false, &tick_list)?;
        let ticker = EpochTicker::start(cfg.epoch_tick, tick_list.clone());
        let ticks = tick_list.clone();
        let runtime = Self {
            inner: Arc::new(Inner {
                cache: ModuleCache::new(cfg.cache_dir.clone()),
                shared: Arc::new(Shared { slots: Semaphore::new(cfg.max_instances as usize) }),
                standard,
                metered: OnceLock::new(),
                components: OnceLock::new(),
                metered_components: OnceLock::new(),
                building: Arc::new(Mutex::new(())),
                tick_list,
                closed: AtomicBool::new(false),
                _ticker: ticker,
                cfg,
            }),
        };
        // The components' engine is made off the caller's thread now, not on the first component
        // load (about 2 ms: its pool's reservations), so a host's first cold start does not wait
        // for all of it; a load arriving meanwhile waits for this build (see `made`). The thread
        // holds the runtime only to hand the engine over: a runtime dropped meanwhile is not kept
        // alive (with its caches' mappings) by it.
        let (inner, cfg, ticks) = (Arc::downgrade(&runtime.inner), runtime.inner.cfg.clone(), ticks);
        let building = runtime.inner.building.clone();
        let _ = std::thread::Builder::new().name("wasmesh-component-engine".into()).spawn(move || {
            let _building = building.lock().unwrap_or_else(|p| p.into_inner());
            if inner.upgrade().is_none_or(|i| i.components.get().is_some()) {
                return;
            }
            if let Ok(set) = component_engine(&cfg, false, &ticks)
                && let Some(inner) = inner.upgrade()
            {
                let _ = inner.components.set(set);
            }
        });
        Ok(runtime)
    }

    /// The settings this runtime was built with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.cfg
    }

    fn module_engine(&self, metered: bool) -> Result<&ModuleEngine> {
        if !metered {
            return Ok(&self.inner.standard);
        }
        made(&self.inner.metered, &self.inner.building, || module_engine(&self.inner.cfg, true, &self.inner.tick_list))
    }

    fn component_engine(&self, metered: bool) -> Result<&ComponentEngine> {
        let cell = if metered { &self.inner.metered_components } else { &self.inner.components };
        made(cell, &self.inner.building, || component_engine(&self.inner.cfg, metered, &self.inner.tick_list))
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
        // Making an engine is slow; `load` does it on its thread.
        let engine_made = match module_check::flavor(wasm)? {
            Flavor::Core => limits.fuel.is_none() || self.inner.metered.get().is_some(),
            Flavor::Component => {
                (if limits.fuel.is_some() { &self.inner.metered_components } else { &self.inner.components }).get().is_some()
            }
        };
        if !engine_made {
            return Ok(None);
        }
        self.load_with(wasm, limits, host, false)
    }

    fn load_with(&self, wasm: &[u8], limits: ActorLimits, host: Arc<dyn Host>, compile: bool) -> Result<Option<Actor>> {
        self.ensure_open()?;
        limits.validate(&self.inner.cfg)?;
        let flavor = module_check::flavor(wasm)?;
        let metered = limits.fuel.is_some();
        let (engine, code, hash, source) = match flavor {
            Flavor::Core => {
                let set = self.module_engine(metered)?;
                let Some((Compiled::Module(module), hash, source)) = set.compile(&self.inner.cache, wasm, flavor, compile)? else {
                    return Ok(None);
                };
                module_check::check_exports(&module)?;
                let pre = set.linker.instantiate_pre(&module).map_err(|e| Error::InvalidModule {
                    message: format!(
                        "{e:#}; wasmesh provides the waPC imports (module `wapc`) and WASI preview1 (`wasi_snapshot_preview1`)"
                    ),
                })?;
                (&set.engine, Code::module(pre)?, hash, source)
            }
            Flavor::Component => {
                let set = self.component_engine(metered)?;
                let Some((Compiled::Component(c), hash, source)) = set.compile(&self.inner.cache, wasm, flavor, compile)? else {
                    return Ok(None);
                };
                (&set.engine, Code::Component { pre: component::prepare(&set.linker, &c)? }, hash, source)
            }
        };
        Ok(Some(Actor::new(self.inner.shared.clone(), (**engine).clone(), code, limits, host, hash, source)))
    }

    /// Describes a module or component and says whether it is a valid actor, without keeping it loaded.
    pub fn inspect(&self, wasm: &[u8]) -> Result<ModuleInfo> {
        let flavor = module_check::flavor(wasm)?;
        let no_code = || Error::internal("compiling was allowed but gave no code");
        let (imports, exports, problem) = match flavor {
            Flavor::Core => {
                let set = &self.inner.standard;
                let Some((Compiled::Module(module), _, _)) = set.compile(&self.inner.cache, wasm, flavor, true)? else {
                    return Err(no_code());
                };
                let (imports, exports) = module_check::items(&module);
                let problem = module_check::check_exports(&module).err().or_else(|| {
                    set.linker.instantiate_pre(&module).err().map(|e| Error::InvalidModule { message: format!("{e:#}") })
                });
                (imports, exports, problem)
            }
            Flavor::Component => {
                let set = self.component_engine(false)?;
                let Some((Compiled::Component(c), _, _)) = set.compile(&self.inner.cache, wasm, flavor, true)? else {
                    return Err(no_code());
                };
                let (imports, exports) = component::items(&set.engine, &c);
                (imports, exports, component::prepare(&set.linker, &c).err())
            }
        };
        Ok(ModuleInfo {
            hash: hex::encode(Sha256::digest(wasm)),
            size: wasm.len(),
            component: flavor == Flavor::Component,
            imports,
            exports,
            valid_actor: problem.is_none(),
            problem,
        })
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

/// The engine in `cell`, made by `make` the first time (once: concurrent callers wait for it).
fn made<'a, T>(cell: &'a OnceLock<T>, building: &Mutex<()>, make: impl FnOnce() -> Result<T>) -> Result<&'a T> {
    if let Some(set) = cell.get() {
        return Ok(set);
    }
    // One build at a time: a load arriving while the components' engine is being made in the
    // background waits for it instead of making (and dropping) a second pool of its own.
    let _building = building.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(set) = cell.get() {
        return Ok(set);
    }
    let set = make()?;
    Ok(cell.get_or_init(|| set))
}
