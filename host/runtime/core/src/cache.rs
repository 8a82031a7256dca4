//! Compiled-code cache: in memory, and on disk as precompiled artifacts (`.cwasm`) keyed by the
//! binary's SHA-256 and the engine's compatibility key, so a restarted process skips compilation.
//! Core modules and components alike (each flavor has its own engine, hence its own key).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use wasmtime::component::Component;
use wasmtime::{Engine, Module};

use crate::engine::Flavor;
use crate::error::{Error, Result};

/// Compiled code of either flavor.
#[derive(Clone)]
pub(crate) enum Compiled {
    Module(Module),
    Component(Component),
}

impl Compiled {
    fn compile(engine: &Engine, wasm: &[u8], flavor: Flavor) -> wasmtime::Result<Self> {
        Ok(match flavor {
            Flavor::Core => Compiled::Module(Module::new(engine, wasm)?),
            Flavor::Component => Compiled::Component(Component::new(engine, wasm)?),
        })
    }

    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        match self {
            Compiled::Module(m) => m.serialize(),
            Compiled::Component(c) => c.serialize(),
        }
    }
}

/// Where a module came from on `get_or_compile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSource {
    /// Already compiled in this process.
    Memory,
    /// Loaded from a precompiled artifact on disk.
    Disk,
    /// Compiled now.
    Compiled,
}

impl CacheSource {
    /// Lower-case name for logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheSource::Memory => "memory",
            CacheSource::Disk => "disk",
            CacheSource::Compiled => "compiled",
        }
    }
}

pub(crate) struct ModuleCache {
    memory: Mutex<HashMap<(String, String), Compiled>>,
    dir: Option<PathBuf>,
}

impl ModuleCache {
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self { memory: Mutex::new(HashMap::new()), dir }
    }

    pub(crate) fn len(&self) -> usize {
        self.memory.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Returns the compiled code for `wasm` (whose SHA-256 hex is `hash`), compiling it when it
    /// is in neither cache; with `compile` false, `None` instead.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        engine_key: &str,
        hash: &str,
        wasm: &[u8],
        flavor: Flavor,
        compile: bool,
    ) -> Result<Option<(Compiled, CacheSource)>> {
        let key = (engine_key.to_owned(), hash.to_owned());
        if let Some(m) = self.memory.lock().map_err(Error::internal)?.get(&key) {
            return Ok(Some((m.clone(), CacheSource::Memory)));
        }
        let path = self.dir.as_ref().map(|d| d.join(engine_key).join(format!("{hash}.cwasm")));
        let (module, source) = match path.as_deref().and_then(|p| load_artifact(engine, p, flavor)) {
            Some(m) => (m, CacheSource::Disk),
            None if !compile => return Ok(None),
            None => {
                let m = Compiled::compile(engine, wasm, flavor).map_err(|e| Error::InvalidModule { message: format!("{e:#}") })?;
                if let Some(p) = &path {
                    // A cache we cannot write is not fatal: the module still runs.
                    let _ = store_artifact(&m, p);
                }
                (m, CacheSource::Compiled)
            }
        };
        self.memory.lock().map_err(Error::internal)?.insert(key, module.clone());
        Ok(Some((module, source)))
    }
}

fn load_artifact(engine: &Engine, path: &Path, flavor: Flavor) -> Option<Compiled> {
    if !path.is_file() {
        return None;
    }
    // SAFETY: the cache directory belongs to this user and holds only artifacts this runtime
    // wrote (atomically, via rename); wasmtime also checks the engine compatibility header.
    let loaded = match flavor {
        Flavor::Core => unsafe { Module::deserialize_file(engine, path) }.map(Compiled::Module),
        Flavor::Component => unsafe { Component::deserialize_file(engine, path) }.map(Compiled::Component),
    };
    match loaded {
        Ok(m) => Some(m),
        Err(_) => {
            // Stale or corrupt: drop it and recompile.
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

fn store_artifact(module: &Compiled, path: &Path) -> std::io::Result<()> {
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    let dir = path.parent().ok_or_else(|| std::io::Error::other("no parent"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), path.file_name().and_then(|f| f.to_str()).unwrap_or("m")));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
