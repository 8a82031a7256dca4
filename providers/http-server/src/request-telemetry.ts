/**
 * What the HTTP server records of each request, with OpenTelemetry's HTTP semantic conventions:
 * a server span that continues the client's `traceparent` (so one trace runs from the client
 * through the actor and the providers it calls), the `http.server.request.duration` histogram
 * (by method, route and status) and `http.server.active_requests`. With no SDK registered and no
 * trace to continue, the span is skipped (lattice/src/tracing.ts) and the instruments are no-ops.
 */
import type http from 'node:http';
import {
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
  type UpDownCounter,
} from '@opentelemetry/api';
import { bucketHistogram, DURATION_BUCKETS_S, inSpan, meter, SpanKind, type BucketHistogram } from '@wasmesh/lattice';

/** Methods named as they are; any other is `_OTHER` (the conventions' bound on cardinality). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** What a request's serving tells the telemetry. */
export interface ServedRequest {
  /** The trace context to call the actor under (the server span's). */
  readonly trace: Context;
  /** Names the route the request matched (its path prefix), for the span name and the metrics. */
  routed(route: string): void;
}

/** The span and instruments of one HTTP server provider. */
export class RequestTelemetry {
  readonly #duration: BucketHistogram;
  readonly #active: UpDownCounter;
  readonly #activeBy = new Map<string, Attributes>();

  constructor() {
    const m = meter();
    this.#duration = bucketHistogram('http.server.request.duration', {
      description: 'Duration of HTTP server requests, from the head read to the answer written',
      unit: 's',
      bounds: DURATION_BUCKETS_S,
    });
    this.#active = m.createUpDownCounter('http.server.active_requests', {
      description: 'HTTP server requests being served now',
      unit: '{request}',
    });
  }

  /** Serves `req` with `serve` inside its span, then records its duration and status. */
  async serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    serve: (request: ServedRequest) => Promise<void>,
  ): Promise<void> {
    const started = performance.now();
    const method = KNOWN_METHODS.has(req.method ?? '') ? req.method! : '_OTHER';
    let active = this.#activeBy.get(method);
    if (!active) this.#activeBy.set(method, (active = { 'http.request.method': method, 'url.scheme': 'http' }));
    this.#active.add(1, active);
    let route: string | undefined;
    const parent = req.headers.traceparent ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
    try {
      await inSpan(
        method,
        {
          kind: SpanKind.SERVER,
          parent,
          attributes: { 'http.request.method': method, 'url.scheme': 'http', 'url.path': pathOf(req.url) },
        },
        async (span, trace) => {
          await serve({
            trace,
            routed: (r) => {
              route = r;
              span.updateName(`${method} ${r}`);
              span.setAttribute('http.route', r);
            },
          });
          ended(span, res);
        },
      );
    } finally {
      this.#active.add(-1, active);
      const status = res.statusCode;
      const key = `${method} ${status} ${route ?? ''}`;
      (
        this.#duration.find(key) ??
        this.#duration.series(key, {
          'http.request.method': method,
          'url.scheme': 'http',
          'http.response.status_code': status,
          ...(route !== undefined ? { 'http.route': route } : {}),
        })
      ).record((performance.now() - started) / 1000);
    }
  }
}

/** Marks `span` with the answer's status: a 5xx is the server's failure, a 4xx the client's. */
function ended(span: Span, res: http.ServerResponse): void {
  span.setAttribute('http.response.status_code', res.statusCode);
  if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The path of a request target, without its query (which may carry secrets). */
function pathOf(url: string | undefined): string {
  const q = (url ?? '').indexOf('?');
  return q < 0 ? (url ?? '') : url!.slice(0, q);
}
