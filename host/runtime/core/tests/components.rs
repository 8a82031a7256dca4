//! Components as actors, the parts testable without a component toolchain: detection, linking
//! errors that name what is missing, and `inspect`. Serving HTTP through a real component
//! (componentize-js's) is tested from Node, in test/src/runtime/components.test.ts.

mod common;

use common::{load_err, runtime};
use wasmesh_runtime::{ActorLimits, Error};

fn component(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("valid component text")
}

/// A component that exports nothing wasmesh serves is a `MissingExport` naming the export it needs,
/// from `load` and from `inspect` (which also says it is a component).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_without_an_http_export_is_not_an_actor() {
    let rt = runtime();
    let wasm = component("(component)");
    let err = load_err(&rt, &wasm, ActorLimits::default());
    let Error::MissingExport { name, message } = &err else { panic!("expected MissingExport, got {err:?}") };
    assert_eq!(name, "wasi:http/incoming-handler");
    assert!(message.contains("must export `wasi:http/incoming-handler`"), "{message}");

    let info = rt.inspect(&wasm).expect("inspect");
    assert!(info.component);
    assert!(!info.valid_actor);
    assert!(matches!(info.problem, Some(Error::MissingExport { .. })), "{:?}", info.problem);
}

/// An import wasmesh does not provide fails the load with an error naming it and saying what is
/// provided, instead of failing the first call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_import_is_named() {
    let rt = runtime();
    let wasm = component(r#"(component (import "acme:ledger/accounts@1.2.0" (instance (export "balance" (func)))))"#);
    let err = load_err(&rt, &wasm, ActorLimits::default());
    let Error::InvalidModule { message } = &err else { panic!("expected InvalidModule, got {err:?}") };
    assert!(message.contains("acme:ledger/accounts@1.2.0"), "{message}");
    assert!(message.contains("wasmesh provides WASI 0.2"), "{message}");

    let info = rt.inspect(&wasm).expect("inspect");
    assert!(info.component);
    assert_eq!(info.imports.len(), 1);
    assert_eq!(info.imports[0].name, "acme:ledger/accounts@1.2.0");
    assert_eq!(info.imports[0].ty, "instance");
    assert!(matches!(&info.problem, Some(Error::InvalidModule { message }) if message.contains("acme:ledger")));
}

/// Core modules are still core modules to `inspect`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_tells_modules_from_components() {
    let rt = runtime();
    let info = rt.inspect(&common::guest(common::ECHO)).expect("inspect");
    assert!(!info.component);
    assert!(info.valid_actor);
}
