/**
 * Every NATS subject wasmesh uses, built in this one module. Subjects are versioned (`v1`) and
 * prefixed by the lattice name, so two lattices on one NATS never see each other's traffic:
 *
 *   control     wasmesh.ctl.v1.<lattice>.<op>[.<hostId>]
 *   events      wasmesh.evt.v1.<lattice>.<type>.<source>   (source: the publisher's id)
 *   invocations wasmesh.rpc.v1.<lattice>.<actorId>     (queue group = the subject)
 *               wasmesh.rpc.v1.<lattice>.provider.<providerId>
 *
 * Names that become subject tokens are validated here: a dot, space or wildcard in a lattice or
 * actor id would silently widen a subscription.
 */
import { WasmeshError } from './errors.js';

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** Checks that `value` can be one subject token; throws `WASMESH_ERR_INVALID_NAME` naming `what`. */
export function checkToken(what: string, value: string): string {
  if (!TOKEN.test(value)) {
    throw new WasmeshError(
      'WASMESH_ERR_INVALID_NAME',
      `invalid ${what} "${value}": use 1-128 letters, digits, '-' or '_'`,
      { details: { what, value } },
    );
  }
  return value;
}

/** What an invocation is addressed to: an actor or a provider, each by its id. */
export type InvocationTarget = { actor: string } | { provider: string };

/** Control operations: each has its own subject. */
export type ControlOp =
  | 'host.ping'
  | 'host.inventory'
  | 'host.stop'
  | 'label.put'
  | 'label.del'
  | 'actor.auction'
  | 'actor.start'
  | 'actor.stop'
  | 'actor.update'
  | 'claims.get'
  | 'provider.start'
  | 'provider.stop'
  | 'spy.watch';

/** Operations sent to one host; the host id is the last token. */
export const HOST_TARGETED_OPS: ReadonlySet<ControlOp> = new Set<ControlOp>([
  'host.inventory',
  'host.stop',
  'label.put',
  'label.del',
  'actor.start',
  'actor.stop',
  'actor.update',
  'provider.start',
  'provider.stop',
]);

/** Event types, as the last subject token. */
export type EventType =
  | 'host_started'
  | 'host_stopped'
  | 'host_heartbeat'
  | 'actor_started'
  | 'actor_stopped'
  | 'actor_failed'
  | 'actor_updated'
  | 'labels_changed'
  | 'link_set'
  | 'link_deleted'
  | 'link_status'
  | 'config_set'
  | 'config_deleted'
  | 'provider_started'
  | 'provider_stopped'
  | 'provider_health'
  | 'local_call';

/** Subject builders for one lattice. */
export class Subjects {
  readonly lattice: string;

  constructor(lattice: string) {
    this.lattice = checkToken('lattice name', lattice);
  }

  /** A control subject; host-targeted ops need `hostId`. */
  control(op: ControlOp, hostId?: string): string {
    const base = `wasmesh.ctl.v1.${this.lattice}.${op}`;
    if (!HOST_TARGETED_OPS.has(op)) return base;
    if (hostId === undefined) throw new Error(`control op ${op} needs a host id`);
    return `${base}.${checkToken('host id', hostId)}`;
  }

  /** Every control subject a host with `hostId` subscribes to. */
  hostControlSubjects(hostId: string): { op: ControlOp; subject: string; queue?: string }[] {
    const ops: ControlOp[] = ['host.ping', 'actor.auction', ...HOST_TARGETED_OPS];
    const subs: { op: ControlOp; subject: string; queue?: string }[] = ops.map((op) => ({
      op,
      subject: this.control(op, hostId),
    }));
    // Lattice-wide queries any one host can answer (the data lives in KV).
    subs.push({ op: 'claims.get', subject: this.control('claims.get'), queue: this.control('claims.get') });
    // Every host hears that a spy watches an actor (it mirrors that actor's local calls).
    subs.push({ op: 'spy.watch', subject: this.control('spy.watch') });
    return subs;
  }

  /**
   * Where `source` publishes events of `type`. The publisher's id is the last token so that the
   * server can pin it: host X's credentials may publish only `….X` (see auth/roles.ts), and
   * subscribers drop an event whose body names another source.
   */
  event(type: EventType, source: string): string {
    return `wasmesh.evt.v1.${this.lattice}.${type}.${checkToken('event source', source)}`;
  }

  /** Wildcard for the events of one type, from any source. */
  eventsOf(type: EventType): string {
    return `wasmesh.evt.v1.${this.lattice}.${type}.*`;
  }

  /** Wildcard for every event of this lattice. */
  allEvents(): string {
    return `wasmesh.evt.v1.${this.lattice}.*.*`;
  }

  /** Where invocations of `actorId` go; hosts running it subscribe with this as the queue group. */
  actor(actorId: string): string {
    return `wasmesh.rpc.v1.${this.lattice}.${checkToken('actor id', actorId)}`;
  }

  /**
   * Where invocations of provider `providerId` go (queue group = the subject). Providers have a
   * namespace of their own, one token deeper than actors': a provider and an actor of the same id
   * never share a subject, and permissions tell them apart (a provider serves only its own).
   */
  provider(providerId: string): string {
    return `wasmesh.rpc.v1.${this.lattice}.provider.${checkToken('provider id', providerId)}`;
  }

  /** Where invocations of `target` go. */
  invocations(target: InvocationTarget): string {
    return 'provider' in target ? this.provider(target.provider) : this.actor(target.actor);
  }

  /** Wildcard for every invocation in this lattice (of actors and providers alike), for observers. */
  allInvocations(): string {
    return `wasmesh.rpc.v1.${this.lattice}.>`;
  }

  /** Where provider `providerId` answers health checks (request/reply, a `ProviderHealth` reply). */
  providerHealth(providerId: string): string {
    return `wasmesh.ctl.v1.${this.lattice}.provider.health.${checkToken('provider id', providerId)}`;
  }

  /** JetStream KV bucket of this lattice's state of `kind` (`actors`, `claims`, …). */
  bucket(kind: string): string {
    return `wasmesh_${this.lattice}_${checkToken('bucket kind', kind)}`;
  }

  /** JetStream object store holding this lattice's artifacts and large payloads. */
  objectStore(): string {
    return `wasmesh_${this.lattice}_objects`;
  }
}
