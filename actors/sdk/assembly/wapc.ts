// The waPC guest ABI for AssemblyScript: handler registration, the `__guest_call` export, host calls
// and logging. The host side is wasmesh's runtime, but any waPC host runs these actors.
import { ACTOR } from "./gen/contracts/actor";

@external("wapc", "__guest_request")
declare function guestRequest(opPtr: usize, ptr: usize): void;
@external("wapc", "__guest_response")
declare function guestResponse(ptr: usize, len: usize): void;
@external("wapc", "__guest_error")
declare function guestError(ptr: usize, len: usize): void;
@external("wapc", "__host_call")
declare function hostCallRaw(
  bindingPtr: usize, bindingLen: usize,
  namespacePtr: usize, namespaceLen: usize,
  operationPtr: usize, operationLen: usize,
  payloadPtr: usize, payloadLen: usize,
): bool;
@external("wapc", "__host_response_len")
declare function hostResponseLen(): usize;
@external("wapc", "__host_response")
declare function hostResponse(ptr: usize): void;
@external("wapc", "__host_error_len")
declare function hostErrorLen(): usize;
@external("wapc", "__host_error")
declare function hostError(ptr: usize): void;
@external("wapc", "__console_log")
declare function consoleLog(ptr: usize, len: usize): void;

/** The outcome of a handler or a host call: bytes, or an error message. */
export class Result {
  constructor(public readonly value: ArrayBuffer | null, public readonly error: string | null) {}

  /** A successful result carrying `value`. */
  static ok(value: ArrayBuffer): Result {
    return new Result(value, null);
  }

  /** A successful result carrying the UTF-8 bytes of `text`. */
  static okText(text: string): Result {
    return new Result(String.UTF8.encode(text), null);
  }

  /** A failed result; the caller sees `message` as the guest's error. */
  static err(message: string): Result {
    return new Result(null, message);
  }

  get isOk(): bool {
    return this.error === null;
  }

  /** The value; aborts (traps) when called on an error. */
  unwrap(): ArrayBuffer {
    if (this.error !== null) abort(this.error);
    return this.value!;
  }
}

/** A handler takes the request payload and returns a {@link Result}. */
export type Handler = (payload: ArrayBuffer) => Result;

const handlers = new Map<string, Handler>();

/** Registers `handler` for `operation` (by convention `<Service>.<Method>`). */
export function register(operation: string, handler: Handler): void {
  handlers.set(operation, handler);
}

function fail(message: string): bool {
  const bytes = String.UTF8.encode(message);
  guestError(changetype<usize>(bytes), bytes.byteLength);
  return false;
}

/**
 * The waPC entry point. Re-export it from your actor's entry file:
 * `export { __guest_call } from "../../sdk/assembly";`
 */
export function __guest_call(operationLen: usize, payloadLen: usize): bool {
  const op = new ArrayBuffer(<i32>operationLen);
  const payload = new ArrayBuffer(<i32>payloadLen);
  guestRequest(changetype<usize>(op), changetype<usize>(payload));
  const operation = String.UTF8.decode(op);
  if (!handlers.has(operation)) {
    // The same wording as wapc-rs, so hosts can recognise an unknown operation.
    return fail('No handler registered for function "' + operation + '"');
  }
  const handler = handlers.get(operation);
  const result = handler(payload);
  if (result.error !== null) return fail(result.error!);
  const out = result.value!;
  guestResponse(changetype<usize>(out), out.byteLength);
  return true;
}

/**
 * Calls the host: `binding` selects a link, `namespace` a contract or target, `operation` the
 * method. The guest is suspended until the host answers; errors come back as `Result.err`.
 */
export function hostCall(binding: string, namespace: string, operation: string, payload: ArrayBuffer): Result {
  const b = String.UTF8.encode(binding);
  const n = String.UTF8.encode(namespace);
  const o = String.UTF8.encode(operation);
  const ok = hostCallRaw(
    changetype<usize>(b), b.byteLength,
    changetype<usize>(n), n.byteLength,
    changetype<usize>(o), o.byteLength,
    changetype<usize>(payload), payload.byteLength,
  );
  if (ok) {
    const out = new ArrayBuffer(<i32>hostResponseLen());
    hostResponse(changetype<usize>(out));
    return Result.ok(out);
  }
  const err = new ArrayBuffer(<i32>hostErrorLen());
  hostError(changetype<usize>(err));
  return Result.err(String.UTF8.decode(err));
}

/** The contract id of actor-to-actor calls (generated from proto/wasmesh/contracts/v1/actor.proto). */
export const ACTOR_CONTRACT: string = ACTOR;

/** Calls `operation` of actor `actorId` anywhere in the lattice (within this invocation's deadline). */
export function callActor(actorId: string, operation: string, payload: ArrayBuffer): Result {
  return hostCall(actorId, ACTOR_CONTRACT, operation, payload);
}

/** Writes one line to the host's log. */
export function log(message: string): void {
  const bytes = String.UTF8.encode(message);
  consoleLog(changetype<usize>(bytes), bytes.byteLength);
}

/**
 * AssemblyScript's abort handler (wired with `--use abort=`): reports the reason as the guest error
 * and traps, so the host shows both the trap and why.
 */
export function abortHandler(
  message: string | null = null,
  fileName: string | null = null,
  line: u32 = 0,
  column: u32 = 0,
): void {
  let text = "abort";
  if (message !== null) text = message;
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const bytes = String.UTF8.encode(text);
  guestError(changetype<usize>(bytes), bytes.byteLength);
  unreachable();
}
