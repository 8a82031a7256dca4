/**
 * Watching a lattice live: `wasmesh events` prints lattice events as they happen, and `wasmesh spy
 * <actor-id>` prints every invocation into and out of one actor with its answer, payloads decoded
 * where the operation belongs to a known contract. Both run until Ctrl-C (exit 0), `--count`
 * lines were printed, or NATS goes away (exit 5); `--json` prints one JSON object per line.
 *
 * The spy listens without taking part: a plain (non-queue) subscription on the lattice's
 * invocation subjects sees every call, and subscriptions on the inboxes see the answers
 * (requesters reply to inboxes: `_INBOX.>` for plain NATS clients, the per-user lattice inboxes
 * of a secured lattice's processes), matched to their calls by reply subject. Watching other
 * users' inboxes takes the admin or reader role. Calls a host delivers by local dispatch never
 * cross NATS: the spy asks every host (`spy.watch`, repeated while it runs) to mirror the actor's
 * local calls as `local_call` events, and shows them like the others, marked `local`.
 */
import type { Msg } from '@nats-io/transport-node';
import type { Command } from 'commander';
import {
  decode,
  decodeEvent,
  encode,
  EVENT_TYPES,
  inboxPrefixOf,
  intFlag,
  UsageError,
  type EventType,
  type LatticeClient,
  type LatticeEvent,
} from '@wasmesh/lattice';
import { contracts, lattice, Operation } from '@wasmesh/proto';
import {
  collect,
  CONNECT_TIMEOUT,
  examples,
  latticeOptions,
  note,
  printJson,
  watchLattice,
  type LatticeOptions,
} from '../common.js';

interface ObserveOptions extends LatticeOptions {
  count?: number;
  type?: string[];
  heartbeats?: boolean;
}

/** How long an unanswered call is remembered by the spy. */
const FORGET_AFTER_MS = 120_000;

/** How long one spy.watch lasts on the hosts; the spy renews it three times as often. */
const SPY_WATCH_MS = 6000;

/** Protobuf types of the known contract operations: request and response. */
const PAYLOAD_TYPES: Record<string, [{ decode(b: Uint8Array): object }, { decode(b: Uint8Array): object }]> = {
  [Operation.HttpServer.HandleRequest]: [contracts.HttpRequest, contracts.HttpResponse],
  [Operation.KeyValue.Get]: [contracts.GetRequest, contracts.GetResponse],
  [Operation.KeyValue.Set]: [contracts.SetRequest, contracts.SetResponse],
  [Operation.KeyValue.Delete]: [contracts.DeleteRequest, contracts.DeleteResponse],
  [Operation.KeyValue.Exists]: [contracts.ExistsRequest, contracts.ExistsResponse],
  [Operation.KeyValue.Increment]: [contracts.IncrementRequest, contracts.IncrementResponse],
  [Operation.KeyValue.Keys]: [contracts.KeysRequest, contracts.KeysResponse],
  [Operation.KeyValue.CompareAndSet]: [contracts.CompareAndSetRequest, contracts.CompareAndSetResponse],
  [Operation.Messaging.Publish]: [contracts.PublishRequest, contracts.PublishResponse],
  [Operation.Messaging.Request]: [contracts.RequestRequest, contracts.RequestResponse],
  [Operation.MessageHandler.HandleMessage]: [contracts.Message, contracts.HandleMessageResponse],
};

/** A payload for people: the contract message as JSON (bytes as text when printable), else text or hex. */
export function describePayload(operation: string, bytes: Uint8Array, which: 0 | 1): unknown {
  const type = PAYLOAD_TYPES[operation]?.[which];
  if (type) {
    try {
      return JSON.parse(JSON.stringify(type.decode(bytes), (_k, v: unknown) => (isBytes(v) ? bytesText(v) : v)));
    } catch {
      // Not the contract's message after all: show the bytes.
    }
  }
  return bytesText(bytes);
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array || (typeof v === 'object' && v !== null && (v as { type?: string }).type === 'Buffer');
}

function bytesText(v: Uint8Array | { data: number[] }): string {
  const b = v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v.data);
  const text = b.toString('utf8');
  const printable = ![...text].some((c) => c === '\ufffd' || (c < ' ' && !'\t\n\r\f\v'.includes(c)));
  const shown = printable ? text : `0x${b.subarray(0, 64).toString('hex')}`;
  return shown.length > 200 ? `${shown.slice(0, 200)}… (${b.length} bytes)` : shown;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** One line summarising an event's body. */
function eventSummary(e: LatticeEvent): string {
  if (e.type === 'host_heartbeat') {
    const inv = e.data.inventory;
    return `hostId=${inv?.host?.hostId ?? '?'} actors=${inv?.actors?.length ?? 0} providers=${inv?.providers?.length ?? 0}`;
  }
  if (e.type === 'local_call') {
    const inv = e.data.invocation;
    const err = e.data.result?.error;
    const outcome = err?.code ? `error=${err.code}` : 'ok';
    return `${inv?.source || '?'} → ${inv?.target} ${inv?.operation} (${(e.data.durationUs ?? 0) / 1000} ms, local) ${outcome}`;
  }
  const body = e.data as Record<string, unknown>;
  // Some events nest the subject of the event (actor_started.actor, provider_started.provider).
  const d = { ...(body.actor as object), ...(body.provider as object), ...body };
  const fields = ['actorId', 'providerId', 'hostId', 'reason', 'message', 'ok', 'name'];
  const parts = fields.filter((f) => d[f] !== undefined && d[f] !== '').map((f) => `${f}=${String(d[f])}`);
  const link = d.link as lattice.ILink | undefined;
  if (link) parts.unshift(`${link.sourceId} -[${link.contract}, ${link.name || 'default'}]-> ${link.targetId}`);
  const err = d.error as lattice.IErrorInfo | undefined;
  if (err?.code) parts.push(`error=${err.code}: ${err.message}`);
  return parts.join(' ');
}

/** Resolves once the connection closes, or on SIGINT/SIGTERM; returns whether NATS went away. */
function untilStopped(client: LatticeClient, stop: Promise<void>): Promise<boolean> {
  return new Promise((resolve) => {
    const onSignal = (): void => resolve(false);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void stop.then(() => resolve(false));
    void client.nc.closed().then(() => resolve(true));
  });
}

/** Counts printed lines; resolves `done` once `limit` were printed. */
function lineCounter(limit: number | undefined) {
  let printed = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return {
    done,
    printed(): void {
      if (limit !== undefined && ++printed >= limit) finish();
    },
  };
}

function registerEvents(program: Command): void {
  const cmd = latticeOptions(
    program
      .command('events')
      .description('print lattice events live (hosts, actors, providers, links, config)')
      .option('--type <type>', 'only events of this type (repeatable), e.g. actor_started', collect)
      .option('--heartbeats', 'also show host heartbeats (left out by default: one per host every few seconds)')
      .option('--count <n>', 'exit after this many events', intFlag('--count', 1, 1_000_000)),
    CONNECT_TIMEOUT,
  );
  examples(
    cmd,
    [
      'wasmesh events',
      'wasmesh events --type actor_started --type actor_stopped',
      'wasmesh events --heartbeats --json | jq .type',
    ],
    'Runs until Ctrl-C. With --json: one {type, id, source, timeMs, data} object per line.',
  ).action(async (opts: ObserveOptions) => {
    await watchLattice(opts, async (client) => {
      const types = (opts.type ?? []) as EventType[];
      const unknown = types.filter((t) => !EVENT_TYPES.includes(t));
      if (unknown.length > 0) {
        throw new UsageError(`unknown event type "${unknown[0]}" for --type; known: ${EVENT_TYPES.join(', ')}`);
      }
      const stream = client.events(types.length ? { types } : {});
      const shown = (e: LatticeEvent): boolean =>
        e.type !== 'host_heartbeat' || opts.heartbeats === true || types.includes('host_heartbeat');
      const counter = lineCounter(opts.count);
      if (!opts.json) note(`watching events of lattice "${client.lattice}" (Ctrl-C to stop)`);
      void (async () => {
        for await (const e of stream) {
          if (!shown(e)) continue;
          if (opts.json) printJson(e);
          else process.stdout.write(`${clock(e.timeMs)}  ${e.type.padEnd(16)}  ${eventSummary(e)}\n`);
          counter.printed();
        }
      })();
      const lost = await untilStopped(client, counter.done);
      stream.close();
      if (lost) process.exitCode = 5;
    });
  });
}

/** A call seen by the spy, waiting for its answer. */
interface SeenCall {
  direction: 'in' | 'out';
  /** Delivered by local dispatch (mirrored by its host), not seen on the bus. */
  local?: boolean;
  source: string;
  target: string;
  operation: string;
  startedMs: number;
}

function registerSpy(program: Command): void {
  const cmd = latticeOptions(
    program
      .command('spy')
      .description('watch the invocations into and out of an actor live, decoded')
      .argument('<actor-id>', 'the actor to watch')
      .option('--count <n>', 'exit after this many lines', intFlag('--count', 1, 1_000_000)),
    CONNECT_TIMEOUT,
  );
  examples(
    cmd,
    ['wasmesh spy kvcounter', 'wasmesh spy kvcounter --json'],
    'Shows calls to the actor (→ in), the calls it makes to providers and actors (→ out), and each\n' +
      'answer (← ok / ← error) with its latency. Payloads of known contract operations are decoded.\n' +
      'Runs until Ctrl-C. With --json: one {kind, direction, source, target, operation, …} object per line.',
  ).action(async (actorId: string, opts: ObserveOptions) => {
    await watchLattice(opts, async (client) => {
      client.subjects.actor(actorId); // validates the id
      const counter = lineCounter(opts.count);
      const calls = new Map<string, SeenCall>();
      const emit = (line: Record<string, unknown>, text: string): void => {
        if (opts.json) printJson(line);
        else process.stdout.write(`${text}\n`);
        counter.printed();
      };
      const showCall = (inv: lattice.IInvocation, key: string, local: boolean): void => {
        const direction: SeenCall['direction'] | undefined =
          inv.target === actorId ? 'in' : inv.source === actorId ? 'out' : undefined;
        if (!direction) return;
        const call = {
          direction,
          source: inv.source ?? '',
          target: inv.target ?? '',
          operation: inv.operation ?? '',
          startedMs: Date.now(),
          ...(local ? { local: true } : {}),
        };
        if (key) calls.set(key, call);
        const payload = inv.payloadObject
          ? `(object ${inv.payloadObject})`
          : describePayload(call.operation, inv.payload ?? new Uint8Array(), 0);
        emit(
          { kind: 'call', ...call, id: inv.id, link: inv.linkName, payload },
          `${clock(call.startedMs)}  → ${direction.padEnd(3)}  ${call.source || '?'} → ${call.target}  ${call.operation}  ${JSON.stringify(payload)}${local ? '  (local)' : ''}`,
        );
      };
      const showAnswer = (key: string, result: lattice.IInvocationResult, tookMs?: number): void => {
        const call = calls.get(key);
        if (!call) return;
        calls.delete(key);
        const ms = tookMs ?? Date.now() - call.startedMs;
        const base = { kind: 'answer', ...call, ms };
        if (result.error?.code) {
          emit(
            { ...base, ok: false, error: { code: result.error.code, message: result.error.message } },
            `${clock(Date.now())}  ← error ${call.operation} (${ms} ms)  ${result.error.code}: ${result.error.message}`,
          );
        } else {
          const payload = result.payloadObject
            ? `(object ${result.payloadObject})`
            : describePayload(call.operation, result.payload ?? new Uint8Array(), 1);
          emit(
            { ...base, ok: true, hostId: result.hostId, payload },
            `${clock(Date.now())}  ← ok    ${call.operation} (${ms} ms)  ${JSON.stringify(payload)}`,
          );
        }
      };
      const onCall = (msg: Msg): void => {
        let inv: lattice.Invocation;
        try {
          inv = decode(lattice.Invocation, msg.data, 'invocation');
        } catch {
          return;
        }
        showCall(inv, msg.reply ?? '', false);
      };
      const onAnswer = (msg: Msg): void => {
        if (!calls.has(msg.subject)) return;
        let result: lattice.InvocationResult;
        try {
          result = decode(lattice.InvocationResult, msg.data, 'invocation result');
        } catch {
          return;
        }
        showAnswer(msg.subject, result);
      };
      const onLocalCall = (msg: Msg): void => {
        let e: LatticeEvent;
        try {
          e = decodeEvent(msg.data, msg.subject);
        } catch {
          return;
        }
        if (e.type !== 'local_call' || !e.data.invocation) return;
        const key = `local:${e.source}:${e.data.invocation.id}`;
        showCall(e.data.invocation, key, true);
        showAnswer(
          key,
          { ...e.data.result, hostId: e.data.result?.hostId || e.data.hostId },
          Math.round((e.data.durationUs ?? 0) / 1000),
        );
      };
      // Hosts mirror the actor's local calls while this watch is renewed (it lapses on its own).
      const watch = (): void => {
        try {
          client.nc.publish(
            client.subjects.control('spy.watch'),
            encode(lattice.SpyWatchRequest, { actorId, forMs: SPY_WATCH_MS }),
          );
        } catch {
          // The connection is closing: the watch lapses.
        }
      };
      const subs = [
        client.nc.subscribe(client.subjects.allInvocations(), { callback: (err, msg) => void (err || onCall(msg)) }),
        client.nc.subscribe(client.subjects.eventsOf('local_call'), {
          callback: (err, msg) => void (err || onLocalCall(msg)),
        }),
        ...['_INBOX.>', `${inboxPrefixOf('*')}.>`].map((inboxes) =>
          client.nc.subscribe(inboxes, { callback: (err, msg) => void (err || onAnswer(msg)) }),
        ),
      ];
      const sweep = setInterval(() => {
        const old = Date.now() - FORGET_AFTER_MS;
        for (const [k, c] of calls) if (c.startedMs < old) calls.delete(k);
      }, 10_000);
      watch();
      const renew = setInterval(watch, SPY_WATCH_MS / 3);
      await client.nc.flush();
      if (!opts.json) note(`spying on actor "${actorId}" in lattice "${client.lattice}" (Ctrl-C to stop)`);
      const lost = await untilStopped(client, counter.done);
      clearInterval(sweep);
      clearInterval(renew);
      for (const s of subs) s.unsubscribe();
      if (lost) process.exitCode = 5;
    });
  });
}

/** Registers `events` and `spy` on `program`. */
export function registerObserveCommands(program: Command): void {
  registerEvents(program);
  registerSpy(program);
}
