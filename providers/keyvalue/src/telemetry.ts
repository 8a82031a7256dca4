/**
 * What the keyvalue provider records of each operation on its backends: a client span under the
 * call's trace (so a request's trace reaches NATS KV or Redis), and the `wasmesh.keyvalue.operations`
 * counter and duration by backend, operation and outcome. Made on the first call, after the
 * process set up its telemetry.
 */
import type { Context } from '@opentelemetry/api';
import { CallRecorder, inSpan, SpanKind } from '@wasmesh/lattice';
import type { KeyValueBackend } from './backends/backend.js';

/** The `db.system.name` of each backend kind. */
const DB_SYSTEM: Record<KeyValueBackend['kind'], string> = { nats: 'nats_kv', redis: 'redis' };

/** The span and instruments of one keyvalue provider. */
export class KeyValueTelemetry {
  readonly #operations = new CallRecorder({
    counter: 'wasmesh.keyvalue.operations',
    duration: 'wasmesh.keyvalue.operation.duration',
    description: 'Keyvalue operations served on their backend',
    unit: '{operation}',
  });

  /** Runs `fn`, operation `operation` (`KeyValue.Get`, …) on `backend`, in a span under `trace`, and records it. */
  measure<T>(backend: KeyValueBackend, operation: string, trace: Context, fn: () => Promise<T>): Promise<T> {
    const system = DB_SYSTEM[backend.kind];
    return this.#operations.record({ 'wasmesh.keyvalue.backend': backend.kind, 'wasmesh.operation': operation }, () =>
      inSpan(
        `${system} ${operation.slice(operation.indexOf('.') + 1)}`,
        {
          kind: SpanKind.CLIENT,
          parent: trace,
          attributes: { 'db.system.name': system, 'db.operation.name': operation },
        },
        fn,
      ),
    );
  }
}
