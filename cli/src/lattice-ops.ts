/**
 * Lattice operations the actor commands are built from: listing hosts and what they run, and
 * starting, stopping and updating an actor on one host while waiting for the host's lattice event
 * (subscribed before the request is sent, so it cannot be missed).
 */
import path from 'node:path';
import {
  ControlClient,
  checkToken,
  parseArtifactRef,
  WasmeshError,
  fromErrorInfo,
  type EventBodies,
  type EventType,
  type LatticeClient,
  type LatticeEvent,
} from '@wasmesh/lattice';
import { UsageError } from '@wasmesh/lattice';
import { formatLabels, note, toNumber } from './common.js';

// The protobuf shapes, named through the lattice API (the CLI depends on @wasmesh/lattice only).
type RawHostInfo = NonNullable<EventBodies['host_started']['host']>;
type RawInventory = NonNullable<EventBodies['host_heartbeat']['inventory']>;
type RawActor = NonNullable<EventBodies['actor_started']['actor']>;

/** A host, as commands print it. */
export interface HostView {
  hostId: string;
  friendlyName: string;
  labels: Record<string, string>;
  lattice: string;
  version: string;
  startedAtMs: number;
  uptimeMs: number;
}

/** An actor on a host, as commands print it. */
export interface ActorView {
  actorId: string;
  artifactRef: string;
  digest: string;
  maxConcurrent: number;
  inFlight: number;
  annotations: Record<string, string>;
  /** Named config it reads as its own (contract wasmesh:config), in merge order. */
  config: string[];
  startedAtMs: number;
  revision: number;
}

/** What one host runs. */
export interface InventoryView {
  host: HostView;
  actors: ActorView[];
  providers: ProviderView[];
}

/** Plain-JSON view of a provider a host supervises. */
export interface ProviderView {
  providerId: string;
  artifactRef: string;
  state: string;
  pid: number;
  healthy: boolean;
  restarts: number;
  /** in-process or process; '' when the host does not say. */
  mode: string;
}

/** A host an operation targets; the name is known when the host came from a ping or an auction. */
export interface HostRef {
  hostId: string;
  friendlyName?: string;
}

/** Plain-JSON view of a host. */
export function hostView(h: RawHostInfo | null | undefined): HostView {
  return {
    hostId: h?.hostId ?? '',
    friendlyName: h?.friendlyName ?? '',
    labels: { ...(h?.labels ?? {}) },
    lattice: h?.lattice ?? '',
    version: h?.version ?? '',
    startedAtMs: toNumber(h?.startedAtMs),
    uptimeMs: toNumber(h?.uptimeMs),
  };
}

/** Plain-JSON view of an actor description. */
export function actorView(a: RawActor | null | undefined): ActorView {
  return {
    actorId: a?.actorId ?? '',
    artifactRef: a?.artifactRef ?? '',
    digest: a?.digest ?? '',
    maxConcurrent: a?.maxConcurrent ?? 0,
    inFlight: a?.inFlight ?? 0,
    annotations: { ...(a?.annotations ?? {}) },
    config: [...(a?.config ?? [])],
    startedAtMs: toNumber(a?.startedAtMs),
    revision: toNumber(a?.revision),
  };
}

/** Plain-JSON view of an inventory. */
export function inventoryView(inv: RawInventory): InventoryView {
  return {
    host: hostView(inv.host),
    actors: (inv.actors ?? []).map(actorView),
    providers: (inv.providers ?? []).map((p) => ({
      providerId: p.providerId ?? '',
      artifactRef: p.artifactRef ?? '',
      state: p.state ?? '',
      pid: p.pid ?? 0,
      healthy: p.healthy ?? false,
      restarts: p.restarts ?? 0,
      mode: p.mode ?? '',
    })),
  };
}

/** `name (id)`, or the id alone when the name is not known. */
export function hostLabel(h: HostRef): string {
  return h.friendlyName ? `${h.friendlyName} (${h.hostId})` : h.hostId;
}

/** A control client whose requests wait up to `timeoutMs` (hosts answer a start once the actor serves). */
export function controlFor(client: LatticeClient, timeoutMs: number): ControlClient {
  return new ControlClient(client.nc, client.subjects, timeoutMs);
}

/** Every host that answers a ping, with its inventory (a host that vanishes in between is left out). */
export async function allInventories(control: ControlClient): Promise<InventoryView[]> {
  const hosts = await control.ping();
  const inventories = await Promise.all(
    hosts.map((h) =>
      control.inventory(h.hostId).catch((err: unknown) => {
        if (err instanceof WasmeshError && err.code === 'WASMESH_ERR_NOT_FOUND') return null;
        throw err;
      }),
    ),
  );
  return inventories.filter((i) => i !== null).map(inventoryView);
}

/** One host running an actor. */
export interface Replica {
  host: HostView;
  actor: ActorView;
  /** How many actors the host runs in all. */
  actorsOnHost: number;
}

/** The hosts running `actorId`, from a ping and the inventory of each host. */
export async function replicasOf(control: ControlClient, actorId: string): Promise<Replica[]> {
  const replicas: Replica[] = [];
  for (const inv of await allInventories(control)) {
    const actor = inv.actors.find((a) => a.actorId === actorId);
    if (actor) replicas.push({ host: inv.host, actor, actorsOnHost: inv.actors.length });
  }
  return replicas;
}

/** The error for "no host runs this actor". */
export function notRunning(actorId: string, latticeName: string): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_NOT_FOUND',
    `actor "${actorId}" is not running on any host in lattice "${latticeName}"`,
    {
      details: { actor: actorId },
    },
  );
}

/** Checks an actor id given on the command line (letters, digits, '-' and '_'). */
export function checkActorId(actorId: string): string {
  return checkToken('actor id', actorId);
}

/**
 * The artifact reference to send to hosts: `sha256:<hex>` and `oci://…` as they are, a file path or
 * `file://` URL as an absolute path. Hosts read file references from their own file system and
 * pull `oci://` ones from the registry.
 */
export function hostArtifactRef(ref: string): { ref: string; file?: string } {
  const parsed = parseArtifactRef(ref);
  if (parsed.kind === 'store') return { ref: parsed.digest };
  if (parsed.kind === 'oci') return { ref };
  return { ref: parsed.path, file: parsed.path };
}

/** The actor id for `start actor`: `--id`, else the file's basename without `.wasm` (file references only). */
export function defaultActorId(ref: { ref: string; file?: string }, explicit: string | undefined): string {
  if (explicit !== undefined) return checkActorId(explicit);
  if (!ref.file) throw new UsageError(`--id is required to start an actor from ${ref.ref}`);
  const id = path.basename(ref.file).replace(/\.wasm$/i, '');
  try {
    return checkActorId(id);
  } catch (err) {
    throw new WasmeshError(
      'WASMESH_ERR_INVALID_NAME',
      `the file name gives actor id "${id}", which is not valid (use 1-128 letters, digits, '-' or '_'); pass --id`,
      { cause: err, details: { what: 'actor id', value: id } },
    );
  }
}

/**
 * A subscription to lattice events that buffers what arrives, so several operations can wait for
 * their own event. Open it before sending the requests whose events it should see.
 */
export class EventWatch {
  readonly #seen: LatticeEvent[] = [];
  readonly #wakers = new Set<() => void>();
  readonly #stream: AsyncIterable<LatticeEvent> & { close(): void };
  #ended = false;

  constructor(client: LatticeClient, types: EventType[]) {
    const stream = client.events({ types });
    this.#stream = stream;
    void (async () => {
      try {
        for await (const e of stream) {
          this.#seen.push(e);
          for (const wake of [...this.#wakers]) wake();
        }
      } catch {
        // The connection closed: waiters see the end below.
      } finally {
        this.#ended = true;
        for (const wake of [...this.#wakers]) wake();
      }
    })();
  }

  /**
   * The first buffered or future event `match` maps to a value; `undefined` once `deadlineMs`
   * (unix ms) passes, `signal` aborts, or the subscription ends.
   */
  waitFor<T>(
    match: (e: LatticeEvent) => T | undefined,
    deadlineMs: number,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let scanned = 0;
      const finish = (value: T | undefined): void => {
        clearTimeout(timer);
        this.#wakers.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const check = (): void => {
        while (scanned < this.#seen.length) {
          const hit = match(this.#seen[scanned++]!);
          if (hit !== undefined) return finish(hit);
        }
        if (this.#ended) finish(undefined);
      };
      const onAbort = (): void => finish(undefined);
      const timer = setTimeout(() => finish(undefined), Math.max(0, deadlineMs - Date.now()));
      this.#wakers.add(check);
      signal?.addEventListener('abort', onAbort);
      check();
    });
  }

  /** Unsubscribes. */
  close(): void {
    this.#stream.close();
  }
}

/**
 * How long to wait for a host's event after its acknowledgement arrived. Hosts publish the event
 * before they reply, so it is normally already here; when it is not (a start of an actor that
 * already runs there sends none), the host's inventory gives the result.
 */
const EVENT_AFTER_ACK_MS = 250;

/** What an event means for an operation: its result, its failure, or nothing (another host's event). */
type Outcome<T> = { ok: T } | { err: WasmeshError } | undefined;

interface AwaitOptions<T> {
  ctx: OpContext;
  /** Sends the control request. */
  send: () => Promise<unknown>;
  match: (e: LatticeEvent) => Outcome<T>;
  /** The result when the host acknowledged but sent no event (e.g. the actor already ran there). */
  afterAck: () => Promise<T>;
  /** Progress line shown on stderr while this takes more than a second. */
  waiting: string;
  /** Prefix of failure messages, e.g. "cannot start actor echo on host …". */
  failing: string;
  /** Added to the details of failures. */
  context: Record<string, unknown>;
}

/**
 * Sends a control request and waits for the host's event (or its error reply); failures keep
 * their code and get the operation as message prefix and `context` in their details.
 */
async function awaitOutcome<T>(o: AwaitOptions<T>): Promise<T> {
  const { watch, deadlineMs, timeoutMs } = o.ctx;
  const abort = new AbortController();
  const progress = setTimeout(() => note(o.waiting), 1000);
  try {
    const acked = o.send().then(() => 'ack' as const);
    acked.catch(() => undefined);
    const first = await Promise.race([watch.waitFor(o.match, deadlineMs, abort.signal), acked]);
    let outcome: Outcome<T>;
    if (first === 'ack') {
      clearTimeout(progress);
      outcome = await watch.waitFor(o.match, Math.min(deadlineMs, Date.now() + EVENT_AFTER_ACK_MS), abort.signal);
      if (outcome === undefined) return await o.afterAck();
    } else {
      outcome = first;
    }
    if (outcome === undefined) {
      throw new WasmeshError('WASMESH_ERR_TIMEOUT', `no outcome within ${timeoutMs} ms (raise --timeout-ms?)`, {
        details: { timeoutMs },
      });
    }
    if ('err' in outcome) throw outcome.err;
    return outcome.ok;
  } catch (err) {
    if (!(err instanceof WasmeshError)) throw err;
    throw new WasmeshError(err.code, `${o.failing}: ${err.message}`, {
      cause: err,
      details: { ...err.details, ...o.context },
    });
  } finally {
    clearTimeout(progress);
    abort.abort();
  }
}

/** Event types {@link startOn}, {@link stopOn} and {@link updateOn} wait for. */
export const ACTOR_EVENTS: EventType[] = ['actor_started', 'actor_stopped', 'actor_updated', 'actor_failed'];

/** Context of the operations below. */
export interface OpContext {
  client: LatticeClient;
  control: ControlClient;
  watch: EventWatch;
  /** Unix ms by which every operation must be done. */
  deadlineMs: number;
  /** The command's --timeout-ms. */
  timeoutMs: number;
}

function failure(e: LatticeEvent, hostId: string, actorId: string): Outcome<never> {
  if (e.type !== 'actor_failed' || e.data.hostId !== hostId || e.data.actorId !== actorId) return undefined;
  return { err: fromErrorInfo(e.data.error ?? {}, { actor: actorId, host: hostId, ref: e.data.artifactRef ?? '' }) };
}

async function describeOn(ctx: OpContext, hostId: string, actorId: string): Promise<ActorView> {
  const inv = await ctx.control.inventory(hostId);
  const actor = inv.actors.find((a) => a.actorId === actorId);
  if (!actor) {
    throw new WasmeshError(
      'WASMESH_ERR_INTERNAL',
      `host ${hostId} acknowledged actor "${actorId}" but does not list it`,
      {
        details: { actor: actorId, host: hostId },
      },
    );
  }
  return actorView(actor);
}

/** Starts `actorId` on `host` and resolves with its description once the host reports it running. */
export function startOn(
  ctx: OpContext,
  host: HostRef,
  req: { actorId: string; artifactRef: string; maxConcurrent?: number; config?: string[] },
): Promise<ActorView> {
  const { hostId } = host;
  const { actorId } = req;
  return awaitOutcome<ActorView>({
    ctx,
    send: () =>
      ctx.control.startActor({
        hostId,
        actorId,
        artifactRef: req.artifactRef,
        maxConcurrent: req.maxConcurrent ?? 0,
        config: req.config ?? [],
      }),
    match: (e) => {
      if ((e.type === 'actor_started' || e.type === 'actor_updated') && e.data.hostId === hostId) {
        return e.data.actor?.actorId === actorId ? { ok: actorView(e.data.actor) } : undefined;
      }
      return failure(e, hostId, actorId);
    },
    afterAck: () => describeOn(ctx, hostId, actorId),
    waiting: `waiting for actor ${actorId} to start on host ${hostLabel(host)}…`,
    failing: `cannot start actor ${actorId} on host ${hostLabel(host)}`,
    context: { actor: actorId, host: hostId },
  });
}

/** Stops `actorId` on `host` and resolves once the host reports it stopped. */
export function stopOn(ctx: OpContext, host: HostRef, actorId: string): Promise<void> {
  const { hostId } = host;
  return awaitOutcome<void>({
    ctx,
    send: () => ctx.control.stopActor({ hostId, actorId, timeoutMs: 0 }),
    match: (e) =>
      e.type === 'actor_stopped' && e.data.hostId === hostId && e.data.actorId === actorId
        ? { ok: undefined }
        : undefined,
    // The host acknowledges a stop only once the actor has stopped.
    afterAck: () => Promise.resolve(),
    waiting: `waiting for actor ${actorId} to stop on host ${hostLabel(host)}…`,
    failing: `cannot stop actor ${actorId} on host ${hostLabel(host)}`,
    context: { actor: actorId, host: hostId },
  });
}

/** Moves `actorId` on `host` to `artifactRef`; resolves with the new description and the previous digest. */
export function updateOn(
  ctx: OpContext,
  host: HostRef,
  actorId: string,
  artifactRef: string,
): Promise<{ actor: ActorView; previousDigest: string }> {
  const { hostId } = host;
  return awaitOutcome({
    ctx,
    send: () => ctx.control.updateActor({ hostId, actorId, artifactRef }),
    match: (e) => {
      if (e.type === 'actor_updated' && e.data.hostId === hostId && e.data.actor?.actorId === actorId) {
        return { ok: { actor: actorView(e.data.actor), previousDigest: e.data.previousDigest ?? '' } };
      }
      return failure(e, hostId, actorId);
    },
    afterAck: async () => ({ actor: await describeOn(ctx, hostId, actorId), previousDigest: '' }),
    waiting: `waiting for actor ${actorId} to be updated on host ${hostLabel(host)}…`,
    failing: `cannot update actor ${actorId} on host ${hostLabel(host)}`,
    context: { actor: actorId, host: hostId },
  });
}

/**
 * Runs `fn` with an {@link OpContext}: a control client and an event watch (of `events`, by default
 * the actor events) opened first, closed after.
 */
export async function withOps<T>(
  client: LatticeClient,
  timeoutMs: number,
  fn: (ctx: OpContext) => Promise<T>,
  events: EventType[] = ACTOR_EVENTS,
): Promise<T> {
  const watch = new EventWatch(client, events);
  try {
    return await fn({
      client,
      control: controlFor(client, timeoutMs),
      watch,
      deadlineMs: Date.now() + timeoutMs,
      timeoutMs,
    });
  } finally {
    watch.close();
  }
}

/** `k=v,…` of constraints for messages. */
export function describeConstraints(constraints: Record<string, string>): string {
  return Object.keys(constraints).length ? formatLabels(constraints) : '(none)';
}

/** Runs the operations in parallel; throws the first failure (with what succeeded in its details) after all settle. */
export async function allOrFirstError<T>(ops: Promise<T>[], describe: (index: number) => string): Promise<T[]> {
  const settled = await Promise.allSettled(ops);
  const failed = settled.findIndex((s) => s.status === 'rejected');
  if (failed < 0) return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  const reason = (settled[failed] as PromiseRejectedResult).reason as unknown;
  const succeeded = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [describe(i)] : []));
  if (!(reason instanceof WasmeshError) || succeeded.length === 0) throw reason;
  throw new WasmeshError(reason.code, `${reason.message} (succeeded on: ${succeeded.join(', ')})`, {
    cause: reason,
    details: { ...reason.details, succeeded },
  });
}
