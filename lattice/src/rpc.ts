/**
 * Request/reply over NATS with deadlines and typed failures, scatter-gather for questions every
 * host answers, and the server side that turns a handler's result or exception into a reply.
 */
import {
  errors as natsErrors,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { errorReply, okReply, unwrapReply } from './codec.js';
import { newInbox } from './connection.js';
import { onRefusal, permissionDenied } from './auth/denied.js';
import { WasmeshError } from './errors.js';
import type { Logger } from './logger.js';
import { contextFrom, inSpan, SpanKind, traceHeaders } from './tracing.js';

/** Options of {@link request}. */
export interface RequestOptions {
  timeoutMs: number;
  headers?: MsgHdrs;
  /** Fields added to errors (actor id, operation, host id…). */
  context?: Record<string, unknown>;
  /** What is being asked, for messages: "invocation of echo", "inventory of host N…". */
  what: string;
}

/** Maps a nats.js request failure to `WASMESH_ERR_NO_RESPONDERS` / `WASMESH_ERR_TIMEOUT` / `WASMESH_ERR_NOT_CONNECTED`. */
export function requestFailure(err: unknown, options: RequestOptions): WasmeshError {
  if (err instanceof WasmeshError) return err;
  const details = { ...(options.context ?? {}) };
  const noResponders =
    err instanceof natsErrors.NoRespondersError ||
    (err instanceof natsErrors.RequestError && err.isNoResponders()) ||
    (err as Error)?.cause instanceof natsErrors.NoRespondersError;
  if (noResponders) {
    return new WasmeshError('WASMESH_ERR_NO_RESPONDERS', `no one answered the ${options.what}`, {
      cause: err,
      details,
    });
  }
  if (err instanceof natsErrors.TimeoutError || (err as Error)?.cause instanceof natsErrors.TimeoutError) {
    return new WasmeshError('WASMESH_ERR_TIMEOUT', `the ${options.what} got no reply within ${options.timeoutMs} ms`, {
      cause: err,
      details: { ...details, timeoutMs: options.timeoutMs },
    });
  }
  const denied = permissionDenied(err, `the ${options.what}`, details);
  if (denied) return denied;
  if (err instanceof natsErrors.ClosedConnectionError || err instanceof natsErrors.DrainingConnectionError) {
    return new WasmeshError('WASMESH_ERR_NOT_CONNECTED', `the ${options.what} failed: the NATS connection is closed`, {
      cause: err,
      details,
    });
  }
  return new WasmeshError('WASMESH_ERR_INTERNAL', `the ${options.what} failed: ${(err as Error)?.message ?? err}`, {
    cause: err,
    details,
  });
}

/**
 * The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days). A longer one fires after
 * 1 ms: a request allowed to wait 2^31 ms (a `timeout_ms` of `Messaging.Request` is a uint32)
 * failed at once with a timeout (found by fuzzing). Requests cut longer waits to this; so does
 * any other wait whose length comes from a message.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A request waiting to be published. */
interface Outgoing {
  subject: string;
  data: Uint8Array;
  reply: string;
  headers: MsgHdrs | undefined;
  fail: (err: unknown) => void;
}

/**
 * Request/reply multiplexed over one inbox subscription per connection. nats.js's own `request()`
 * builds two Error objects (with stack traces) per call to report a possible timeout; on a busy
 * client that is the largest cost of a call. Here a timeout costs a timer, and an error object is
 * built only when a call actually fails.
 *
 * Requests are published together once the event loop's current phase is done (`setImmediate`):
 * nats.js writes to the socket once per microtask checkpoint, and a server handling many
 * connections (the HTTP provider) reaches one per I/O callback, so publishing each request at
 * once costs a system call each. Batched, the requests that arrived in one poll phase share one
 * write, for a delay of the rest of that phase.
 */
class Requester {
  readonly #inbox: string;
  readonly #pending = new Map<
    string,
    { resolve: (m: Msg) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout; subject: string }
  >();
  #outbox: Outgoing[] = [];
  #next = 0;

  constructor(private readonly nc: NatsConnection) {
    this.#inbox = newInbox(nc);
    nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const token = msg.subject.slice(this.#inbox.length + 1);
        const p = this.#pending.get(token);
        if (!p) return;
        this.#pending.delete(token);
        clearTimeout(p.timer);
        // The server answers a request nobody subscribes to with a 503 status message.
        if (msg.headers?.hasError && msg.headers.code === 503) p.reject(new natsErrors.NoRespondersError(p.subject));
        else p.resolve(msg);
      },
    });
    // The server refuses a publish asynchronously (an -ERR, no reply ever comes): requests to that
    // subject fail now, with the refusal, rather than at their deadline.
    const inbox = this.#inbox;
    onRefusal(nc, (denied, err) => {
      const inboxRefused = denied.operation === 'subscription' && denied.subject.startsWith(inbox);
      for (const [token, p] of this.#pending) {
        if (inboxRefused || (denied.operation === 'publish' && p.subject === denied.subject)) {
          this.#pending.delete(token);
          clearTimeout(p.timer);
          p.reject(err);
        }
      }
    });
    // Requests still waiting when the connection closes fail now: their timers would otherwise keep
    // a process that is done (a CLI that closed its connection) alive until their deadline.
    void nc.closed().then(() => {
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new natsErrors.ClosedConnectionError());
      }
      this.#pending.clear();
    });
  }

  request(subject: string, data: Uint8Array, timeoutMs: number, headers: MsgHdrs | undefined): Promise<Msg> {
    const token = (this.#next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.#pending.delete(token);
          reject(new natsErrors.TimeoutError());
        },
        Math.min(timeoutMs, MAX_TIMER_MS),
      );
      this.#pending.set(token, { resolve, reject, timer, subject });
      const fail = (err: unknown): void => {
        this.#pending.delete(token);
        clearTimeout(timer);
        reject(err);
      };
      if (this.#outbox.push({ subject, data, reply: `${this.#inbox}.${token}`, headers, fail }) === 1) {
        setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    const batch = this.#outbox;
    this.#outbox = [];
    for (const o of batch) {
      try {
        this.nc.publish(o.subject, o.data, { reply: o.reply, ...(o.headers ? { headers: o.headers } : {}) });
      } catch (err) {
        o.fail(err);
      }
    }
  };
}

const requesters = new WeakMap<NatsConnection, Requester>();

/** Sends a request and returns the raw reply message; failures are typed (see {@link requestFailure}). */
export async function request(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  options: RequestOptions,
): Promise<Msg> {
  let requester = requesters.get(nc);
  if (!requester) requesters.set(nc, (requester = new Requester(nc)));
  try {
    return await requester.request(subject, data, options.timeoutMs, options.headers ?? traceHeaders());
  } catch (err) {
    throw requestFailure(err, options);
  }
}

/** A control request: sends `data`, unwraps the `Reply` envelope and returns its body. */
export async function controlRequest(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  options: RequestOptions,
): Promise<Uint8Array> {
  return inSpan(options.what, { kind: SpanKind.CLIENT, attributes: { 'messaging.destination': subject } }, async () => {
    const msg = await request(nc, subject, data, options);
    return unwrapReply(msg.data, options.what, options.context);
  });
}

/** Options of {@link scatter}. */
export interface ScatterOptions {
  /** Stop collecting after this long in all. */
  maxWaitMs: number;
  /** Stop once no new reply came for this long after the first one. @default 300 */
  stallMs?: number;
  what: string;
}

/** Asks every responder and collects the reply bodies that arrive before the deadline. */
export async function scatter(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  options: ScatterOptions,
): Promise<{ bodies: Uint8Array[]; errors: WasmeshError[] }> {
  return inSpan(
    options.what,
    { kind: SpanKind.CLIENT, attributes: { 'messaging.destination': subject } },
    async (_span, ctx) => {
      const bodies: Uint8Array[] = [];
      const errs: WasmeshError[] = [];
      const inbox = newInbox(nc);
      await new Promise<void>((resolve, reject) => {
        let stall: NodeJS.Timeout | undefined;
        const finish = (): void => {
          clearTimeout(overall);
          clearTimeout(stall);
          stopWatching();
          sub.unsubscribe();
          resolve();
        };
        // A refused publish gets no answer: fail now rather than after the whole wait.
        const stopWatching = onRefusal(nc, (r, err) => {
          if (r.operation !== 'publish' || r.subject !== subject) return;
          clearTimeout(overall);
          clearTimeout(stall);
          stopWatching();
          sub.unsubscribe();
          reject(requestFailure(err, { ...options, timeoutMs: options.maxWaitMs }));
        });
        // The overall deadline, and a stall window that starts with the first reply: slow
        // responders are waited for as long as nobody has answered yet.
        const overall = setTimeout(finish, options.maxWaitMs);
        const sub = nc.subscribe(inbox, {
          callback: (err, msg) => {
            if (err) return finish();
            // A "no responders" status message means nobody will answer.
            if (msg.headers?.hasError && msg.headers.code === 503) return finish();
            try {
              bodies.push(unwrapReply(msg.data, options.what));
            } catch (e) {
              errs.push(e as WasmeshError);
            }
            clearTimeout(stall);
            stall = setTimeout(finish, options.stallMs ?? 300);
          },
        });
        try {
          const headers = traceHeaders(ctx);
          nc.publish(subject, data, { reply: inbox, ...(headers ? { headers } : {}) });
        } catch (err) {
          clearTimeout(overall);
          stopWatching();
          sub.unsubscribe();
          reject(requestFailure(err, { ...options, timeoutMs: options.maxWaitMs }));
        }
      });
      return { bodies, errors: errs };
    },
  );
}

/** Handles one request; returns the reply body, `null` to stay silent (e.g. not qualifying for an auction), or throws. */
export type Handler = (msg: Msg) => Promise<Uint8Array | null>;

/** Options of {@link serve}. */
export interface ServeOptions {
  queue?: string;
  logger: Logger;
  /** Span name (e.g. the control op). */
  name: string;
}

/**
 * Sends `reply` to `msg`'s requester without ever throwing: a reply larger than the connection's
 * max_payload is replaced by a `WASMESH_ERR_TOO_LARGE` error reply (which fits), and a reply that
 * cannot be sent at all (closed connection) is logged.
 */
function respondSafely(msg: Msg, reply: Uint8Array, logger: Logger, subject: string): void {
  let why: string;
  try {
    msg.respond(reply);
    return;
  } catch (err) {
    logger.warn({ err, subject, bytes: reply.length }, 'cannot send a reply');
    why = (err as Error)?.message ?? String(err);
  }
  try {
    msg.respond(
      errorReply(
        new WasmeshError('WASMESH_ERR_TOO_LARGE', `the reply (${reply.length} bytes) could not be sent: ${why}`, {
          details: { bytes: reply.length },
        }),
      ),
    );
  } catch {
    // Nothing more can be said: the requester times out.
  }
}

/**
 * Serves `subject`: every request runs `handler` in a span continuing the caller's trace, and
 * gets a `Reply` envelope with the body or the error. A failing handler never stops the
 * subscription.
 */
export function serve(nc: NatsConnection, subject: string, handler: Handler, options: ServeOptions): Subscription {
  return nc.subscribe(subject, {
    queue: options.queue,
    callback: (err, msg) => {
      if (err) {
        options.logger.warn({ err, subject }, 'subscription error');
        return;
      }
      void inSpan(options.name, { kind: SpanKind.SERVER, parent: contextFrom(msg.headers) }, async () => {
        let reply: Uint8Array | null;
        try {
          const body = await handler(msg);
          reply = body === null ? null : okReply(body);
        } catch (e) {
          options.logger.debug({ err: e, subject }, 'request failed');
          reply = errorReply(e);
        }
        if (reply !== null && msg.reply) respondSafely(msg, reply, options.logger, subject);
      });
    },
  });
}
