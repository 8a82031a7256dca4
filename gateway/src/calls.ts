/**
 * Adapters from async functions to grpc-js handlers: every rpc gets the same treatment — the NATS
 * connection checked first (UNAVAILABLE while it is down), the client's deadline bounding the
 * lattice call, cancellation as an AbortSignal, and every failure mapped by {@link toServiceError}.
 */
import type {
  Deadline,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerUnaryCall,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { WasmeshError, type Logger } from '@wasmesh/lattice';
import { toServiceError } from './status.js';

/** What a handler knows about its call. */
export interface CallContext {
  /** The rpc's name, e.g. `Control.GetInventory` (for messages). */
  readonly rpc: string;
  /** Milliseconds left until the client's deadline; `Infinity` without one. */
  remainingMs(): number;
  /**
   * The time the lattice call may take: `defaultMs`, shortened to the client's deadline. Throws
   * `WASMESH_ERR_TIMEOUT` when the deadline has already passed.
   */
  budget(defaultMs: number): number;
  /** Aborted when the client cancels the call (or its deadline passes). */
  readonly signal: AbortSignal;
}

/** Checks run before every call (the NATS connection is up), throwing a {@link WasmeshError} when not. */
export type Precondition = () => void;

function deadlineMs(deadline: Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

function contextOf(rpc: string, call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>) {
  const deadline = deadlineMs(call.getDeadline());
  const abort = new AbortController();
  call.on('cancelled', () =>
    abort.abort(new WasmeshError('WASMESH_ERR_TIMEOUT', `${rpc}: the client cancelled the call`)),
  );
  const remainingMs = (): number => (Number.isFinite(deadline) ? deadline - Date.now() : Number.POSITIVE_INFINITY);
  const ctx: CallContext = {
    rpc,
    remainingMs,
    budget(defaultMs) {
      const left = remainingMs();
      if (left <= 0) throw deadlinePassed(rpc);
      return Math.max(1, Math.floor(Math.min(defaultMs, left)));
    },
    signal: abort.signal,
  };
  return ctx;
}

function deadlinePassed(rpc: string): WasmeshError {
  return new WasmeshError('WASMESH_ERR_TIMEOUT', `${rpc}: the gRPC deadline of the call passed`, {
    details: { rpc },
  });
}

/** Settles with `work`, or rejects with `WASMESH_ERR_TIMEOUT` once the call's deadline passes. */
function withinDeadline<T>(ctx: CallContext, work: Promise<T>): Promise<T> {
  const left = ctx.remainingMs();
  if (!Number.isFinite(left)) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadlinePassed(ctx.rpc)), Math.max(0, left));
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** A unary handler running `fn` under the shared treatment. */
export function unary<Req, Res>(
  rpc: string,
  pre: Precondition,
  logger: Logger,
  fn: (req: Req, ctx: CallContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const ctx = contextOf(rpc, call as ServerUnaryCall<unknown, unknown>);
    void (async () => {
      try {
        pre();
        callback(null, await withinDeadline(ctx, fn(call.request, ctx)));
      } catch (err) {
        logger.debug({ rpc, err }, 'gRPC call failed');
        callback(toServiceError(err));
      }
    })();
  };
}

/**
 * A server-streaming handler: `fn` writes messages with `send` and resolves when the stream is
 * complete (ended then), or rejects (the stream ends with the mapped status).
 */
export function serverStream<Req, Res>(
  rpc: string,
  pre: Precondition,
  logger: Logger,
  fn: (req: Req, ctx: CallContext, send: (msg: Res) => void) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const ctx = contextOf(rpc, call as ServerWritableStream<unknown, unknown>);
    void (async () => {
      try {
        pre();
        await fn(call.request, ctx, (msg) => {
          if (!call.cancelled) call.write(msg);
        });
        if (!call.cancelled) call.end();
      } catch (err) {
        logger.debug({ rpc, err }, 'gRPC stream failed');
        if (!call.cancelled) call.emit('error', toServiceError(err));
      }
    })();
  };
}

/**
 * Checks that the string fields `fields` of request `req` of message `message` are set;
 * `WASMESH_ERR_BAD_REQUEST` (INVALID_ARGUMENT) naming the first missing one otherwise.
 */
export function required<T extends object>(message: string, req: T, ...fields: (keyof T & string)[]): T {
  for (const f of fields) {
    const v = req[f];
    if (typeof v !== 'string' || v.trim() === '') {
      const snake = f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `${message}.${snake} is required and was empty`, {
        details: { message, field: snake },
      });
    }
  }
  return req;
}
