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

/** Sends a request and returns the raw reply message; failures are typed (see {@link requestFailure}). */
export async function request(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  options: RequestOptions,
): Promise<Msg> {
  try {
    return await nc.request(subject, data, { timeout: options.timeoutMs, headers: options.headers ?? traceHeaders() });
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
  return inSpan(options.what, { kind: SpanKind.CLIENT, attributes: { 'messaging.destination': subject } }, async () => {
    const bodies: Uint8Array[] = [];
    const errs: WasmeshError[] = [];
    let replies: AsyncIterable<Msg>;
    try {
      replies = await nc.requestMany(subject, data, {
        strategy: 'stall',
        maxWait: options.maxWaitMs,
        stall: options.stallMs ?? 300,
        ...(traceHeaders() ? { headers: traceHeaders() } : {}),
      });
    } catch (err) {
      throw requestFailure(err, { ...options, timeoutMs: options.maxWaitMs });
    }
    try {
      for await (const msg of replies) {
        // A "no responders" status message ends the collection with nothing.
        if (msg.data.length === 0 && msg.headers?.code === 503) break;
        try {
          bodies.push(unwrapReply(msg.data, options.what));
        } catch (err) {
          errs.push(err as WasmeshError);
        }
      }
    } catch (err) {
      const failure = requestFailure(err, { ...options, timeoutMs: options.maxWaitMs });
      if (failure.code !== 'WASMESH_ERR_NO_RESPONDERS' && failure.code !== 'WASMESH_ERR_TIMEOUT') throw failure;
    }
    return { bodies, errors: errs };
  });
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
        if (reply !== null && msg.reply) msg.respond(reply);
      });
    },
  });
}
