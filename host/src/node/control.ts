/**
 * The host's side of the control API: one handler per operation, which decodes the request,
 * delegates to the part of the host that owns the operation (the host itself, its labels, its
 * actors, its providers, its spy watches) and encodes the answer. Requests are decoded at the edge
 * (malformed → `WASMESH_ERR_BAD_REQUEST`), and every failure is a typed error reply; a bad request
 * never disturbs the host.
 */
import type { Msg } from '@nats-io/transport-node';
import { checkToken, decode, encode, MAX_TIMER_MS, type ControlOp } from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import type { ActorLifecycle } from '../actors/lifecycle.js';
import type { ProviderSupervisor } from '../providers/supervisor.js';
import type { LabelEditor } from './labels.js';
import type { SpiedActors } from './spied-actors.js';

/**
 * How long a stop waits for in-flight work: the request's `timeout_ms` (0: `fallback`), at most
 * {@link MAX_TIMER_MS}. A uint32 may ask for more than a Node timer holds, and such a timer fires
 * after 1 ms: the stop gave up at once instead of waiting (found by fuzzing).
 */
function waitOf(requestedMs: number, fallbackMs: number): number {
  return Math.min(requestedMs || fallbackMs, MAX_TIMER_MS);
}

/** How long a spy's watch lasts when it names no duration. */
const DEFAULT_SPY_WATCH_MS = 5000;

/** What the control handlers ask of the host itself. */
export interface ControlledHost {
  readonly id: string;
  /** This host as ping replies describe it. */
  info(): lattice.IHostInfo;
  /** What this host runs. */
  inventory(): lattice.IHostInventory;
  /** This host's offer in an auction for `actorId`, or `null` when it does not bid. */
  auctionOffer(actorId: string, constraints: Record<string, string>): lattice.IAuctionOffer | null;
  /** Graceful stop (see `LatticeHost.drain`). */
  drain(reason: string, timeoutMs: number): Promise<void>;
}

/** The parts of a host the control handlers delegate to (the host builds them once connected). */
export interface ControlDeps {
  host: ControlledHost;
  labels: Pick<LabelEditor, 'put' | 'delete'>;
  actors: Pick<ActorLifecycle, 'start' | 'update' | 'stop' | 'recordedClaims'>;
  providers: Pick<ProviderSupervisor, 'start' | 'stop'>;
  spied: Pick<SpiedActors, 'watch'>;
  /** How long a stop waits for in-flight work when its request names no time. */
  drainTimeoutMs: number;
}

/** Control handlers bound to one host. */
export class ControlHandlers {
  constructor(private readonly deps: ControlDeps) {}

  /** Handles one control request; `null` means "no reply" (an auction this host does not bid in). */
  async handle(op: ControlOp, msg: Msg): Promise<Uint8Array | null> {
    const { host, labels, actors, providers, spied } = this.deps;
    switch (op) {
      case 'host.ping':
        decode(lattice.PingRequest, msg.data, 'ping request');
        return encode(lattice.HostInfo, host.info());
      case 'host.inventory':
        decode(lattice.GetInventoryRequest, msg.data, 'inventory request');
        return encode(lattice.HostInventory, host.inventory());
      case 'host.stop':
        return this.#stopHost(decode(lattice.StopHostRequest, msg.data, 'stop-host request'));
      case 'label.put': {
        const req = decode(lattice.PutLabelRequest, msg.data, 'label put request');
        return ack(labels.put(req.key, req.value));
      }
      case 'label.del':
        return ack(labels.delete(decode(lattice.DeleteLabelRequest, msg.data, 'label delete request').key));
      case 'actor.auction': {
        const req = decode(lattice.AuctionActorRequest, msg.data, 'actor auction request');
        const offer = host.auctionOffer(req.actorId, req.constraints ?? {});
        return offer && encode(lattice.AuctionOffer, offer);
      }
      case 'actor.start':
        return ack(await actors.start(decode(lattice.StartActorRequest, msg.data, 'start-actor request')));
      case 'actor.stop': {
        const req = decode(lattice.StopActorRequest, msg.data, 'stop-actor request');
        return ack(await actors.stop(req.actorId, waitOf(req.timeoutMs, this.deps.drainTimeoutMs)));
      }
      case 'actor.update':
        return ack(await actors.update(decode(lattice.UpdateActorRequest, msg.data, 'update-actor request')));
      case 'claims.get':
        decode(lattice.GetClaimsRequest, msg.data, 'claims request');
        return encode(lattice.GetClaimsResponse, { claims: await actors.recordedClaims() });
      case 'provider.start':
        return ack(await providers.start(decode(lattice.StartProviderRequest, msg.data, 'start-provider request')));
      case 'provider.stop':
        return ack(await providers.stop(decode(lattice.StopProviderRequest, msg.data, 'stop-provider request')));
      case 'spy.watch': {
        const req = decode(lattice.SpyWatchRequest, msg.data, 'spy watch request');
        spied.watch(checkToken('actor id', req.actorId), req.forMs || DEFAULT_SPY_WATCH_MS);
        return null;
      }
    }
  }

  #stopHost(req: lattice.StopHostRequest): Uint8Array {
    const { host } = this.deps;
    const timeout = waitOf(req.timeoutMs, this.deps.drainTimeoutMs);
    // Reply first, then drain: the requester gets its answer before the connection closes.
    setImmediate(() => void host.drain('stop requested', timeout));
    return ack(`host ${host.id} is draining (up to ${timeout} ms)`);
  }
}

/** An acknowledgement reply. */
function ack(message: string): Uint8Array {
  return encode(lattice.Ack, { message });
}
