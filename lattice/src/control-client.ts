/**
 * Typed client of the lattice control API (see proto/wasmesh/lattice/v1/control.proto). Each
 * method sends one protobuf request on its subject and returns the decoded response, or throws the
 * host's error with its code (`WASMESH_ERR_NOT_FOUND` for an unknown host is
 * `WASMESH_ERR_NO_RESPONDERS` on the wire, translated here into a message that names the host).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { lattice } from '@wasmesh/proto';
import { decode, encode } from './codec.js';
import { WasmeshError } from './errors.js';
import { controlRequest, scatter } from './rpc.js';
import type { ControlOp, Subjects } from './subjects.js';

/** Default deadline of a control request. */
export const CONTROL_TIMEOUT_MS = 5000;
/** Default time to collect scatter replies (ping, auction). */
export const SCATTER_WAIT_MS = 1500;

/** Typed control API client for one lattice. */
export class ControlClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly timeoutMs = CONTROL_TIMEOUT_MS,
  ) {}

  async #hostRequest<Req, Res>(
    op: ControlOp,
    hostId: string,
    reqType: { encode(m: Req): { finish(): Uint8Array } },
    req: Req,
    resType: { decode(b: Uint8Array): Res },
    what: string,
  ): Promise<Res> {
    const body = await controlRequest(this.nc, this.subjects.control(op, hostId), encode(reqType, req), {
      timeoutMs: this.timeoutMs,
      what,
      context: { host: hostId },
    }).catch((err: WasmeshError) => {
      if (err.code === 'WASMESH_ERR_NO_RESPONDERS') {
        throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `no host "${hostId}" in lattice "${this.subjects.lattice}"`, {
          cause: err,
          details: { host: hostId },
        });
      }
      throw err;
    });
    return decode(resType, body, `${what} response`);
  }

  /** Every host of the lattice (those that answer within `maxWaitMs`). */
  async ping(maxWaitMs = SCATTER_WAIT_MS): Promise<lattice.HostInfo[]> {
    const { bodies } = await scatter(this.nc, this.subjects.control('host.ping'), encode(lattice.PingRequest, {}), {
      maxWaitMs,
      what: 'host ping',
    });
    return bodies
      .map((b) => decode(lattice.HostInfo, b, 'ping reply'))
      .sort((a, b) => a.hostId.localeCompare(b.hostId));
  }

  /** What host `hostId` runs. */
  inventory(hostId: string): Promise<lattice.HostInventory> {
    return this.#hostRequest(
      'host.inventory',
      hostId,
      lattice.GetInventoryRequest,
      { hostId },
      lattice.HostInventory,
      `inventory request to host ${hostId}`,
    );
  }

  /** Asks host `hostId` to drain and stop. */
  stopHost(hostId: string, timeoutMs = 0): Promise<lattice.Ack> {
    return this.#hostRequest(
      'host.stop',
      hostId,
      lattice.StopHostRequest,
      { hostId, timeoutMs },
      lattice.Ack,
      `stop request to host ${hostId}`,
    );
  }

  /** Sets label `key=value` on host `hostId`. */
  putLabel(hostId: string, key: string, value: string): Promise<lattice.Ack> {
    return this.#hostRequest(
      'label.put',
      hostId,
      lattice.PutLabelRequest,
      { hostId, key, value },
      lattice.Ack,
      `label put on host ${hostId}`,
    );
  }

  /** Removes label `key` from host `hostId`. */
  deleteLabel(hostId: string, key: string): Promise<lattice.Ack> {
    return this.#hostRequest(
      'label.del',
      hostId,
      lattice.DeleteLabelRequest,
      { hostId, key },
      lattice.Ack,
      `label delete on host ${hostId}`,
    );
  }

  /** Hosts that could run `actorId` (labels satisfy `constraints`, not running it yet), least loaded first. */
  async auction(request: lattice.IAuctionActorRequest, maxWaitMs = SCATTER_WAIT_MS): Promise<lattice.AuctionOffer[]> {
    const { bodies } = await scatter(
      this.nc,
      this.subjects.control('actor.auction'),
      encode(lattice.AuctionActorRequest, request),
      {
        maxWaitMs,
        what: `auction for actor ${request.actorId}`,
      },
    );
    return bodies
      .map((b) => decode(lattice.AuctionOffer, b, 'auction offer'))
      .sort((a, b) => a.actorsRunning - b.actorsRunning || a.hostId.localeCompare(b.hostId));
  }

  /** Starts (or re-limits) an actor on a host; the host answers once it serves invocations. */
  startActor(request: lattice.IStartActorRequest & { hostId: string }): Promise<lattice.Ack> {
    return this.#hostRequest(
      'actor.start',
      request.hostId,
      lattice.StartActorRequest,
      request,
      lattice.Ack,
      `start of actor ${request.actorId} on host ${request.hostId}`,
    );
  }

  /** Stops an actor on a host after its in-flight invocations finish. */
  stopActor(request: lattice.IStopActorRequest & { hostId: string }): Promise<lattice.Ack> {
    return this.#hostRequest(
      'actor.stop',
      request.hostId,
      lattice.StopActorRequest,
      request,
      lattice.Ack,
      `stop of actor ${request.actorId} on host ${request.hostId}`,
    );
  }

  /** Moves an actor on a host to a new artifact without dropping in-flight invocations. */
  updateActor(request: lattice.IUpdateActorRequest & { hostId: string }): Promise<lattice.Ack> {
    return this.#hostRequest(
      'actor.update',
      request.hostId,
      lattice.UpdateActorRequest,
      request,
      lattice.Ack,
      `update of actor ${request.actorId} on host ${request.hostId}`,
    );
  }

  /**
   * Starts a capability provider process on a host, which supervises it from then on; the host
   * answers once the provider has registered (or with the error that stopped it: its exit status
   * and stderr, an unknown reference or config).
   */
  startProvider(request: lattice.IStartProviderRequest & { hostId: string }): Promise<lattice.Ack> {
    return this.#hostRequest(
      'provider.start',
      request.hostId,
      lattice.StartProviderRequest,
      request,
      lattice.Ack,
      `start of provider ${request.providerId} on host ${request.hostId}`,
    );
  }

  /** Stops a provider on a host (SIGTERM, then SIGKILL after the host's stop timeout). */
  stopProvider(request: lattice.IStopProviderRequest & { hostId: string }): Promise<lattice.Ack> {
    return this.#hostRequest(
      'provider.stop',
      request.hostId,
      lattice.StopProviderRequest,
      request,
      lattice.Ack,
      `stop of provider ${request.providerId} on host ${request.hostId}`,
    );
  }

  /** Claims recorded for the actors of the lattice. */
  async getClaims(): Promise<lattice.IClaims[]> {
    const body = await controlRequest(
      this.nc,
      this.subjects.control('claims.get'),
      encode(lattice.GetClaimsRequest, {}),
      {
        timeoutMs: this.timeoutMs,
        what: 'claims request',
      },
    );
    return decode(lattice.GetClaimsResponse, body, 'claims response').claims;
  }
}
