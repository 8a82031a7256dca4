/**
 * `wasmesh.lattice.v1.Control` over gRPC: each rpc forwards to the lattice through the
 * {@link ControlClient}, with the client's deadline as the request's timeout. The scatter rpcs
 * (Ping, AuctionActor) are server-streaming: one message per host that answered within the
 * collection window, which the deadline shortens.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { CONTROL_TIMEOUT_MS, ControlClient, SCATTER_WAIT_MS } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import { required, serverStream, unary, type CallContext } from './calls.js';
import type { ServiceDeps } from './deps.js';

/**
 * Default timeout of the rpcs that wait for a process or a module (provider start/stop: a provider
 * has 15 s to register; actor start compiles; host stop drains), as the CLI's; a client deadline
 * shortens it. The others use {@link CONTROL_TIMEOUT_MS}.
 */
export const SLOW_TIMEOUT_MS = 30_000;

/** Time kept back from a deadline so scatter replies can still be streamed before it. */
function scatterWindow(ctx: CallContext): number {
  const left = ctx.remainingMs();
  if (!Number.isFinite(left)) return SCATTER_WAIT_MS;
  return ctx.budget(Math.min(SCATTER_WAIT_MS, left - Math.min(200, left / 5)));
}

/** The Control service implementation over `deps.client`. */
export function controlService(deps: ServiceDeps): UntypedServiceImplementation {
  const { pre, logger } = deps;
  const control = (ctx: CallContext, defaultMs = CONTROL_TIMEOUT_MS): ControlClient =>
    new ControlClient(deps.client.nc, deps.client.subjects, ctx.budget(defaultMs));
  const u = <Req, Res>(name: string, fn: (req: Req, ctx: CallContext) => Promise<Res>) =>
    unary<Req, Res>(`Control.${name}`, pre, logger, fn);
  return {
    Ping: serverStream<lattice.IPingRequest, lattice.IHostInfo>(
      'Control.Ping',
      pre,
      logger,
      async (_req, ctx, send) => {
        for (const host of await deps.client.control.ping(scatterWindow(ctx))) send(host);
      },
    ),
    AuctionActor: serverStream<lattice.IAuctionActorRequest, lattice.IAuctionOffer>(
      'Control.AuctionActor',
      pre,
      logger,
      async (req, ctx, send) => {
        required('AuctionActorRequest', req, 'actorId');
        for (const offer of await deps.client.control.auction(req, scatterWindow(ctx))) send(offer);
      },
    ),
    GetInventory: u<lattice.IGetInventoryRequest, lattice.IHostInventory>('GetInventory', (req, ctx) =>
      control(ctx).inventory(required('GetInventoryRequest', req, 'hostId').hostId!),
    ),
    StopHost: u<lattice.IStopHostRequest, lattice.IAck>('StopHost', (req, ctx) =>
      control(ctx, SLOW_TIMEOUT_MS).stopHost(required('StopHostRequest', req, 'hostId').hostId!, req.timeoutMs ?? 0),
    ),
    PutLabel: u<lattice.IPutLabelRequest, lattice.IAck>('PutLabel', (req, ctx) => {
      required('PutLabelRequest', req, 'hostId', 'key');
      return control(ctx).putLabel(req.hostId!, req.key!, req.value ?? '');
    }),
    DeleteLabel: u<lattice.IDeleteLabelRequest, lattice.IAck>('DeleteLabel', (req, ctx) => {
      required('DeleteLabelRequest', req, 'hostId', 'key');
      return control(ctx).deleteLabel(req.hostId!, req.key!);
    }),
    StartActor: u<lattice.IStartActorRequest, lattice.IAck>('StartActor', (req, ctx) =>
      control(ctx, SLOW_TIMEOUT_MS).startActor(
        required('StartActorRequest', req, 'hostId', 'actorId', 'artifactRef') as typeof req & { hostId: string },
      ),
    ),
    StopActor: u<lattice.IStopActorRequest, lattice.IAck>('StopActor', (req, ctx) =>
      control(ctx).stopActor(required('StopActorRequest', req, 'hostId', 'actorId') as typeof req & { hostId: string }),
    ),
    UpdateActor: u<lattice.IUpdateActorRequest, lattice.IAck>('UpdateActor', (req, ctx) =>
      control(ctx).updateActor(
        required('UpdateActorRequest', req, 'hostId', 'actorId', 'artifactRef') as typeof req & { hostId: string },
      ),
    ),
    GetClaims: u<lattice.IGetClaimsRequest, lattice.IGetClaimsResponse>('GetClaims', async (_req, ctx) => ({
      claims: await control(ctx).getClaims(),
    })),
    StartProvider: u<lattice.IStartProviderRequest, lattice.IAck>('StartProvider', (req, ctx) =>
      control(ctx, SLOW_TIMEOUT_MS).startProvider(
        required('StartProviderRequest', req, 'hostId', 'providerId', 'artifactRef') as typeof req & {
          hostId: string;
        },
      ),
    ),
    StopProvider: u<lattice.IStopProviderRequest, lattice.IAck>('StopProvider', (req, ctx) =>
      control(ctx, SLOW_TIMEOUT_MS).stopProvider(
        required('StopProviderRequest', req, 'hostId', 'providerId') as typeof req & { hostId: string },
      ),
    ),
  };
}
