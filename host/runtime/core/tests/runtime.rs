//! Integration tests of `wasmesh-runtime`: loading, the waPC ABI, every error variant, limits
//! (deadline, memory, stack, fuel, response size, concurrency), the module cache and pool hygiene.
//! Guests are small WAT modules built with the helpers in `common`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};
use wasmesh_runtime::{ActorLimits, CacheSource, Error, LogLevel, NoHost, Runtime, RuntimeConfig, WASM_PAGE};

/// How long a stopped invocation may take to come back at most (generous for slow CI machines).
const PROMPT: Duration = Duration::from_secs(2);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// The waPC ABI: requests and responses
// ---------------------------------------------------------------------------------------------

/// An echo guest returns its payload unchanged: empty, small, binary and larger than a page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_returns_the_payload() {
    let rt = runtime();
    let actor = load(&rt, &Guest::new().memory("8").body(ECHO).build());
    assert_eq!(invoke_ok(&actor, "Echo", b"").await, b"");
    assert_eq!(invoke_ok(&actor, "Echo", b"hello").await, b"hello");
    let binary: Vec<u8> = (0..=255).collect();
    assert_eq!(invoke_ok(&actor, "Echo", &binary).await, binary);
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(invoke_ok(&actor, "Echo", &big).await, big);
}

/// The operation name reaches the guest byte for byte (including non-ASCII UTF-8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_name_is_delivered() {
    let rt = runtime();
    let actor = load(&rt, &guest(RESPOND_OP));
    for op in ["Ping", "orders.create", "Grüße/ünïcödé", "x"] {
        assert_eq!(invoke_ok(&actor, op, b"ignored").await, op.as_bytes());
    }
}

/// Every invocation runs in a fresh instance: a global bumped by one call is back to its initial
/// value in the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invocation_gets_a_fresh_instance() {
    let rt = runtime();
    let mut g = Guest::new();
    g.item("(global $count (mut i32) (i32.const 0))").body(
        "(global.set $count (i32.add (global.get $count) (i32.const 1)))
        (i32.store (i32.const 4096) (global.get $count))
        ;; memory too starts clean: the payload area past the payload is still zero
        (i32.store (i32.const 4100) (i32.load (i32.const 9000)))
        (i32.store (i32.const 9000) (i32.const 0xdead))
        (call $guest_response (i32.const 4096) (i32.const 8)) (return (i32.const 1))",
    );
    let actor = load(&rt, &g.build());
    for _ in 0..3 {
        assert_eq!(invoke_ok(&actor, "Count", b"").await, [1, 0, 0, 0, 0, 0, 0, 0]);
    }
}

/// `_start`, `_initialize` and `wapc_init` run before `__guest_call`, in that order, in every
/// fresh instance; a `_start` that ends in `proc_exit(0)` counts as initialised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_exports_run_in_order_before_each_call() {
    let rt = runtime();
    let mut g = Guest::new();
    g.import(r#"(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))"#)
        .item("(global $trace (mut i32) (i32.const 0))")
        .item("(func $push (param i32) (global.set $trace (i32.add (i32.mul (global.get $trace) (i32.const 10)) (local.get 0))))")
        .item(r#"(func (export "_start") (call $push (i32.const 1)) (call $proc_exit (i32.const 0)))"#)
        .item(r#"(func (export "_initialize") (call $push (i32.const 2)))"#)
        .item(r#"(func (export "wapc_init") (call $push (i32.const 3)))"#)
        .body(
            "(i32.store (i32.const 4096) (global.get $trace))
            (call $guest_response (i32.const 4096) (i32.const 4)) (return (i32.const 1))",
        );
    let actor = load(&rt, &g.build());
    for _ in 0..2 {
        assert_eq!(invoke_ok(&actor, "Trace", b"").await, 123i32.to_le_bytes());
    }
}

/// `__console_log` and WASI stdout/stderr reach `Host::log` (stderr as a warning), one line each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_logs_reach_the_host() {
    let rt = runtime();
    let host = Arc::new(TestHost::new(|_| Err("unused".into())));
    let mut g = Guest::new();
    g.import(r#"(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#);
    let (lp, ln) = g.string("via console_log");
    let (op, on) = g.string("line one\nline two\n");
    let (ep, en) = g.string("to stderr\n");
    let respond = g.respond("ok");
    g.body(&format!(
        "(call $console_log (i32.const {lp}) (i32.const {ln}))
        (i32.store (i32.const 4096) (i32.const {op})) (i32.store (i32.const 4100) (i32.const {on}))
        (drop (call $fd_write (i32.const 1) (i32.const 4096) (i32.const 1) (i32.const 4104)))
        (i32.store (i32.const 4096) (i32.const {ep})) (i32.store (i32.const 4100) (i32.const {en}))
        (drop (call $fd_write (i32.const 2) (i32.const 4096) (i32.const 1) (i32.const 4104)))
        {respond}"
    ));
    let actor = load_with(&rt, &g.build(), ActorLimits::default(), host.clone());
    assert_eq!(invoke_ok(&actor, "Log", b"").await, b"ok");
    assert_eq!(
        host.logs(),
        vec![
            (LogLevel::Info, "via console_log".to_owned()),
            (LogLevel::Info, "line one".to_owned()),
            (LogLevel::Info, "line two".to_owned()),
            (LogLevel::Warn, "to stderr".to_owned()),
        ]
    );
    assert_eq!(LogLevel::Info.as_str(), "info");
    assert_eq!(LogLevel::Warn.as_str(), "warn");
}

/// A guest looping on `__console_log` spends its call's log budget and no more: the lines past it
/// are dropped and counted, with one line saying so when it starts and one summary at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_logs_are_a_budget() {
    let rt = runtime();
    let host = Arc::new(TestHost::new(|_| Err("unused".into())));
    let mut g = Guest::new();
    let (lp, ln) = g.string(&"x".repeat(1000));
    let respond = g.respond("ok");
    g.body(&format!(
        "(loop $again
          (call $console_log (i32.const {lp}) (i32.const {ln}))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const 100000))))
        {respond}"
    ));
    let limits = ActorLimits { max_log_bytes: 4096, ..ActorLimits::default() };
    let actor = load_with(&rt, &g.build(), limits, host.clone());
    assert_eq!(invoke_ok(&actor, "Flood", b"").await, b"ok");
    let logs = host.logs();
    assert_eq!(logs.iter().filter(|(_, l)| l.len() == 1000).count(), 4);
    assert_eq!(logs.len(), 6, "4 lines, the budget notice and the summary: {:?}", &logs[4..]);
    assert_eq!(logs[4].0, LogLevel::Warn);
    assert!(logs[4].1.contains("log budget of 4096 bytes"));
    assert_eq!(logs[5].1, "99996 guest log lines (99996000 bytes) over the call's budget were dropped");
}

/// Many concurrent invocations of one actor each get their own answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_are_isolated() {
    let rt = runtime();
    let actor = load(&rt, &guest(ECHO));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200u32 {
        let actor = actor.clone();
        tasks.spawn(async move {
            let payload = format!("request #{i}").into_bytes();
            let response = actor.invoke("Echo", payload.clone(), None).await;
            (payload, response)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (payload, response) = joined.expect("task");
        assert_eq!(response.expect("echo"), payload);
    }
    assert_eq!(rt.stats().instances_in_use, 0);
    assert_eq!(actor.in_flight(), 0);
}

// ---------------------------------------------------------------------------------------------
// Guest failures
// ---------------------------------------------------------------------------------------------

/// A guest that reports "No handler registered for function "X"" (wapc-rs wording) or
/// "Could not find function" (@wapc/as-guest wording) yields `UnknownOperation`; the same words
/// elsewhere in a message do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_operation_is_recognised() {
    let rt = runtime();
    let mut g = Guest::new();
    let as_guest = g.fail("Could not find function Other");
    let not_at_start = g.fail("oops: No handler registered for function \"Y\"");
    let unknown = g.unknown_operation();
    g.body(&Guest::dispatch(&[('O', &as_guest), ('N', &not_at_start)], &unknown));
    let actor = load(&rt, &g.build());

    let err = invoke_err(&actor, "Missing", b"", None).await;
    assert_eq!(
        err,
        Error::UnknownOperation {
            operation: "Missing".into(),
            message: "No handler registered for function \"Missing\"".into()
        }
    );
    assert_eq!(err.code(), "WASMESH_ERR_UNKNOWN_OPERATION");

    let err = invoke_err(&actor, "Other", b"", None).await;
    assert!(matches!(&err, Error::UnknownOperation { operation, .. } if operation == "Other"), "{err:?}");

    let err = invoke_err(&actor, "Nope", b"", None).await;
    assert!(matches!(&err, Error::GuestError { .. }), "{err:?}");
}

/// A guest that fails through `__guest_error` yields `GuestError` with its exact message; one that
/// returns 0 without a message still gets a descriptive one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_error_carries_the_message() {
    let rt = runtime();
    let mut g = Guest::new();
    let fail = g.fail("boom: the input was not valid JSON");
    g.body(&Guest::dispatch(&[('S', "(return (i32.const 0))")], &fail));
    let actor = load(&rt, &g.build());

    let err = invoke_err(&actor, "Parse", b"{", None).await;
    assert_eq!(err, Error::GuestError { message: "boom: the input was not valid JSON".into() });
    assert_eq!(err.code(), "WASMESH_ERR_GUEST_ERROR");

    let err = invoke_err(&actor, "Silent", b"", None).await;
    let Error::GuestError { message } = &err else { panic!("expected a guest error, got {err:?}") };
    assert!(message.contains("without an error message"), "{message}");
}

/// `unreachable` is a `Trap` with trap_code "unreachable" and a wasm backtrace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_is_a_trap() {
    let rt = runtime();
    let actor = load(&rt, &guest(UNREACHABLE));
    let err = invoke_err(&actor, "Crash", b"", None).await;
    let Error::Trap { trap_code, message, backtrace } = &err else { panic!("expected a trap, got {err:?}") };
    assert_eq!(trap_code, "unreachable");
    assert!(message.contains("unreachable"), "{message}");
    let backtrace = backtrace.as_deref().expect("a wasm backtrace");
    assert!(backtrace.contains("__guest_call"), "{backtrace}");
    assert_eq!(err.code(), "WASMESH_ERR_TRAP");
}

/// Other wasm traps are named after wasmtime's trap kind in snake case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_codes_name_the_trap_kind() {
    let rt = runtime();
    let cases = [
        ("(drop (i32.load (i32.const 0x7ffffff0)))", "memory_out_of_bounds"),
        ("(drop (i32.div_s (i32.const 1) (local.get $n)))", "integer_division_by_zero"),
        ("(drop (i32.trunc_f32_s (f32.const nan)))", "bad_conversion_to_integer"),
    ];
    for (body, expected) in cases {
        let actor = load(&rt, &guest(body));
        let err = invoke_err(&actor, "Crash", b"", None).await;
        assert!(matches!(&err, Error::Trap { trap_code, .. } if trap_code == expected), "{body}: {err:?}");
    }
}

/// A guest that reports a reason through `__guest_error` and then traps (AssemblyScript's `abort`)
/// gets a trap whose message keeps the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_keeps_a_reason_reported_before_it() {
    let rt = runtime();
    let mut g = Guest::new();
    let (p, n) = g.string("assertion failed at index.ts:12");
    g.body(&format!("(call $guest_error (i32.const {p}) (i32.const {n})) (unreachable)"));
    let actor = load(&rt, &g.build());
    let err = invoke_err(&actor, "Abort", b"", None).await;
    let Error::Trap { trap_code, message, .. } = &err else { panic!("expected a trap, got {err:?}") };
    assert_eq!(trap_code, "unreachable");
    assert!(message.contains("(guest reported: assertion failed at index.ts:12)"), "{message}");
}

/// A guest that calls `proc_exit` during the call fails with a `GuestError` naming the exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proc_exit_during_the_call_is_a_guest_error() {
    let rt = runtime();
    let mut g = Guest::new();
    g.import(r#"(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))"#)
        .body("(call $proc_exit (i32.const 3))");
    let actor = load(&rt, &g.build());
    let err = invoke_err(&actor, "Exit", b"", None).await;
    let Error::GuestError { message } = &err else { panic!("expected a guest error, got {err:?}") };
    assert!(message.contains("proc_exit(3)"), "{message}");
}

/// Deep recursion is a `Trap` with trap_code "stack_overflow"; the actor keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_is_a_stack_overflow() {
    let rt = runtime();
    let actor = load(&rt, &guest(&Guest::dispatch(&[('R', RECURSE)], ECHO)));
    let err = invoke_err(&actor, "Recurse", b"", None).await;
    assert!(matches!(&err, Error::Trap { trap_code, .. } if trap_code == "stack_overflow"), "{err:?}");
    assert_eq!(invoke_ok(&actor, "Echo", b"still alive").await, b"still alive");
}

/// `__guest_call` returning anything but 0 or 1 is a `Protocol` error naming the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_return_value_is_a_protocol_error() {
    let rt = runtime();
    let actor = load(&rt, &guest(RETURN_7));
    let err = invoke_err(&actor, "X", b"", None).await;
    let Error::Protocol { message } = &err else { panic!("expected a protocol error, got {err:?}") };
    assert!(message.contains("returned 7"), "{message}");
    assert_eq!(err.code(), "WASMESH_ERR_GUEST_PROTOCOL");
}

/// A response buffer outside guest memory is a `Trap` that says "out-of-bounds", both straddling
/// the end of memory and at a "negative" pointer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_bounds_response_is_a_trap() {
    let rt = runtime();
    let negative = "(call $guest_response (i32.const -16) (i32.const 4)) (return (i32.const 1))";
    let actor = load(&rt, &guest(&Guest::dispatch(&[('N', negative)], OOB_RESPONSE)));
    for op in ["Straddle", "Negative"] {
        let err = invoke_err(&actor, op, b"", None).await;
        let Error::Trap { trap_code, message, .. } = &err else { panic!("{op}: expected a trap, got {err:?}") };
        assert_eq!(trap_code, "host_function", "{op}");
        assert!(message.contains("out-of-bounds"), "{op}: {message}");
    }
}

/// A response over `max_response_bytes` is `ResponseTooLarge` with its size and the limit, while
/// one of exactly the limit is delivered; an absurd length (-1) is also refused, not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_response_is_refused() {
    let rt = runtime();
    let huge_len = "(call $guest_response (i32.const 8192) (i32.const -1)) (return (i32.const 1))";
    let actor = load_with(
        &rt,
        &guest(&Guest::dispatch(&[('H', huge_len)], ECHO)),
        ActorLimits { max_response_bytes: 16, ..ActorLimits::default() },
        Arc::new(NoHost),
    );
    assert_eq!(invoke_ok(&actor, "Echo", &[7; 16]).await, [7; 16]);

    let err = invoke_err(&actor, "Echo", &[7; 17], None).await;
    assert_eq!(err, Error::ResponseTooLarge { size: 17, limit: 16 });
    assert_eq!(err.code(), "WASMESH_ERR_RESPONSE_TOO_LARGE");

    let err = invoke_err(&actor, "Huge", b"", None).await;
    assert_eq!(err, Error::ResponseTooLarge { size: u32::MAX as u64, limit: 16 });
}

// ---------------------------------------------------------------------------------------------
// Limits: deadline, memory, fuel
// ---------------------------------------------------------------------------------------------

/// An infinite loop is stopped at its deadline with `Timeout { queued: false }`, promptly, and the
/// same actor serves the next invocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_times_out_and_the_actor_recovers() {
    let rt = runtime();
    let actor = load(&rt, &guest(&Guest::dispatch(&[('S', SPIN)], ECHO)));
    let start = Instant::now();
    let err = invoke_err(&actor, "Spin", b"", Some(ms(100))).await;
    let elapsed = start.elapsed();
    assert_eq!(err, Error::Timeout { timeout: ms(100), queued: false });
    assert_eq!(err.code(), "WASMESH_ERR_TIMEOUT");
    assert!(elapsed >= ms(100), "stopped early, after {elapsed:?}");
    assert!(elapsed < PROMPT, "took {elapsed:?} to stop");

    assert_eq!(invoke_ok(&actor, "Echo", b"after").await, b"after");
    assert_eq!(rt.stats().instances_in_use, 0);
}

/// Without a per-call timeout, the actor's `timeout` limit applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_default_timeout_applies() {
    let rt = runtime();
    let actor = load_with(&rt, &guest(SPIN), ActorLimits { timeout: ms(50), ..ActorLimits::default() }, Arc::new(NoHost));
    let start = Instant::now();
    let err = invoke_err(&actor, "Spin", b"", None).await;
    assert_eq!(err, Error::Timeout { timeout: ms(50), queued: false });
    assert!(start.elapsed() < PROMPT, "took {:?}", start.elapsed());
}

/// `memory.grow` within `max_memory_bytes` works; past it the invocation stops with `MemoryLimit`
/// naming the limit and the size asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_growth_past_the_cap_is_a_memory_limit() {
    let rt = runtime();
    let limits = ActorLimits { max_memory_bytes: 16 * WASM_PAGE, ..ActorLimits::default() };
    let actor = load_with(&rt, &guest(&Guest::dispatch(&[('B', &grow(100))], &grow(15))), limits, Arc::new(NoHost));

    // 1 + 15 pages is exactly the cap: memory.grow returns the old size, 1 page.
    assert_eq!(invoke_ok(&actor, "Small", b"").await, 1i32.to_le_bytes());

    let err = invoke_err(&actor, "Big", b"", None).await;
    assert_eq!(err, Error::MemoryLimit { limit_bytes: 16 * WASM_PAGE, requested_bytes: 101 * WASM_PAGE });
    assert_eq!(err.code(), "WASMESH_ERR_MEMORY_LIMIT");
}

/// A module whose initial memory is over the actor's cap loads, but every invocation fails with
/// `MemoryLimit` (at instantiation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_memory_over_the_cap_is_a_memory_limit() {
    let rt = runtime();
    let limits = ActorLimits { max_memory_bytes: 16 * WASM_PAGE, ..ActorLimits::default() };
    let actor = load_with(&rt, &Guest::new().memory("32").body(ECHO).build(), limits, Arc::new(NoHost));
    let err = invoke_err(&actor, "Echo", b"x", None).await;
    assert_eq!(err, Error::MemoryLimit { limit_bytes: 16 * WASM_PAGE, requested_bytes: 32 * WASM_PAGE });
    assert_eq!(rt.stats().instances_in_use, 0);
}

/// A module whose initial memory is over even the runtime's pool slot size cannot be placed in
/// the pool at all: `load` (and `inspect`) refuse it with an `InvalidModule` naming the size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_memory_over_the_pool_slot_is_refused_at_load() {
    let rt = Runtime::new(RuntimeConfig { max_instances: 4, max_memory_bytes: 4 << 20, ..RuntimeConfig::default() })
        .expect("runtime");
    let limits = ActorLimits { max_memory_bytes: 4 << 20, ..ActorLimits::default() };
    let bytes = Guest::new().memory("128").body(ECHO).build();
    for err in [load_err(&rt, &bytes, limits), rt.inspect(&bytes).expect_err("inspect")] {
        let Error::InvalidModule { message } = &err else { panic!("expected InvalidModule, got {err:?}") };
        assert!(message.contains("minimum byte size of 8388608"), "{message}");
    }
}

/// With a small fuel budget a busy guest stops with `FuelExhausted`; with enough fuel the same
/// guest succeeds, and the budget is per invocation (not shared across calls).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_limits_computation() {
    let rt = runtime();
    let wasm = guest(BUSY_100K);

    let starved = load_with(&rt, &wasm, ActorLimits { fuel: Some(10_000), ..ActorLimits::default() }, Arc::new(NoHost));
    let err = invoke_err(&starved, "Busy", b"", None).await;
    assert_eq!(err, Error::FuelExhausted { fuel: 10_000 });
    assert_eq!(err.code(), "WASMESH_ERR_FUEL_EXHAUSTED");

    let fed = load_with(&rt, &wasm, ActorLimits { fuel: Some(5_000_000), ..ActorLimits::default() }, Arc::new(NoHost));
    for _ in 0..3 {
        assert_eq!(invoke_ok(&fed, "Busy", b"").await, b"done");
    }

    let unmetered = load(&rt, &wasm);
    assert_eq!(invoke_ok(&unmetered, "Busy", b"").await, b"done");
}

/// Fuel also stops an infinite loop (before any deadline).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_stops_an_infinite_loop() {
    let rt = runtime();
    let actor = load_with(&rt, &guest(SPIN), ActorLimits { fuel: Some(1_000_000), ..ActorLimits::default() }, Arc::new(NoHost));
    let err = invoke_err(&actor, "Spin", b"", Some(Duration::from_secs(30))).await;
    assert_eq!(err, Error::FuelExhausted { fuel: 1_000_000 });
}

// ---------------------------------------------------------------------------------------------
// Host calls
// ---------------------------------------------------------------------------------------------

/// A host call reaches the host with binding, namespace, operation and payload, and the guest
/// reads the host's response through `__host_response_len` / `__host_response`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_call_success() {
    let rt = runtime();
    let host = Arc::new(TestHost::new(|call| Ok([b"pong:".as_slice(), &call.payload].concat())));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "unused: ");
    let actor = load_with(&rt, &g.body(&body).build(), ActorLimits::default(), host.clone());

    assert_eq!(invoke_ok(&actor, "Ping", b"key-1").await, b"pong:key-1");
    let calls = host.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].binding.as_str(), calls[0].namespace.as_str(), calls[0].operation.as_str()), ("kv", "store", "Get"));
    assert_eq!(calls[0].payload, b"key-1");
    assert_eq!(calls[0].target(), "kv/store.Get");
}

/// A refused host call reaches the guest through `__host_error`; when the guest then fails, the
/// result is `HostCallFailed` with the target, the host's message and the guest's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_call_failure_keeps_both_messages() {
    let rt = runtime();
    let host = Arc::new(TestHost::new(|call| Err(format!("db down ({} bytes)", call.payload.len()))));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "upstream said: ");
    let actor = load_with(&rt, &g.body(&body).build(), ActorLimits::default(), host.clone());

    let err = invoke_err(&actor, "Ping", b"abc", None).await;
    assert_eq!(
        err,
        Error::HostCallFailed {
            target: "kv/store.Get".into(),
            host_message: "db down (3 bytes)".into(),
            guest_message: "upstream said: db down (3 bytes)".into(),
        }
    );
    assert_eq!(err.code(), "WASMESH_ERR_HOST_CALL_FAILED");
}

/// A host call that ran out of the invocation's time (the host answers `WASMESH_ERR_TIMEOUT: …`,
/// possibly a moment before the runtime's own deadline fires) makes the invocation a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_call_timeout_is_the_invocations_timeout() {
    let rt = runtime();
    let host = Arc::new(TestHost::new(|_| Err("WASMESH_ERR_TIMEOUT: invocation of kv.Get timed out after 1500 ms".into())));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "upstream said: ");
    let actor = load_with(&rt, &g.body(&body).build(), ActorLimits::default(), host.clone());

    let err = invoke_err(&actor, "Ping", b"abc", Some(Duration::from_secs(5))).await;
    assert_eq!(err, Error::Timeout { timeout: Duration::from_secs(5), queued: false });
}

/// A guest that recovers from a refused host call and responds succeeds normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_call_failure_the_guest_recovers_from_is_not_an_error() {
    let rt = runtime();
    let host = Arc::new(TestHost::new(|_| Err("nope".into())));
    let mut g = Guest::new();
    let call = g.host_call("kv", "store", "Get");
    let fallback = g.respond("fallback");
    let actor = load_with(&rt, &g.body(&format!("(drop {call}) {fallback}")).build(), ActorLimits::default(), host);
    assert_eq!(invoke_ok(&actor, "Get", b"").await, b"fallback");
}

/// With `NoHost`, every host call is refused with a message naming the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_host_refuses_host_calls() {
    let rt = runtime();
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "");
    let actor = load(&rt, &g.body(&body).build());
    let err = invoke_err(&actor, "Get", b"", None).await;
    let Error::HostCallFailed { target, host_message, guest_message } = &err else { panic!("{err:?}") };
    assert_eq!(target, "kv/store.Get");
    assert!(host_message.contains("no host call handler") && host_message.contains("kv/store.Get"), "{host_message}");
    assert_eq!(guest_message, host_message);
}

/// A host call still pending at the deadline times the invocation out promptly and frees its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_host_call_times_out() {
    let rt = runtime();
    let host = Arc::new(TestHost::new(|_| Ok(b"late".to_vec())).delayed(Duration::from_secs(10)));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "");
    let actor = load_with(&rt, &g.body(&body).build(), ActorLimits::default(), host.clone());

    let start = Instant::now();
    let err = invoke_err(&actor, "Get", b"", Some(ms(100))).await;
    assert_eq!(err, Error::Timeout { timeout: ms(100), queued: false });
    assert!(start.elapsed() < PROMPT, "took {:?}", start.elapsed());
    assert_eq!(host.calls().len(), 1);
    assert_eq!(rt.stats().instances_in_use, 0);
    assert_eq!(actor.in_flight(), 0);
}

// ---------------------------------------------------------------------------------------------
// Concurrency and the instance pool
// ---------------------------------------------------------------------------------------------

/// With `max_concurrent: 1`, a second invocation waits for the first; if its deadline passes while
/// it waits, it fails with `Timeout { queued: true }`. With a long enough deadline it runs after
/// the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrent_queues_and_times_out_waiting() {
    let rt = runtime();
    let host = Arc::new(TestHost::new(|_| Ok(b"slow".to_vec())).delayed(ms(500)));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "");
    let limits = ActorLimits { max_concurrent: 1, ..ActorLimits::default() };
    let actor = load_with(&rt, &g.body(&body).build(), limits, host.clone());

    let first = tokio::spawn({
        let actor = actor.clone();
        async move { actor.invoke("Get", vec![], Some(Duration::from_secs(5))).await }
    });
    host.started.notified().await;
    assert_eq!(actor.in_flight(), 1);

    let start = Instant::now();
    let err = invoke_err(&actor, "Get", b"", Some(ms(100))).await;
    assert_eq!(err, Error::Timeout { timeout: ms(100), queued: true });
    assert!(err.to_string().contains("waiting for a free slot"), "{err}");
    assert!(start.elapsed() < ms(450), "the queued call should fail at its own deadline, took {:?}", start.elapsed());

    // A patient second call runs once the first is done.
    let second = actor.invoke("Get", vec![], Some(Duration::from_secs(5))).await;
    assert_eq!(first.await.expect("task").expect("first"), b"slow");
    assert_eq!(second.expect("second"), b"slow");
    assert_eq!(host.calls().len(), 2);
    assert_eq!(actor.in_flight(), 0);
}

/// Invokes through `invoke_then`, returning the outcome with the queue wait it was delivered with.
async fn invoke_timed(
    actor: &wasmesh_runtime::Actor,
    op: &str,
    timeout: Option<Duration>,
) -> (Result<Vec<u8>, Error>, Duration) {
    let mut delivered = None;
    actor.invoke_then(0, op, vec![], timeout, |outcome, queued| delivered = Some((outcome, queued))).await;
    delivered.expect("invoke_then delivered no outcome")
}

/// Every outcome carries its queue wait: about zero for an uncontended call (succeeding or
/// failing), and at least the time it was held back when `max_concurrent: 1` makes a second call
/// wait behind a slow first one; a call that times out while queued waited its whole deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_carry_their_queue_wait() {
    let rt = runtime();
    // Uncontended: no wait, whatever the outcome.
    let echo = load(&rt, &guest(ECHO));
    for _ in 0..3 {
        let (outcome, queued) = invoke_timed(&echo, "Echo", None).await;
        assert_eq!(outcome, Ok(vec![]));
        assert!(queued < ms(5), "an uncontended call waited {queued:?}");
    }
    let trap = load(&rt, &guest(UNREACHABLE));
    let (outcome, queued) = invoke_timed(&trap, "Any", None).await;
    assert!(matches!(outcome, Err(Error::Trap { .. })), "{outcome:?}");
    assert!(queued < ms(5), "an uncontended failing call waited {queued:?}");

    // Contended: the second call waits for the first's permit.
    let delay = ms(300);
    let host = Arc::new(TestHost::new(|_| Ok(b"slow".to_vec())).delayed(delay));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "");
    let limits = ActorLimits { max_concurrent: 1, ..ActorLimits::default() };
    let actor = load_with(&rt, &g.body(&body).build(), limits, host.clone());
    let first = tokio::spawn({
        let actor = actor.clone();
        async move { invoke_timed(&actor, "Get", Some(Duration::from_secs(5))).await }
    });
    host.started.notified().await;
    let blocked = Instant::now();
    // Queued behind it together: a patient call, and one whose deadline passes in the queue.
    let ((outcome, queued), (late, late_queued)) = tokio::join!(
        invoke_timed(&actor, "Get", Some(Duration::from_secs(5))),
        invoke_timed(&actor, "Get", Some(ms(100))),
    );
    let waited = blocked.elapsed();
    let (first_outcome, first_queued) = first.await.expect("task");
    assert_eq!(first_outcome, Ok(b"slow".to_vec()));
    assert!(first_queued < ms(5), "the first call waited {first_queued:?}");
    assert_eq!(outcome, Ok(b"slow".to_vec()));
    // The first's host call began just before `blocked`, so `delay` was (nearly) all left then.
    assert!(queued >= delay - ms(5) && queued <= waited, "waited {queued:?} behind a {delay:?} call");
    // A call timed out in the queue waited its whole deadline.
    assert_eq!(late, Err(Error::Timeout { timeout: ms(100), queued: true }));
    assert!(late_queued >= ms(100) && late_queued < delay, "timed out in the queue after {late_queued:?}");
    assert_eq!(actor.in_flight(), 0);
}

/// Pool slots are shared by all actors: with `max_instances: 1`, an invocation of another actor
/// waits for the slot and times out queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_slots_are_shared_across_actors() {
    let rt = Runtime::new(RuntimeConfig { max_instances: 1, ..RuntimeConfig::default() }).expect("runtime");
    let host = Arc::new(TestHost::new(|_| Ok(b"slow".to_vec())).delayed(ms(500)));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "");
    let busy = load_with(&rt, &g.body(&body).build(), ActorLimits::default(), host.clone());
    let other = load(&rt, &guest(ECHO));

    let first = tokio::spawn({
        let busy = busy.clone();
        async move { busy.invoke("Get", vec![], None).await }
    });
    host.started.notified().await;
    assert_eq!(rt.stats().instances_in_use, 1);

    let err = invoke_err(&other, "Echo", b"x", Some(ms(100))).await;
    assert_eq!(err, Error::Timeout { timeout: ms(100), queued: true });

    assert_eq!(first.await.expect("task").expect("first"), b"slow");
    assert_eq!(invoke_ok(&other, "Echo", b"x").await, b"x");
    assert_eq!(rt.stats().instances_in_use, 0);
}

/// After 2000 failing invocations of every kind (traps, guest errors, limits, timeouts while
/// running, in a host call and queued), no pool slot or actor permit is left held, and the actors
/// still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_do_not_leak_pool_slots() {
    let rt = runtime();
    let limits = ActorLimits { max_response_bytes: 64, max_memory_bytes: 32 * WASM_PAGE, ..ActorLimits::default() };

    // One actor that fails in a different way per operation (first letter), echoing otherwise.
    let failing_host = Arc::new(TestHost::new(|_| Err("refused".into())));
    let mut g = Guest::new();
    let fail = g.fail("guest failure");
    let unknown = g.unknown_operation();
    let forward = g.forward("kv", "store", "Get", "guest saw: ");
    let big = grow(64);
    let cases: Vec<(char, &str)> = vec![
        ('t', UNREACHABLE),
        ('e', &fail),
        ('u', &unknown),
        ('m', &big),
        ('p', RETURN_7),
        ('o', OOB_RESPONSE),
        ('h', &forward),
        ('s', RECURSE),
        ('l', SPIN),
    ];
    let body = Guest::dispatch(&cases, ECHO);
    let mixed = load_with(&rt, &g.body(&body).build(), limits.clone(), failing_host);

    // An actor stuck in slow host calls, and a fuel-starved one.
    let slow_host = Arc::new(TestHost::new(|_| Ok(vec![])).delayed(Duration::from_secs(10)));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "");
    let slow = load_with(&rt, &g.body(&body).build(), ActorLimits { max_concurrent: 4, ..limits.clone() }, slow_host);
    let starved = load_with(&rt, &guest(BUSY_100K), ActorLimits { fuel: Some(5_000), ..limits.clone() }, Arc::new(NoHost));

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..2000usize {
        let (mixed, slow, starved) = (mixed.clone(), slow.clone(), starved.clone());
        tasks.spawn(async move {
            let (kind, result) = match i % 50 {
                // A few slow ones: in a host call past the deadline, or queued behind those.
                0 => ("slow host", slow.invoke("Get", vec![], Some(ms(20))).await),
                1 => ("spin", mixed.invoke("loop", vec![], Some(ms(5))).await),
                2..=5 => ("fuel", starved.invoke("Busy", vec![], None).await),
                n => {
                    let (op, payload) = match n % 9 {
                        0 => ("trap", vec![]),
                        1 => ("error", vec![]),
                        2 => ("unknown", vec![]),
                        3 => ("memory", vec![]),
                        4 => ("protocol", vec![]),
                        5 => ("oob", vec![]),
                        6 => ("host call", vec![1, 2, 3]),
                        7 => ("stack", vec![]),
                        _ => ("Echo too big", vec![0; 65]),
                    };
                    (op, mixed.invoke(op, payload, None).await)
                }
            };
            let err = result.expect_err(kind);
            let ok = match kind {
                "slow host" | "spin" => matches!(err, Error::Timeout { .. }),
                "fuel" => matches!(err, Error::FuelExhausted { .. }),
                "trap" => matches!(&err, Error::Trap { trap_code, .. } if trap_code == "unreachable"),
                "error" => matches!(err, Error::GuestError { .. }),
                "unknown" => matches!(err, Error::UnknownOperation { .. }),
                "memory" => matches!(err, Error::MemoryLimit { .. }),
                "protocol" => matches!(err, Error::Protocol { .. }),
                "oob" => matches!(&err, Error::Trap { trap_code, .. } if trap_code == "host_function"),
                "host call" => matches!(err, Error::HostCallFailed { .. }),
                "stack" => matches!(&err, Error::Trap { trap_code, .. } if trap_code == "stack_overflow"),
                _ => matches!(err, Error::ResponseTooLarge { .. }),
            };
            assert!(ok, "{kind}: unexpected {err:?}");
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("invocation task panicked");
    }

    assert_eq!(rt.stats().instances_in_use, 0);
    for actor in [&mixed, &slow, &starved] {
        assert_eq!(actor.in_flight(), 0);
    }
    assert_eq!(invoke_ok(&mixed, "Echo", b"still fine").await, b"still fine");
}

// ---------------------------------------------------------------------------------------------
// Loading and inspecting modules
// ---------------------------------------------------------------------------------------------

/// Bytes that are not wasm, a truncated module and an unknown binary version are `InvalidModule`
/// errors whose message names the problem — from `load` and from `inspect`. (Components are
/// actors too: tests/components.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bytes_are_invalid_modules() {
    let rt = runtime();
    let valid = guest(ECHO);
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("text", b"hello world, not wasm".to_vec(), "not a WebAssembly binary"),
        ("empty", vec![], "not a WebAssembly binary"),
        ("magic only", b"\0asm".to_vec(), "not a WebAssembly binary"),
        ("unknown version", b"\0asm\x02\x00\x00\x00".to_vec(), "unsupported binary version/layer"),
        ("truncated", valid[..valid.len() / 2].to_vec(), "end"),
    ];
    for (what, bytes, expected) in cases {
        for err in [load_err(&rt, &bytes, ActorLimits::default()), rt.inspect(&bytes).expect_err(what)] {
            let Error::InvalidModule { message } = &err else { panic!("{what}: expected InvalidModule, got {err:?}") };
            assert!(message.contains(expected), "{what}: {message}");
            assert_eq!(err.code(), "WASMESH_ERR_INVALID_MODULE");
        }
    }
    // The header message says what kind of file it was, never its bytes: they may be a host file
    // a caller should not read through an error reply.
    let kinds: [(&[u8], &str); 5] = [
        (b"root:x:0:0:root:/root:/bin/bash\n", "looks like text"),
        (b"\x7fELF\x02\x01\x01\0secret", "an ELF executable"),
        (b"#!/bin/sh\necho secret\n", "a script"),
        (b"", "an empty file"),
        (b"\x01\x02\x03secret\xff\xfe\xfd\xfc", "binary data"),
    ];
    for (bytes, kind) in kinds {
        let message = load_err(&rt, bytes, ActorLimits::default()).to_string();
        assert!(message.contains(kind), "{message}");
        for leak in ["root", "secret", "72 6f 6f 74", "73 65 63", "[", "0x"] {
            assert!(!message.contains(leak), "the message quotes the input ({leak}): {message}");
        }
    }
}

/// A module without `__guest_call`, with a `__guest_call` of the wrong type, or without an
/// exported memory is a `MissingExport` naming the export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_exports_are_reported() {
    let rt = runtime();
    let cases = [
        (r#"(module (memory (export "memory") 1))"#, "__guest_call", "must export `__guest_call"),
        (
            r#"(module (memory (export "memory") 1) (func (export "__guest_call") (param i32) (result i32) (i32.const 1)))"#,
            "__guest_call",
            "waPC requires func (i32, i32) -> (i32)",
        ),
        (r#"(module (memory (export "memory") 1) (global (export "__guest_call") i32 (i32.const 0)))"#, "__guest_call", "requires a function"),
        (r#"(module (memory 1) (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#, "memory", "as `memory`"),
    ];
    for (wat, expected_name, expected_message) in cases {
        let err = load_err(&rt, &wasm(wat), ActorLimits::default());
        let Error::MissingExport { name, message } = &err else { panic!("{wat}: expected MissingExport, got {err:?}") };
        assert_eq!(name, expected_name, "{wat}");
        assert!(message.contains(expected_message), "{wat}: {message}");
        assert_eq!(err.code(), "WASMESH_ERR_MISSING_EXPORT");
    }
}

/// An import the runtime does not provide (`env.foo`), or a `wapc` import of the wrong type, is an
/// `InvalidModule` naming the import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_imports_are_invalid_modules() {
    let rt = runtime();
    let unknown = Guest::new().import(r#"(import "env" "foo" (func $foo))"#).body(ECHO).build();
    let err = load_err(&rt, &unknown, ActorLimits::default());
    let Error::InvalidModule { message } = &err else { panic!("expected InvalidModule, got {err:?}") };
    assert!(message.contains("env") && message.contains("foo"), "{message}");
    assert!(message.contains("wapc"), "the message should say what is provided: {message}");

    let mistyped = wasm(
        r#"(module
            (import "wapc" "__guest_request" (func (param i32)))
            (memory (export "memory") 1)
            (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#,
    );
    let err = load_err(&rt, &mistyped, ActorLimits::default());
    let Error::InvalidModule { message } = &err else { panic!("expected InvalidModule, got {err:?}") };
    assert!(message.contains("__guest_request"), "{message}");
}

/// A module that uses WASI preview1 links and runs (WASI is provided, with no arguments or
/// environment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasi_imports_are_provided() {
    let rt = runtime();
    let mut g = Guest::new();
    g.import(r#"(import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))"#)
        .import(r#"(import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))"#)
        .body(
            ";; poison the output words so the zeros below prove that WASI wrote them
            (memory.fill (i32.const 4096) (i32.const 0xff) (i32.const 24))
            (i32.store (i32.const 4096) (call $args (i32.const 4100) (i32.const 4104)))
            (i32.store (i32.const 4108) (call $env (i32.const 4112) (i32.const 4116)))
            (call $guest_response (i32.const 4096) (i32.const 24)) (return (i32.const 1))",
        );
    let actor = load(&rt, &g.build());
    // errno 0, argc 0, args size 0, errno 0, environ count 0, environ size 0
    assert_eq!(invoke_ok(&actor, "Wasi", b"").await, [0u8; 24]);
}

/// `inspect` reports the hash, size, imports and exports with their types, and whether the
/// module is a valid actor (and if not, why) — without loading it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_describes_modules() {
    let rt = runtime();
    let bytes = guest(ECHO);
    let info = rt.inspect(&bytes).expect("inspect");
    assert!(info.valid_actor);
    assert!(info.problem.is_none());
    assert_eq!(info.size, bytes.len());
    assert_eq!(info.hash, hex::encode(Sha256::digest(&bytes)));

    let import = |name: &str| info.imports.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("import {name}"));
    assert_eq!(info.imports.len(), 9);
    assert!(info.imports.iter().all(|i| i.module == "wapc"));
    assert_eq!(import("__guest_request").ty, "func (i32, i32) -> ()");
    assert_eq!(import("__host_call").ty, "func (i32, i32, i32, i32, i32, i32, i32, i32) -> (i32)");
    assert_eq!(import("__host_response_len").ty, "func () -> (i32)");

    let export = |name: &str| info.exports.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("export {name}"));
    assert_eq!(info.exports.len(), 2);
    assert_eq!(export("__guest_call").ty, "func (i32, i32) -> (i32)");
    assert_eq!(export("memory").ty, "memory 1.. pages");
    assert_eq!(export("memory").module, "");

    let bounded = rt.inspect(&Guest::new().memory("2 5").body(ECHO).build()).expect("inspect");
    assert_eq!(bounded.exports.iter().find(|e| e.name == "memory").expect("memory").ty, "memory 2..5 pages");

    // Not actors: the reason is given, and matches what `load` would say.
    let no_call = wasm(r#"(module (memory (export "memory") 1))"#);
    let info = rt.inspect(&no_call).expect("inspect");
    assert!(!info.valid_actor);
    assert!(matches!(&info.problem, Some(Error::MissingExport { name, .. }) if name == "__guest_call"), "{:?}", info.problem);
    assert_eq!(info.problem, Some(load_err(&rt, &no_call, ActorLimits::default())));

    let env_import = Guest::new().import(r#"(import "env" "foo" (func $foo))"#).body(ECHO).build();
    let info = rt.inspect(&env_import).expect("inspect");
    assert!(!info.valid_actor);
    assert!(info.imports.iter().any(|i| i.module == "env" && i.name == "foo" && i.ty == "func () -> ()"));
    assert!(matches!(&info.problem, Some(Error::InvalidModule { message }) if message.contains("foo")), "{:?}", info.problem);
}

/// A loaded actor knows its hash and limits; loading the same bytes again comes from memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_reports_hash_limits_and_source() {
    let rt = runtime();
    let bytes = guest(ECHO);
    let limits = ActorLimits { max_concurrent: 3, ..ActorLimits::default() };
    let first = load_with(&rt, &bytes, limits, Arc::new(NoHost));
    assert_eq!(first.hash(), blake3::hash(&bytes).to_hex().as_str(), "the cache key is the BLAKE3 digest");
    assert_eq!(first.limits().max_concurrent, 3);
    assert_eq!(first.source(), CacheSource::Compiled);
    assert_eq!(first.in_flight(), 0);

    let second = load(&rt, &bytes);
    assert_eq!(second.source(), CacheSource::Memory);
    assert_eq!(rt.stats().modules_cached, 1);
    load(&rt, &guest(RESPOND_OP));
    assert_eq!(rt.stats().modules_cached, 2);
    assert_eq!(rt.stats().max_instances, 32);

    assert_eq!(CacheSource::Memory.as_str(), "memory");
    assert_eq!(CacheSource::Disk.as_str(), "disk");
    assert_eq!(CacheSource::Compiled.as_str(), "compiled");
}

// ---------------------------------------------------------------------------------------------
// The compiled-module cache on disk
// ---------------------------------------------------------------------------------------------

fn cached_runtime(dir: &TempDir) -> Runtime {
    Runtime::new(RuntimeConfig { max_instances: 8, cache_dir: Some(dir.path().to_path_buf()), ..RuntimeConfig::default() })
        .expect("runtime")
}

/// The first load compiles and writes an artifact; a new runtime on the same directory loads it
/// from disk, and it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_cache_is_reused_across_runtimes() {
    let dir = TempDir::new("cache-reuse");
    let bytes = guest(ECHO);

    let rt = cached_runtime(&dir);
    let actor = load(&rt, &bytes);
    assert_eq!(actor.source(), CacheSource::Compiled);
    assert_eq!(load(&rt, &bytes).source(), CacheSource::Memory);
    let files = artifacts(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].file_name().and_then(|f| f.to_str()), Some(format!("{}.cwasm", actor.hash()).as_str()));
    drop((actor, rt));

    let rt = cached_runtime(&dir);
    let actor = load(&rt, &bytes);
    assert_eq!(actor.source(), CacheSource::Disk);
    assert_eq!(invoke_ok(&actor, "Echo", b"from disk").await, b"from disk");
}

/// Metered (fuel) and standard engines keep separate artifacts, each reused from disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_cache_separates_metered_code() {
    let dir = TempDir::new("cache-metered");
    let bytes = guest(BUSY_100K);
    let metered = ActorLimits { fuel: Some(1_000), ..ActorLimits::default() };

    let rt = cached_runtime(&dir);
    assert_eq!(load(&rt, &bytes).source(), CacheSource::Compiled);
    assert_eq!(load_with(&rt, &bytes, metered.clone(), Arc::new(NoHost)).source(), CacheSource::Compiled);
    assert_eq!(artifacts(dir.path()).len(), 2);
    drop(rt);

    let rt = cached_runtime(&dir);
    let actor = load_with(&rt, &bytes, metered, Arc::new(NoHost));
    assert_eq!(actor.source(), CacheSource::Disk);
    // The artifact from disk is metered code: fuel still runs out.
    assert_eq!(invoke_err(&actor, "Busy", b"", None).await, Error::FuelExhausted { fuel: 1_000 });
    assert_eq!(load(&rt, &bytes).source(), CacheSource::Disk);
}

/// A corrupted or truncated artifact is recompiled (and replaced) instead of failing the load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_disk_cache_is_recompiled() {
    let dir = TempDir::new("cache-corrupt");
    let bytes = guest(ECHO);
    drop(load(&cached_runtime(&dir), &bytes));
    let files = artifacts(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let good = std::fs::read(&files[0]).expect("read artifact");

    let damaged: [(&str, Vec<u8>); 3] = [
        ("garbage", b"this is not a compiled module".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", vec![]),
    ];
    for (what, content) in damaged {
        std::fs::write(&files[0], content).expect("corrupt artifact");
        let rt = cached_runtime(&dir);
        let actor = load(&rt, &bytes);
        assert_eq!(actor.source(), CacheSource::Compiled, "{what}");
        assert_eq!(invoke_ok(&actor, "Echo", what.as_bytes()).await, what.as_bytes());
        // The artifact was rewritten: the next process gets it from disk again.
        assert_eq!(load(&cached_runtime(&dir), &bytes).source(), CacheSource::Disk, "{what}");
    }
}

/// A cache directory that cannot be created is not fatal: modules compile and run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_cache_dir_is_not_fatal() {
    let dir = TempDir::new("cache-unwritable");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let rt = Runtime::new(RuntimeConfig { max_instances: 8, cache_dir: Some(file.join("cache")), ..RuntimeConfig::default() })
        .expect("runtime");
    let actor = load(&rt, &guest(ECHO));
    assert_eq!(actor.source(), CacheSource::Compiled);
    assert_eq!(invoke_ok(&actor, "Echo", b"ok").await, b"ok");
}

// ---------------------------------------------------------------------------------------------
// Configuration, closing, error codes
// ---------------------------------------------------------------------------------------------

/// Out-of-range runtime settings are refused by `Runtime::new` with `Config`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_config_is_validated() {
    let cases = [
        ("max_instances 0", RuntimeConfig { max_instances: 0, ..RuntimeConfig::default() }, "maxInstances"),
        ("max_instances huge", RuntimeConfig { max_instances: 100_001, ..RuntimeConfig::default() }, "maxInstances"),
        ("memory below a page", RuntimeConfig { max_memory_bytes: WASM_PAGE - 1, ..RuntimeConfig::default() }, "maxMemoryBytes"),
        ("memory above 4 GiB", RuntimeConfig { max_memory_bytes: (4 << 30) + 1, ..RuntimeConfig::default() }, "maxMemoryBytes"),
        ("stack too small", RuntimeConfig { max_wasm_stack_bytes: 1024, ..RuntimeConfig::default() }, "maxWasmStackBytes"),
        ("stack too big", RuntimeConfig { max_wasm_stack_bytes: (64 << 20) + 1, ..RuntimeConfig::default() }, "maxWasmStackBytes"),
        ("zero tick", RuntimeConfig { epoch_tick: Duration::ZERO, ..RuntimeConfig::default() }, "epochTick"),
        ("slow tick", RuntimeConfig { epoch_tick: Duration::from_secs(2), ..RuntimeConfig::default() }, "epochTick"),
    ];
    for (what, cfg, expected) in cases {
        assert!(cfg.validate().is_err(), "{what}");
        let err = match Runtime::new(cfg) {
            Ok(_) => panic!("{what}: Runtime::new accepted it"),
            Err(e) => e,
        };
        let Error::Config { message } = &err else { panic!("{what}: expected Config, got {err:?}") };
        assert!(message.contains(expected), "{what}: {message}");
        assert_eq!(err.code(), "WASMESH_ERR_CONFIG");
    }
    assert!(RuntimeConfig::default().validate().is_ok());
}

/// Out-of-range actor limits are refused by `load` with `Config`, before the module is looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_limits_are_validated() {
    let rt = Runtime::new(RuntimeConfig { max_instances: 4, max_memory_bytes: 8 << 20, ..RuntimeConfig::default() }).expect("runtime");
    let base = ActorLimits { max_memory_bytes: 8 << 20, ..ActorLimits::default() };
    let cases = [
        ("memory above the runtime's", ActorLimits { max_memory_bytes: (8 << 20) + WASM_PAGE, ..base.clone() }, "maxMemoryBytes"),
        ("memory below a page", ActorLimits { max_memory_bytes: 1000, ..base.clone() }, "maxMemoryBytes"),
        ("zero timeout", ActorLimits { timeout: Duration::ZERO, ..base.clone() }, "timeout"),
        ("zero fuel", ActorLimits { fuel: Some(0), ..base.clone() }, "fuel"),
        ("zero concurrency", ActorLimits { max_concurrent: 0, ..base.clone() }, "maxConcurrent"),
        ("zero response", ActorLimits { max_response_bytes: 0, ..base.clone() }, "maxResponseBytes"),
    ];
    for (what, limits, expected) in cases {
        // Config problems win even over garbage bytes.
        let err = load_err(&rt, b"not wasm", limits);
        let Error::Config { message } = &err else { panic!("{what}: expected Config, got {err:?}") };
        assert!(message.contains(expected), "{what}: {message}");
    }
    // The runtime's defaults (64 MiB) are over this runtime's 8 MiB slots.
    assert!(matches!(load_err(&rt, &guest(ECHO), ActorLimits::default()), Error::Config { .. }));
    load_with(&rt, &guest(ECHO), base, Arc::new(NoHost));
}

/// After `close`, loads fail with `Closed`, and so do invocations of already-loaded actors;
/// closing twice is harmless.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_runtime_refuses_work() {
    let rt = runtime();
    let bytes = guest(ECHO);
    let actor = load(&rt, &bytes);
    assert_eq!(invoke_ok(&actor, "Echo", b"open").await, b"open");

    rt.close();
    rt.close();
    let err = load_err(&rt, &bytes, ActorLimits::default());
    assert_eq!(err, Error::Closed);
    assert_eq!(err.code(), "WASMESH_ERR_CLOSED");
    assert_eq!(invoke_err(&actor, "Echo", b"closed", None).await, Error::Closed);
}

/// Closing the runtime fails invocations waiting for a pool slot with `Closed`, while the one
/// already running finishes normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_fails_invocations_waiting_for_a_slot() {
    let rt = Runtime::new(RuntimeConfig { max_instances: 1, ..RuntimeConfig::default() }).expect("runtime");
    let host = Arc::new(TestHost::new(|_| Ok(b"done".to_vec())).delayed(ms(300)));
    let mut g = Guest::new();
    let body = g.forward("kv", "store", "Get", "");
    let actor = load_with(&rt, &g.body(&body).build(), ActorLimits::default(), host.clone());

    let running = tokio::spawn({
        let actor = actor.clone();
        async move { actor.invoke("Get", vec![], None).await }
    });
    host.started.notified().await;
    let waiting = tokio::spawn({
        let actor = actor.clone();
        async move { actor.invoke("Get", vec![], None).await }
    });
    tokio::time::sleep(ms(50)).await;
    rt.close();

    assert_eq!(waiting.await.expect("task"), Err(Error::Closed));
    assert_eq!(running.await.expect("task"), Ok(b"done".to_vec()));
}

/// Every variant's `code()` is its documented `WASMESH_ERR_*` value.
#[test]
fn error_codes_are_stable() {
    let s = String::new;
    let cases = [
        (Error::InvalidModule { message: s() }, "WASMESH_ERR_INVALID_MODULE"),
        (Error::MissingExport { name: s(), message: s() }, "WASMESH_ERR_MISSING_EXPORT"),
        (Error::Trap { trap_code: s(), message: s(), backtrace: None }, "WASMESH_ERR_TRAP"),
        (Error::Timeout { timeout: ms(1), queued: false }, "WASMESH_ERR_TIMEOUT"),
        (Error::MemoryLimit { limit_bytes: 0, requested_bytes: 0 }, "WASMESH_ERR_MEMORY_LIMIT"),
        (Error::FuelExhausted { fuel: 0 }, "WASMESH_ERR_FUEL_EXHAUSTED"),
        (Error::HostCallFailed { target: s(), host_message: s(), guest_message: s() }, "WASMESH_ERR_HOST_CALL_FAILED"),
        (Error::GuestError { message: s() }, "WASMESH_ERR_GUEST_ERROR"),
        (Error::UnknownOperation { operation: s(), message: s() }, "WASMESH_ERR_UNKNOWN_OPERATION"),
        (Error::ResponseTooLarge { size: 0, limit: 0 }, "WASMESH_ERR_RESPONSE_TOO_LARGE"),
        (Error::Protocol { message: s() }, "WASMESH_ERR_GUEST_PROTOCOL"),
        (Error::BadRequest { message: s() }, "WASMESH_ERR_BAD_REQUEST"),
        (Error::Config { message: s() }, "WASMESH_ERR_CONFIG"),
        (Error::Closed, "WASMESH_ERR_CLOSED"),
        (Error::Internal { message: s() }, "WASMESH_ERR_INTERNAL"),
    ];
    for (err, code) in &cases {
        assert_eq!(err.code(), *code, "{err:?}");
    }
    let mut codes: Vec<&str> = cases.iter().map(|(e, _)| e.code()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), cases.len(), "codes must be distinct");
}

/// Error messages carry the details a user needs.
#[test]
fn error_messages_are_descriptive() {
    assert_eq!(
        Error::Timeout { timeout: ms(250), queued: true }.to_string(),
        "invocation exceeded its deadline of 250 ms while waiting for a free slot"
    );
    assert_eq!(Error::Timeout { timeout: ms(250), queued: false }.to_string(), "invocation exceeded its deadline of 250 ms");
    assert_eq!(
        Error::MemoryLimit { limit_bytes: 1024, requested_bytes: 2048 }.to_string(),
        "guest exceeded its memory limit of 1024 bytes (asked for 2048)"
    );
    assert_eq!(Error::ResponseTooLarge { size: 17, limit: 16 }.to_string(), "guest response of 17 bytes exceeds the limit of 16 bytes");
}
