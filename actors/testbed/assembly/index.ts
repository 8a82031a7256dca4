// testbed: an actor that misbehaves on request, for the runtime's tests. Not an example to copy.
import { callActor, hostCall, log, register, Result } from "../../sdk/assembly";
import { header, HttpRequest, HttpServer, response, textResponse } from "../../sdk/assembly/contracts/httpserver";
export { __guest_call } from "../../sdk/assembly";

function trap(_p: ArrayBuffer): Result {
  abort("deliberate trap");
  return Result.err("unreachable");
}

function spin(_p: ArrayBuffer): Result {
  let i: u64 = 0;
  while (true) {
    i++;
    if (i == 0) break; // never: keeps the loop from being optimised away
  }
  return Result.okText(i.toString());
}

function growMemory(_p: ArrayBuffer): Result {
  // Grow one page at a time until the host stops us.
  while (memory.grow(1) >= 0) {}
  return Result.err("memory.grow failed without the host stopping the guest");
}

function depth(n: u64): u64 {
  return n == 0 ? 0 : depth(n - 1) + 1;
}

function recurse(_p: ArrayBuffer): Result {
  return Result.okText(depth(u64.MAX_VALUE).toString());
}

/** Responds with N bytes, N given as decimal text. */
function huge(p: ArrayBuffer): Result {
  const n = I32.parseInt(String.UTF8.decode(p));
  return Result.ok(new ArrayBuffer(n));
}

/** Forwards the payload to the host as binding "default", namespace "testbed", operation "Forward". */
function forward(p: ArrayBuffer): Result {
  const r = hostCall("default", "testbed", "Forward", p);
  if (!r.isOk) return Result.err("host call failed: " + r.error!);
  return r;
}

function logLines(p: ArrayBuffer): Result {
  log("testbed says: " + String.UTF8.decode(p));
  return Result.okText("logged");
}

@external("wapc", "__console_log")
declare function consoleLog(ptr: usize, len: usize): void;

/** Logs one 64 KiB line as many times as the payload says (a guest flooding the host log). */
function logFlood(p: ArrayBuffer): Result {
  const times = I32.parseInt(String.UTF8.decode(p));
  const line = String.UTF8.encode("x".repeat(64 * 1024));
  for (let i = 0; i < times; i++) consoleLog(changetype<usize>(line), line.byteLength);
  return Result.okText("flooded");
}

/** Calls another actor: payload "<actorId>/<operation>/<data>", answers with its response. */
function relay(p: ArrayBuffer): Result {
  const text = String.UTF8.decode(p);
  const first = text.indexOf("/");
  const second = first < 0 ? -1 : text.indexOf("/", first + 1);
  if (second < 0) return Result.err("relay expects <actorId>/<operation>/<data>, got \"" + text + "\"");
  const r = callActor(text.substring(0, first), text.substring(first + 1, second), String.UTF8.encode(text.substring(second + 1)));
  if (!r.isOk) return Result.err("relay failed: " + r.error!);
  return r;
}

/**
 * Calls a capability contract: payload "<contract>/<linkName>/<operation>/<data>", answers with the
 * provider's response (or fails with the host's error).
 */
function callContract(p: ArrayBuffer): Result {
  const text = String.UTF8.decode(p);
  const a = text.indexOf("/");
  const b = a < 0 ? -1 : text.indexOf("/", a + 1);
  const c = b < 0 ? -1 : text.indexOf("/", b + 1);
  if (c < 0) return Result.err("CallContract expects <contract>/<linkName>/<operation>/<data>, got \"" + text + "\"");
  const r = hostCall(text.substring(a + 1, b), text.substring(0, a), text.substring(b + 1, c), String.UTF8.encode(text.substring(c + 1)));
  if (!r.isOk) return Result.err("contract call failed: " + r.error!);
  return r;
}

function fail(p: ArrayBuffer): Result {
  return Result.err("failing on purpose: " + String.UTF8.decode(p));
}

/**
 * HTTP (for the http-server provider's tests), by path:
 *   /echo         200 with "<method> <path>?<query>" and the request's headers as
 *                 "x-echo-<name>: <value>" response headers; the body is echoed after a newline
 *   /status/<n>   answers with status n
 *   /badheader    answers with a header name the HTTP server must refuse
 *   /spin         never answers (loops until the host's deadline)
 *   /trap         traps
 *   /fail         returns a guest error
 */
function handleRequest(payload: ArrayBuffer): Result {
  const req = HttpRequest.decode(payload);
  if (req.error !== null) return Result.err("malformed request: " + req.error!);
  const path = req.path;
  if (path.endsWith("/spin")) return spin(payload);
  if (path.endsWith("/trap")) return trap(payload);
  if (path.endsWith("/fail")) return Result.err("testbed refuses " + path);
  if (path.endsWith("/badheader")) {
    const r = textResponse(200, "bad\n");
    r.headers.push(header("bad header", "x"));
    return Result.ok(r.encode());
  }
  const status = path.lastIndexOf("/status/");
  if (status >= 0) return Result.ok(textResponse(<u32>I32.parseInt(path.substring(status + 8)), "status\n").encode());
  const head = String.UTF8.encode(req.method + " " + path + "?" + req.query + "\n");
  const body = new Uint8Array(head.byteLength + req.body.byteLength);
  body.set(Uint8Array.wrap(head), 0);
  body.set(Uint8Array.wrap(req.body), head.byteLength);
  const r = response(200, body.buffer);
  for (let i = 0; i < req.headers.length; i++) r.headers.push(header("x-echo-" + req.headers[i].name, req.headers[i].value));
  return Result.ok(r.encode());
}

register("Trap", trap);
register(HttpServer.HandleRequest, handleRequest);
register("Spin", spin);
register("GrowMemory", growMemory);
register("Recurse", recurse);
register("Huge", huge);
register("Forward", forward);
register("Log", logLines);
register("LogFlood", logFlood);
register("Fail", fail);
register("Relay", relay);
register("CallContract", callContract);
