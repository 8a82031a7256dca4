//! Generates the Rust types of the contract messages the runtime maps components onto (HTTP server,
//! keyvalue, actor config), their contract ids and operation names, from `proto/`, the one place
//! they are defined.

use std::fmt::Write as _;
use std::path::PathBuf;

use prost_reflect::DescriptorPool;

/// The contracts the runtime reads and writes, relative to `proto/`.
const PROTOS: [&str; 3] = [
    "wasmesh/contracts/v1/httpserver.proto",
    "wasmesh/contracts/v1/keyvalue.proto",
    "wasmesh/contracts/v1/actorconfig.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../proto");
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wasmesh/contracts/v1/contract.proto").display());
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.open_files(&files)?;
    write_operations(&compiler.descriptor_pool())?;
    prost_build::Config::new().compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}

/// Writes `operations.rs`: per service of the contracts, its contract id (the `contract_id`
/// option) as `SERVICE_CONTRACT`, and a constant per operation, named `SERVICE_METHOD` in upper
/// snake case and holding the operation name callers send (`HttpServer.HandleRequest`).
fn write_operations(pool: &DescriptorPool) -> Result<(), Box<dyn std::error::Error>> {
    let contract_id = pool
        .get_extension_by_name("wasmesh.contracts.v1.contract_id")
        .ok_or("contract.proto defines no contract_id option")?;
    let mut out = String::new();
    for service in pool.services().filter(|s| s.package_name() == "wasmesh.contracts.v1") {
        let s = service.name();
        let options = service.options();
        let id = options.get_extension(&contract_id);
        let id = id.as_str().filter(|id| !id.is_empty()).ok_or_else(|| format!("service {s} has no contract_id"))?;
        writeln!(out, "/// The contract id of `{s}`.")?;
        writeln!(out, "pub const {}_CONTRACT: &str = \"{id}\";", upper_snake(s))?;
        for method in service.methods() {
            let m = method.name();
            writeln!(out, "/// The `{s}.{m}` operation.")?;
            writeln!(out, "pub const {}_{}: &str = \"{s}.{m}\";", upper_snake(s), upper_snake(m))?;
        }
    }
    std::fs::write(PathBuf::from(std::env::var("OUT_DIR")?).join("operations.rs"), out)?;
    Ok(())
}

/// `HandleRequest` -> `HANDLE_REQUEST`.
fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
