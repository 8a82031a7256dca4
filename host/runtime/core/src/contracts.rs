//! The contract messages and operation names the runtime maps components onto, generated from
//! `proto/` by `build.rs` (proto/ is the one place they are defined).

// Every message and operation of those contracts is generated, whether the runtime uses it yet or not.
#![allow(missing_docs, dead_code, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/wasmesh.contracts.v1.rs"));
include!(concat!(env!("OUT_DIR"), "/operations.rs"));
