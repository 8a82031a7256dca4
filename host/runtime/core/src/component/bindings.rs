//! Host bindings of the interfaces wasmesh provides to components beyond WASI 0.2 and wasi:http
//! (`proto/wit/world.wit`: wasi:keyvalue, wasi:logging, wasi:config), generated from the WIT in
//! `proto/wit`, the one copy of it. Every import is async: each may be a host call answered by the
//! embedder, during which the guest is suspended, never a thread.

wasmtime::component::bindgen!({
    path: "../../../proto/wit",
    world: "wasmesh:runtime/component-host",
    imports: { default: async | trappable },
    require_store_data_send: true,
    with: {
        "wasi:keyvalue/store.bucket": super::keyvalue::Bucket,
    },
});
