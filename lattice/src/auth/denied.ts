/**
 * The NATS server's refusals — a publish or subscription its permissions forbid — turned into
 * `WASMESH_ERR_PERMISSION_DENIED` naming the subject, wherever they surface: nats.js reports them
 * as a `PermissionViolationError`, sometimes wrapped (JetStream, KV), sometimes only in a message.
 */
import { errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import { WasmeshError } from '../errors.js';

/** What the server refused. */
export interface Refusal {
  operation: 'publish' | 'subscription';
  subject: string;
}

const MESSAGE = /Permissions Violation for (Publish|Subscription) to "([^"]+)"/i;

/** The server's refusal in `err` or its causes, if it is one. */
export function refusalIn(err: unknown): Refusal | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof natsErrors.PermissionViolationError) return { operation: e.operation, subject: e.subject };
    const m = MESSAGE.exec(e.message);
    if (m) return { operation: m[1]!.toLowerCase() === 'publish' ? 'publish' : 'subscription', subject: m[2]! };
  }
  return undefined;
}

/**
 * `WASMESH_ERR_PERMISSION_DENIED` for `err` when it is a refusal (`what` says what was being
 * done: "the config put", "the inventory of host N…"), else undefined.
 */
export function permissionDenied(
  err: unknown,
  what: string,
  details: Record<string, unknown> = {},
): WasmeshError | undefined {
  if (err instanceof WasmeshError) return err.code === 'WASMESH_ERR_PERMISSION_DENIED' ? err : undefined;
  const r = refusalIn(err);
  if (!r) return undefined;
  return new WasmeshError(
    'WASMESH_ERR_PERMISSION_DENIED',
    `${what} was refused: these credentials may not ${r.operation === 'publish' ? 'publish to' : 'subscribe to'} ${r.subject}`,
    { cause: err, details: { ...details, subject: r.subject, operation: r.operation } },
  );
}

type RefusalListener = (refusal: Refusal, err: Error) => void;
const listeners = new WeakMap<NatsConnection, Set<RefusalListener>>();

/**
 * Calls `listener` with every refusal the server reports on `nc` (asynchronously, as an -ERR: a
 * refused request gets no reply at all), until the returned function is called. One status loop
 * per connection serves every listener.
 */
export function onRefusal(nc: NatsConnection, listener: RefusalListener): () => void {
  let set = listeners.get(nc);
  if (!set) {
    const created = new Set<RefusalListener>();
    set = created;
    listeners.set(nc, created);
    void (async () => {
      for await (const st of nc.status()) {
        if (st.type !== 'error') continue;
        const r = refusalIn(st.error);
        if (r) for (const l of [...created]) l(r, st.error);
      }
    })();
  }
  set.add(listener);
  return () => void set.delete(listener);
}
