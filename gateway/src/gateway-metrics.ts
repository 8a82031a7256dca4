/**
 * What a gateway records of the gRPC calls it handles: how many, by service, method and gRPC status
 * code (with `wasmesh.outcome` ok|error and, for an error, `error.type`: the wasmesh code the
 * status carries in its trailers, else the gRPC status name such as `CANCELLED`), and how long each
 * took, from its headers arriving to its status being sent. One server interceptor sees every call
 * (the lattice services, health, reflection, and calls the authorizer refuses), so nothing is
 * missed and no handler has to remember to record. One set of instruments per gateway, made with
 * it, after the process set up its telemetry (an instrument made before that records nowhere).
 *
 * A server stream (WatchEvents, Ping) counts once, when it ends; its duration is how long it was
 * open. Methods are those the server serves (grpc-js answers an unknown path itself, before any
 * interceptor), so the attributes stay bounded.
 */
import { ServerInterceptingCall, status as grpcStatus, type Deadline, type ServerInterceptor } from '@grpc/grpc-js';
import { bucketHistogram, countsOf, DURATION_BUCKETS_S, type HistogramSeries } from '@wasmesh/lattice';
import { ERROR_CODE_KEY } from './status.js';

type Attributes = Record<string, string | number>;

/** `/wasmesh.lattice.v1.Control/Ping` as `rpc.service` and `rpc.method`. */
function rpcOf(path: string): { service: string; method: string } {
  const slash = path.lastIndexOf('/');
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

function deadlineMs(deadline: Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** The instruments of one gateway's gRPC calls. */
export class GatewayMetrics {
  readonly #duration = bucketHistogram('wasmesh.gateway.request.duration', {
    description: 'Time a gRPC call took, from its headers arriving to its status (a stream: how long it was open)',
    unit: 's',
    bounds: DURATION_BUCKETS_S,
  });

  constructor() {
    countsOf(this.#duration, 'wasmesh.gateway.requests', {
      description: 'gRPC calls this gateway handled, by service, method and status code',
      unit: '{request}',
    });
  }

  /**
   * The server interceptor that records every call. It must come first in the server's list (the
   * innermost), so the status an interceptor after it sends (the authorizer's refusal) passes it.
   */
  interceptor(): ServerInterceptor {
    return (method, call) => {
      const started = performance.now();
      let recorded = false;
      const record = (code: grpcStatus, errorCode: string | undefined): void => {
        if (recorded) return;
        recorded = true;
        this.#seriesOf(method.path, code, errorCode).record((performance.now() - started) / 1000);
      };
      return new ServerInterceptingCall(call, {
        start: (next) =>
          next({
            // After every call (once its status is sent), and alone when the call ended without a
            // status passing here: the client cancelled, or grpc-js ended it at its deadline.
            onCancel: () =>
              record(
                deadlineMs(call.getDeadline()) <= Date.now() ? grpcStatus.DEADLINE_EXCEEDED : grpcStatus.CANCELLED,
                undefined,
              ),
          }),
        sendStatus: (status, next) => {
          const code = status.metadata?.get(ERROR_CODE_KEY)[0];
          record(status.code, typeof code === 'string' ? code : undefined);
          next(status);
        },
      });
    };
  }

  /** The duration series (and attributes) of a call of `path` that ended with `code` (and wasmesh code `errorCode`). */
  #seriesOf(path: string, code: grpcStatus, errorCode: string | undefined): HistogramSeries {
    const key = `${path}\n${code}\n${errorCode ?? ''}`;
    let series = this.#duration.find(key);
    if (!series) {
      const { service, method } = rpcOf(path);
      const attributes: Attributes =
        code === grpcStatus.OK
          ? { 'rpc.service': service, 'rpc.method': method, 'rpc.grpc.status_code': code, 'wasmesh.outcome': 'ok' }
          : {
              'rpc.service': service,
              'rpc.method': method,
              'rpc.grpc.status_code': code,
              'wasmesh.outcome': 'error',
              'error.type': errorCode ?? grpcStatus[code] ?? String(code),
            };
      series = this.#duration.series(key, attributes);
    }
    return series;
  }
}
