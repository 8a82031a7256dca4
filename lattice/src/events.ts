/**
 * Lattice events: published on `wasmesh.evt.v1.<lattice>.<type>.<source>`, consumed as an async
 * iterable of a discriminated union (switch on `type`). An event whose body names a source other
 * than its subject's is forged (the server lets each publisher use only its own id) and dropped.
 */
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { lattice } from '@wasmesh/proto';
import { decode, encode } from './codec.js';
import { WasmeshError } from './errors.js';
import type { EventType, Subjects } from './subjects.js';

/** The payload of each event type. */
export interface EventBodies {
  host_started: lattice.IHostStarted;
  host_stopped: lattice.IHostStopped;
  host_heartbeat: lattice.IHostHeartbeat;
  actor_started: lattice.IActorStarted;
  actor_stopped: lattice.IActorStopped;
  actor_failed: lattice.IActorFailed;
  actor_updated: lattice.IActorUpdated;
  labels_changed: lattice.ILabelsChanged;
  link_set: lattice.ILinkSet;
  link_deleted: lattice.ILinkDeleted;
  link_status: lattice.ILinkStatus;
  config_set: lattice.IConfigSet;
  config_deleted: lattice.IConfigDeleted;
  provider_started: lattice.IProviderStarted;
  provider_stopped: lattice.IProviderStopped;
  provider_health: lattice.IProviderHealth;
  local_call: lattice.ILocalCall;
}

/** The protobuf oneof field of each event type. */
const FIELD = {
  host_started: 'hostStarted',
  host_stopped: 'hostStopped',
  host_heartbeat: 'hostHeartbeat',
  actor_started: 'actorStarted',
  actor_stopped: 'actorStopped',
  actor_failed: 'actorFailed',
  actor_updated: 'actorUpdated',
  labels_changed: 'labelsChanged',
  link_set: 'linkSet',
  link_deleted: 'linkDeleted',
  link_status: 'linkStatus',
  config_set: 'configSet',
  config_deleted: 'configDeleted',
  provider_started: 'providerStarted',
  provider_stopped: 'providerStopped',
  provider_health: 'providerHealth',
  local_call: 'localCall',
} as const satisfies Record<EventType, keyof lattice.IEvent>;

/** Every event type, in the order of the protobuf oneof. */
export const EVENT_TYPES = Object.freeze(Object.keys(FIELD) as EventType[]);

const TYPE_OF_FIELD = new Map<string, EventType>(Object.entries(FIELD).map(([t, f]) => [f, t as EventType]));

/** One lattice event: `type` says which, `data` is its body. */
export type LatticeEvent = {
  [T in EventType]: { type: T; id: string; source: string; timeMs: number; data: EventBodies[T] };
}[EventType];

/** Encodes an event of `type` from `source`. */
export function encodeEvent<T extends EventType>(type: T, source: string, data: EventBodies[T]): Uint8Array {
  return encode(lattice.Event, { id: randomUUID(), source, timeMs: Date.now(), [FIELD[type]]: data });
}

/**
 * Decodes an event; throws `WASMESH_ERR_BAD_REQUEST` when malformed, of an unknown type, or —
 * given the `subject` it came on — when its source is not the subject's.
 */
export function decodeEvent(data: Uint8Array, subject?: string): LatticeEvent {
  const e = decode(lattice.Event, data, 'lattice event');
  if (subject !== undefined && subject.slice(subject.lastIndexOf('.') + 1) !== e.source) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `lattice event ${e.id || '(no id)'} claims source "${e.source}" but came on ${subject}: ignored`,
      { details: { what: 'lattice event', subject, source: e.source } },
    );
  }
  const type = e.body ? TYPE_OF_FIELD.get(e.body) : undefined;
  if (!type) {
    throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `lattice event ${e.id || '(no id)'} has no known body`, {
      details: { what: 'lattice event' },
    });
  }
  const body = e[FIELD[type]];
  return { type, id: e.id, source: e.source, timeMs: Number(e.timeMs), data: body } as LatticeEvent;
}

/** Publishes an event of `type`. */
export function publishEvent<T extends EventType>(
  nc: NatsConnection,
  subjects: Subjects,
  type: T,
  source: string,
  data: EventBodies[T],
): void {
  nc.publish(subjects.event(type, source), encodeEvent(type, source, data));
}

/** Options of {@link subscribeEvents}. */
export interface EventStreamOptions {
  /** Only these types (default: all). */
  types?: EventType[];
  /** Called with events that cannot be decoded (default: skipped). */
  onMalformed?: (err: unknown) => void;
}

/** Every event of the lattice from now on, as an async iterable; `return()` (or `break`) unsubscribes. */
export function subscribeEvents(
  nc: NatsConnection,
  subjects: Subjects,
  options: EventStreamOptions = {},
): AsyncIterable<LatticeEvent> & { close(): void } {
  const subjectList = options.types?.length ? options.types.map((t) => subjects.eventsOf(t)) : [subjects.allEvents()];
  const subs = subjectList.map((s) => nc.subscribe(s));
  const close = (): void => {
    for (const s of subs) s.unsubscribe();
  };
  async function* merged(): AsyncGenerator<LatticeEvent> {
    const queue: LatticeEvent[] = [];
    const waiter: { wake: (() => void) | null } = { wake: null };
    let open = subs.length;
    for (const sub of subs) {
      void (async () => {
        for await (const msg of sub) {
          try {
            queue.push(decodeEvent(msg.data, msg.subject));
          } catch (err) {
            options.onMalformed?.(err);
          }
          waiter.wake?.();
        }
        open--;
        waiter.wake?.();
      })();
    }
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (open === 0) return;
        await new Promise<void>((r) => (waiter.wake = r));
        waiter.wake = null;
      }
    } finally {
      close();
    }
  }
  const iterable = merged();
  return Object.assign(iterable, { close });
}
