/**
 * Tracing from day one: W3C trace context travels in NATS headers through every hop, and spans
 * (from `@opentelemetry/api`) wrap control operations and invocations. Exporting is off unless the
 * standard `OTEL_*` environment asks for it (see {@link setupTelemetry}); propagation always works,
 * so a trace started by a caller continues through hosts that do not export.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

const tracer = trace.getTracer('wasmesh', '0.1.0');

const setter: TextMapSetter<MsgHdrs> = { set: (carrier, key, value) => carrier.set(key, value) };
const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get: (carrier, key) => carrier?.get(key) || undefined,
};

let propagationReady = false;

/** Installs the W3C propagator and an async-hooks context manager once per process. */
export function ensurePropagation(): void {
  if (propagationReady) return;
  propagationReady = true;
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/**
 * NATS headers carrying the trace context of `ctx` (default: the active one), or `undefined` when
 * there is no trace to continue: a message without headers is cheaper to send and to parse.
 */
export function traceHeaders(ctx: Context = context.active()): MsgHdrs | undefined {
  if (!trace.getSpanContext(ctx)) return undefined;
  const h = natsHeaders();
  propagation.inject(ctx, h, setter);
  return h;
}

/** The context a received message's headers carry (or the root context). */
export function contextFrom(hdrs: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, hdrs, getter);
}

/** The `traceparent` of the active span, for envelopes that carry it besides the headers. */
export function activeTraceparent(): { traceparent: string; tracestate: string } {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return { traceparent: carrier.traceparent ?? '', tracestate: carrier.tracestate ?? '' };
}

/** Options of {@link inSpan}. */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context (e.g. from {@link contextFrom}); default: the active one. */
  parent?: Context;
}

/** Runs `fn` inside a new span; an exception marks the span as failed (with the error code) and is rethrown. */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    if (typeof code === 'string') span.setAttribute('wasmesh.error.code', code);
    throw err;
  } finally {
    span.end();
  }
}

export { SpanKind };
