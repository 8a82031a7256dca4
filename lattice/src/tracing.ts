/**
 * Tracing from day one: W3C trace context travels in NATS headers through every hop, and spans
 * (from `@opentelemetry/api`) wrap control operations and invocations. Exporting is off unless the
 * standard `OTEL_*` environment asks for it (see {@link setupTelemetry}); propagation always works,
 * so a trace started by a caller continues through hosts that do not export.
 */
import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  ProxyTracerProvider,
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
let contextManagerReady = false;

/**
 * Installs the W3C propagator once per process. wasmesh passes trace contexts explicitly along
 * its own call paths, so this is all that propagation needs.
 */
export function ensurePropagation(): void {
  if (propagationReady) return;
  propagationReady = true;
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/**
 * Also makes `context.active()` follow async calls (an AsyncLocalStorage context manager), for
 * code that relies on the active context, such as spans of instrumented libraries. It costs a
 * little on every promise, so processes turn it on only when they export spans.
 */
export function enableContextManager(): void {
  ensurePropagation();
  if (contextManagerReady) return;
  contextManagerReady = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/**
 * NATS headers carrying the trace context of `ctx` (default: the active one), or `undefined` when
 * there is no trace to continue: a message without headers is cheaper to send and to parse.
 */
export function traceHeaders(ctx: Context = context.active()): MsgHdrs | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return undefined;
  const h = natsHeaders();
  propagation.inject(ctx, h, setter);
  return h;
}

/** The context a received message's headers carry (or the root context). */
export function contextFrom(hdrs: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, hdrs, getter);
}

/** The `traceparent` of `ctx` (default: the active one), for envelopes that carry it besides the headers. */
export function traceparentOf(ctx: Context = context.active()): { traceparent: string; tracestate: string } {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return NO_TRACEPARENT;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return { traceparent: carrier.traceparent ?? '', tracestate: carrier.tracestate ?? '' };
}

/** What an envelope carries when there is no trace to continue. */
const NO_TRACEPARENT = Object.freeze({ traceparent: '', tracestate: '' });

/** Options of {@link inSpan}. */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context (e.g. from {@link contextFrom}); default: the active one. */
  parent?: Context;
}

/** The provider `trace` hands out while no SDK is registered (the API's no-op). */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * Whether spans started here are recorded: an SDK's tracer provider is registered in this process
 * (by {@link setupTelemetry} when exporting, or by an embedder).
 */
function recordingSpans(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_TRACER_PROVIDER;
}

/** The span handed to `fn` when there is nothing to record or continue. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Runs `fn` inside a new span, handing it the span and the context that carries it (pass that on
 * to continue the trace); an exception marks the span as failed (with the error code) and is rethrown.
 * With no SDK registered and no trace to continue there is nothing to record or propagate, and
 * `fn` runs directly under `parent`: a span and a context per call cost about a tenth of the
 * in-process HTTP path's JS time.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span, ctx: Context) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  if (!recordingSpans() && !trace.getSpanContext(parent)) {
    try {
      return fn(NO_SPAN, parent);
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return inRecordedSpan(name, options, parent, fn);
}

async function inRecordedSpan<T>(
  name: string,
  options: SpanOptions,
  parent: Context,
  fn: (span: Span, ctx: Context) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    parent,
  );
  try {
    const ctx = trace.setSpan(parent, span);
    return await context.with(ctx, () => fn(span, ctx));
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
