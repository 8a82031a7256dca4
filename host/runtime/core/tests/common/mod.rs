//! Helpers shared by the runtime's integration tests: a builder for waPC guests written in WAT,
//! a scriptable test [`Host`], runtime/actor shortcuts and a self-cleaning temporary directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use wasmesh_runtime::{Actor, ActorLimits, Error, Host, HostCall, HostCallFuture, LogLevel, Runtime, RuntimeConfig};

// Guest memory layout used by every guest built with [`Guest`].

/// Where `__guest_request` writes the operation name.
pub const OP: u32 = 0;
/// Constant strings (data segments) are laid out from here.
pub const STRINGS: u32 = 1024;
/// Scratch space: host responses and errors are copied here, messages assembled here.
pub const SCRATCH: u32 = 4096;
/// Where `__guest_request` writes the payload.
pub const PAYLOAD: u32 = 8192;

/// Responds with the request payload.
pub const ECHO: &str = "(call $guest_response (i32.const 8192) (local.get $msg_len)) (return (i32.const 1))";
/// Responds with the operation name.
pub const RESPOND_OP: &str = "(call $guest_response (i32.const 0) (local.get $op_len)) (return (i32.const 1))";
/// Traps with `unreachable`.
pub const UNREACHABLE: &str = "(unreachable)";
/// Loops forever.
pub const SPIN: &str = "(loop $spin (br $spin))";
/// Recurses without end (a stack overflow).
pub const RECURSE: &str = "(drop (call $recurse (i32.const 0)))";
/// Returns 7 from `__guest_call`, which waPC does not allow.
pub const RETURN_7: &str = "(return (i32.const 7))";
/// Responds with a buffer that runs past the end of a one-page memory.
pub const OOB_RESPONSE: &str = "(call $guest_response (i32.const 65530) (i32.const 16)) (return (i32.const 1))";
/// Counts down from 100 000 (about half a million units of fuel), then responds with "done".
pub const BUSY_100K: &str = "(local.set $i (i32.const 100000))
    (loop $count (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $count (local.get $i)))
    (i32.store (i32.const 4096) (i32.const 0x656e6f64)) ;; \"done\"
    (call $guest_response (i32.const 4096) (i32.const 4)) (return (i32.const 1))";

/// Grows memory by `pages` and responds with `memory.grow`'s result (the old size, or -1) as an i32 LE.
pub fn grow(pages: u32) -> String {
    format!(
        "(i32.store (i32.const 4096) (memory.grow (i32.const {pages})))
        (call $guest_response (i32.const 4096) (i32.const 4)) (return (i32.const 1))"
    )
}

/// Escapes bytes for a WAT string literal.
fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A waPC guest under construction. It imports the whole `wapc` module, exports a memory and
/// `__guest_call`, whose body starts by calling `__guest_request(OP, PAYLOAD)` and then runs the
/// body given to [`Guest::body`]. Bodies must end every path with a `return` (or trap or loop):
/// falling off the end is `unreachable`. Locals `$i` and `$n` (i32) are free for bodies to use.
pub struct Guest {
    memory: String,
    imports: Vec<String>,
    items: Vec<String>,
    strings: Vec<(u32, Vec<u8>)>,
    next_string: u32,
    body: String,
}

impl Default for Guest {
    fn default() -> Self {
        Self::new()
    }
}

impl Guest {
    /// A guest with a one-page memory and an empty body.
    pub fn new() -> Self {
        Self { memory: "1".into(), imports: Vec::new(), items: Vec::new(), strings: Vec::new(), next_string: STRINGS, body: String::new() }
    }

    /// Sets the memory's limits, as in `(memory min max?)`, e.g. `"4"` or `"1 2"`.
    pub fn memory(&mut self, limits: &str) -> &mut Self {
        self.memory = limits.to_owned();
        self
    }

    /// Adds an import (placed after the `wapc` imports).
    pub fn import(&mut self, wat: &str) -> &mut Self {
        self.imports.push(wat.to_owned());
        self
    }

    /// Adds a module item: a function, global, export…
    pub fn item(&mut self, wat: &str) -> &mut Self {
        self.items.push(wat.to_owned());
        self
    }

    /// Sets `__guest_call`'s body (after `__guest_request`).
    pub fn body(&mut self, wat: &str) -> &mut Self {
        self.body = wat.to_owned();
        self
    }

    /// Places `text` in a data segment; returns its pointer and length.
    pub fn string(&mut self, text: &str) -> (u32, u32) {
        let ptr = self.next_string;
        let len = text.len() as u32;
        assert!(ptr + len <= SCRATCH, "guest strings overflow their area");
        self.strings.push((ptr, text.as_bytes().to_vec()));
        self.next_string += len;
        (ptr, len)
    }

    /// Body snippet: fails through `__guest_error` with `message`.
    pub fn fail(&mut self, message: &str) -> String {
        let (p, n) = self.string(message);
        format!("(call $guest_error (i32.const {p}) (i32.const {n})) (return (i32.const 0))")
    }

    /// Body snippet: responds with `text`.
    pub fn respond(&mut self, text: &str) -> String {
        let (p, n) = self.string(text);
        format!("(call $guest_response (i32.const {p}) (i32.const {n})) (return (i32.const 1))")
    }

    /// Body snippet: fails the way wapc-rs does for an unknown operation,
    /// `No handler registered for function "<op>"`, quoting the operation it was asked for.
    pub fn unknown_operation(&mut self) -> String {
        let (p, n) = self.string("No handler registered for function \"");
        let after = SCRATCH + n;
        format!(
            "(memory.copy (i32.const {SCRATCH}) (i32.const {p}) (i32.const {n}))
            (memory.copy (i32.const {after}) (i32.const {OP}) (local.get $op_len))
            (i32.store8 (i32.add (i32.const {after}) (local.get $op_len)) (i32.const 34))
            (call $guest_error (i32.const {SCRATCH}) (i32.add (local.get $op_len) (i32.const {})))
            (return (i32.const 0))",
            n + 1
        )
    }

    /// Expression (an i32, 1 = ok): `__host_call(binding, namespace, operation, <the request payload>)`.
    pub fn host_call(&mut self, binding: &str, namespace: &str, operation: &str) -> String {
        let (bp, bl) = self.string(binding);
        let (np, nl) = self.string(namespace);
        let (op, ol) = self.string(operation);
        format!(
            "(call $host_call (i32.const {bp}) (i32.const {bl}) (i32.const {np}) (i32.const {nl}) \
             (i32.const {op}) (i32.const {ol}) (i32.const {PAYLOAD}) (local.get $msg_len))"
        )
    }

    /// Body snippet: makes a host call and responds with the host's response; when the host
    /// call fails, fails with `"<prefix><host error>"` (read through `__host_error`).
    pub fn forward(&mut self, binding: &str, namespace: &str, operation: &str, prefix: &str) -> String {
        let call = self.host_call(binding, namespace, operation);
        let (p, n) = self.string(prefix);
        let after = SCRATCH + n;
        format!(
            "(if (i32.eqz {call}) (then
                (memory.copy (i32.const {SCRATCH}) (i32.const {p}) (i32.const {n}))
                (call $host_error (i32.const {after}))
                (call $guest_error (i32.const {SCRATCH}) (i32.add (call $host_error_len) (i32.const {n})))
                (return (i32.const 0))))
            (call $host_response (i32.const {SCRATCH}))
            (call $guest_response (i32.const {SCRATCH}) (call $host_response_len))
            (return (i32.const 1))"
        )
    }

    /// Body snippet: picks a body by the first byte of the operation name, else runs `default`.
    pub fn dispatch(cases: &[(char, &str)], default: &str) -> String {
        let mut out = String::new();
        for (c, body) in cases {
            out.push_str(&format!(
                "(if (i32.eq (i32.load8_u (i32.const {OP})) (i32.const {})) (then {body}))\n",
                *c as u32
            ));
        }
        out.push_str(default);
        out
    }

    /// The module's WAT text.
    pub fn wat(&self) -> String {
        let data: String =
            self.strings.iter().map(|(p, b)| format!("  (data (i32.const {p}) \"{}\")\n", wat_bytes(b))).collect();
        format!(
            r#"(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
  {imports}
  (memory (export "memory") {memory})
{data}
  {items}
  (func $recurse (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $__guest_call (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (local $i i32) (local $n i32)
    (call $guest_request (i32.const {OP}) (i32.const {PAYLOAD}))
    {body}
    (unreachable)))
"#,
            imports = self.imports.join("\n  "),
            memory = self.memory,
            items = self.items.join("\n  "),
            body = self.body,
        )
    }

    /// Compiles the module to wasm bytes.
    pub fn build(&self) -> Vec<u8> {
        let wat = self.wat();
        wat::parse_str(&wat).unwrap_or_else(|e| panic!("test guest does not compile: {e}\n{wat}"))
    }
}

/// A guest whose `__guest_call` body is `body`.
pub fn guest(body: &str) -> Vec<u8> {
    Guest::new().body(body).build()
}

/// Compiles a complete WAT module.
pub fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap_or_else(|e| panic!("test module does not compile: {e}\n{wat}"))
}

type Responder = dyn Fn(&HostCall) -> Result<Vec<u8>, String> + Send + Sync;

/// A [`Host`] whose host calls answer with a closure (after an optional delay), recording every
/// call and log line, and signalling `started` when a host call begins.
pub struct TestHost {
    respond: Box<Responder>,
    delay: Duration,
    pub calls: Mutex<Vec<HostCall>>,
    pub logs: Mutex<Vec<(LogLevel, String)>>,
    pub started: Arc<Notify>,
}

impl TestHost {
    /// A host answering every host call with `respond`.
    pub fn new(respond: impl Fn(&HostCall) -> Result<Vec<u8>, String> + Send + Sync + 'static) -> Self {
        Self {
            respond: Box::new(respond),
            delay: Duration::ZERO,
            calls: Mutex::default(),
            logs: Mutex::default(),
            started: Arc::new(Notify::new()),
        }
    }

    /// Answers only after `delay` (a tokio sleep, so the guest stays suspended meanwhile).
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn calls(&self) -> Vec<HostCall> {
        self.calls.lock().unwrap().clone()
    }

    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.lock().unwrap().clone()
    }
}

impl Host for TestHost {
    fn host_call(&self, call: HostCall) -> HostCallFuture {
        let result = (self.respond)(&call);
        self.calls.lock().unwrap().push(call);
        self.started.notify_one();
        let delay = self.delay;
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            result
        })
    }

    fn log(&self, _invocation: u64, level: LogLevel, line: String) {
        self.logs.lock().unwrap().push((level, line));
    }
}

/// The runtime most tests use: default settings with a smaller pool.
pub fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig { max_instances: 32, ..RuntimeConfig::default() }).expect("runtime")
}

/// Loads `wasm` with `limits` and `host`, panicking with the error if that fails.
pub fn load_with(rt: &Runtime, wasm: &[u8], limits: ActorLimits, host: Arc<dyn Host>) -> Actor {
    rt.load(wasm, limits, host).unwrap_or_else(|e| panic!("load failed: {e} ({e:?})"))
}

/// Loads `wasm` with default limits and a host that refuses host calls.
pub fn load(rt: &Runtime, wasm: &[u8]) -> Actor {
    load_with(rt, wasm, ActorLimits::default(), Arc::new(wasmesh_runtime::NoHost))
}

/// The error `load` fails with (panics if it succeeds).
pub fn load_err(rt: &Runtime, wasm: &[u8], limits: ActorLimits) -> Error {
    match rt.load(wasm, limits, Arc::new(wasmesh_runtime::NoHost)) {
        Ok(_) => panic!("load succeeded, but an error was expected"),
        Err(e) => e,
    }
}

/// Invokes and expects an error.
pub async fn invoke_err(actor: &Actor, op: &str, payload: &[u8], timeout: Option<Duration>) -> Error {
    match actor.invoke(op, payload.to_vec(), timeout).await {
        Ok(r) => panic!("invoke `{op}` succeeded with {:?}, but an error was expected", String::from_utf8_lossy(&r)),
        Err(e) => e,
    }
}

/// Invokes and expects a response.
pub async fn invoke_ok(actor: &Actor, op: &str, payload: &[u8]) -> Vec<u8> {
    actor.invoke(op, payload.to_vec(), None).await.unwrap_or_else(|e| panic!("invoke `{op}` failed: {e} ({e:?})"))
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wasmesh-test-{tag}-{}-{nanos}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every `.cwasm` file under `dir`, recursively.
pub fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "cwasm") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
