//! Validation of a module against the waPC actor contract, shared by `load` and `inspect` so both
//! give the same verdict with the same words.

use wasmtime::{ExternType, Module, ValType};

use crate::engine::Flavor;
use crate::error::{Error, Result};

/// First bytes of every WebAssembly binary.
const MAGIC: &[u8; 4] = b"\0asm";

/// Binary version and layer of a core module (`01 00 00 00`) and of a component (`0d 00 01 00`).
const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0, 1, 0];

/// Says whether the bytes are a core module or a component, and refuses anything else before it
/// reaches the compiler, naming what it looks like but never quoting it: the bytes may be a file a
/// caller had the host read, and an error reply must not leak what that file holds.
pub(crate) fn flavor(wasm: &[u8]) -> Result<Flavor> {
    if wasm.len() < 8 || &wasm[..4] != MAGIC {
        return Err(Error::InvalidModule {
            message: format!(
                "not a WebAssembly binary: expected the magic bytes 00 61 73 6d at offset 0, but it looks like {} ({} bytes in all)",
                looks_like(wasm),
                wasm.len()
            ),
        });
    }
    match &wasm[4..8] {
        v if v == CORE_VERSION => Ok(Flavor::Core),
        v if v == COMPONENT_VERSION => Ok(Flavor::Component),
        _ => Err(Error::InvalidModule {
            message: format!(
                "unsupported binary version/layer {:02x?} at offset 4: wasmesh runs core modules (01 00 00 00) and components of the Component Model (0d 00 01 00)",
                &wasm[4..8]
            ),
        }),
    }
}

/// What a non-wasm input resembles, from well-known signatures, so a user who passed the wrong file
/// sees which kind of file it was without the error echoing its bytes.
fn looks_like(bytes: &[u8]) -> &'static str {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x7fELF", "an ELF executable"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"PK\x03\x04", "a zip archive"),
        (b"#!", "a script"),
        (b"(module", "WebAssembly text (compile it with wat2wasm first)"),
    ];
    if bytes.is_empty() {
        return "an empty file";
    }
    if let Some((_, kind)) = SIGNATURES.iter().find(|(sig, _)| bytes.starts_with(sig)) {
        return kind;
    }
    let head = &bytes[..bytes.len().min(64)];
    if head.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
        "text"
    } else {
        "binary data of another format"
    }
}

/// Describes one import or export for `inspect`.
#[derive(Debug, Clone)]
pub struct ItemInfo {
    /// Import module (empty for exports).
    pub module: String,
    pub name: String,
    /// `func (i32, i32) -> i32`, `memory 1..16 pages`, …
    pub ty: String,
}

fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => {
            let p: Vec<String> = f.params().map(|t| t.to_string()).collect();
            let r: Vec<String> = f.results().map(|t| t.to_string()).collect();
            format!("func ({}) -> ({})", p.join(", "), r.join(", "))
        }
        ExternType::Memory(m) => match m.maximum() {
            Some(max) => format!("memory {}..{} pages", m.minimum(), max),
            None => format!("memory {}.. pages", m.minimum()),
        },
        ExternType::Table(t) => format!("table {}", t.minimum()),
        ExternType::Global(g) => format!("global {}", g.content()),
        ExternType::Tag(_) => "tag".to_owned(),
    }
}

/// Imports and exports of a compiled module.
pub(crate) fn items(module: &Module) -> (Vec<ItemInfo>, Vec<ItemInfo>) {
    let imports = module
        .imports()
        .map(|i| ItemInfo { module: i.module().to_owned(), name: i.name().to_owned(), ty: describe(&i.ty()) })
        .collect();
    let exports = module
        .exports()
        .map(|e| ItemInfo { module: String::new(), name: e.name().to_owned(), ty: describe(&e.ty()) })
        .collect();
    (imports, exports)
}

/// Checks the exports waPC needs: `__guest_call(i32, i32) -> i32` and a `memory`.
pub(crate) fn check_exports(module: &Module) -> Result<()> {
    match module.get_export("__guest_call") {
        Some(ExternType::Func(f)) => {
            let ok = f.params().map(|t| matches!(t, ValType::I32)).eq([true, true])
                && f.results().map(|t| matches!(t, ValType::I32)).eq([true]);
            if !ok {
                return Err(Error::MissingExport {
                    name: "__guest_call".into(),
                    message: format!("it has type {}, but waPC requires func (i32, i32) -> (i32)", describe(&ExternType::Func(f))),
                });
            }
        }
        Some(other) => {
            return Err(Error::MissingExport {
                name: "__guest_call".into(),
                message: format!("it is a {}, but waPC requires a function", describe(&other)),
            });
        }
        None => {
            return Err(Error::MissingExport {
                name: "__guest_call".into(),
                message: "the module is not a waPC actor: it must export `__guest_call(op_len: i32, msg_len: i32) -> i32`".into(),
            });
        }
    }
    if !matches!(module.get_export("memory"), Some(ExternType::Memory(_))) {
        return Err(Error::MissingExport {
            name: "memory".into(),
            message: "waPC guests must export their linear memory as `memory`".into(),
        });
    }
    Ok(())
}
