//! Generates the Rust types of the contract messages the runtime maps components onto (the HTTP
//! server contract today) from `proto/`, the one place they are defined.

use std::fmt::Write as _;
use std::path::PathBuf;

use prost_types::FileDescriptorSet;

/// The contracts the runtime reads and writes, relative to `proto/`.
const PROTOS: [&str; 1] = ["wasmesh/contracts/v1/httpserver.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../proto");
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wasmesh/contracts/v1/contract.proto").display());
    let descriptors = protox::compile(&files, [&root])?;
    write_operations(&descriptors)?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}

/// Writes `operations.rs`: a constant per operation of the contracts, named `SERVICE_METHOD` in
/// upper snake case and holding the operation name callers send (`HttpServer.HandleRequest`).
fn write_operations(descriptors: &FileDescriptorSet) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = String::new();
    for file in descriptors.file.iter().filter(|f| f.package() == "wasmesh.contracts.v1") {
        for service in &file.service {
            for method in &service.method {
                let (s, m) = (service.name(), method.name());
                writeln!(out, "/// The `{s}.{m}` operation.")?;
                writeln!(out, "pub const {}_{}: &str = \"{s}.{m}\";", upper_snake(s), upper_snake(m))?;
            }
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
