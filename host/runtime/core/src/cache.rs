//! Compiled-module cache: in memory, and on disk as precompiled artifacts (`.cwasm`) keyed by the
//! module's SHA-256 and the engine's compatibility key, so a restarted process skips compilation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use wasmtime::{Engine, Module};

use crate::error::{Error, Result};

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
    memory: Mutex<HashMap<(String, String), Module>>,
    dir: Option<PathBuf>,
}

impl ModuleCache {
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self { memory: Mutex::new(HashMap::new()), dir }
    }

    pub(crate) fn len(&self) -> usize {
        self.memory.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Returns the compiled module for `wasm` (whose SHA-256 hex is `hash`), compiling it when
    /// it is in neither cache; with `compile` false, `None` instead.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        engine_key: &str,
        hash: &str,
        wasm: &[u8],
        compile: bool,
    ) -> Result<Option<(Module, CacheSource)>> {
        let key = (engine_key.to_owned(), hash.to_owned());
        if let Some(m) = self.memory.lock().map_err(Error::internal)?.get(&key) {
            return Ok(Some((m.clone(), CacheSource::Memory)));
        }
        let path = self.dir.as_ref().map(|d| d.join(engine_key).join(format!("{hash}.cwasm")));
        let (module, source) = match path.as_deref().and_then(|p| load_artifact(engine, p)) {
            Some(m) => (m, CacheSource::Disk),
            None if !compile => return Ok(None),
            None => {
                let m = Module::new(engine, wasm).map_err(|e| Error::InvalidModule { message: format!("{e:#}") })?;
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

fn load_artifact(engine: &Engine, path: &Path) -> Option<Module> {
    if !path.is_file() {
        return None;
    }
    // SAFETY: the cache directory belongs to this user and holds only artifacts this runtime
    // wrote (atomically, via rename); wasmtime also checks the engine compatibility header.
    match unsafe { Module::deserialize_file(engine, path) } {
        Ok(m) => Some(m),
        Err(_) => {
            // Stale or corrupt: drop it and recompile.
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

fn store_artifact(module: &Module, path: &Path) -> std::io::Result<()> {
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    let dir = path.parent().ok_or_else(|| std::io::Error::other("no parent"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), path.file_name().and_then(|f| f.to_str()).unwrap_or("m")));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
