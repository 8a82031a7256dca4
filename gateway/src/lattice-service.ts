/**
 * `wasmesh.lattice.v1.Lattice` (gateway.proto) over gRPC: links, named config and providers in
 * the lattice's KV state, actor invocation, and the live event stream.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { DEFAULT_LINK_NAME, EVENT_TYPES, WasmeshError, type EventType, type LatticeEvent } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import { required, serverStream, unary, type CallContext } from './calls.js';
import { EVENT_SOURCE, type ServiceDeps } from './deps.js';

/** Default deadline of Invoke when the request and the client give none (as `LatticeClient.invoke`). */
export const INVOKE_TIMEOUT_MS = 10_000;

/** `actor_started` → `actorStarted`: the Event oneof field of an event type. */
function eventField(type: EventType): string {
  return type.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** A decoded lattice event as the `Event` message. */
export function toEventMessage(e: LatticeEvent): lattice.IEvent {
  return { id: e.id, source: e.source, timeMs: e.timeMs, [eventField(e.type)]: e.data };
}

/** Checks the requested event types; INVALID_ARGUMENT naming the unknown one. */
function eventTypes(types: string[] | null | undefined): EventType[] {
  const list = types ?? [];
  const unknown = list.find((t) => !EVENT_TYPES.includes(t as EventType));
  if (unknown !== undefined) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `WatchEventsRequest.types has unknown event type "${unknown}"; known: ${EVENT_TYPES.join(', ')}`,
      { details: { message: 'WatchEventsRequest', field: 'types', value: unknown } },
    );
  }
  return list as EventType[];
}

/** Resolves once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** The Lattice service implementation over `deps.client`. */
export function latticeService(deps: ServiceDeps): UntypedServiceImplementation {
  const { client, pre, logger } = deps;
  const u = <Req, Res>(name: string, fn: (req: Req, ctx: CallContext) => Promise<Res>) =>
    unary<Req, Res>(`Lattice.${name}`, pre, logger, fn);
  const state = () => client.state();
  return {
    PutLink: u<lattice.IPutLinkRequest, lattice.IPutLinkResponse>('PutLink', async (req) => {
      if (!req.link) throw missing('PutLinkRequest', 'link');
      required('PutLinkRequest.link', req.link, 'sourceId', 'contract', 'targetId');
      return (await state()).putLink(req.link, EVENT_SOURCE);
    }),
    DeleteLink: u<lattice.IDeleteLinkRequest, lattice.IDeleteLinkResponse>('DeleteLink', async (req) => {
      required('DeleteLinkRequest', req, 'sourceId', 'contract');
      const link = await (
        await state()
      ).deleteLink(req.sourceId!, req.contract!, req.name || DEFAULT_LINK_NAME, EVENT_SOURCE);
      return { link };
    }),
    ListLinks: u<lattice.IListLinksRequest, lattice.IListLinksResponse>('ListLinks', async () => ({
      links: await (await state()).allLinks(),
    })),
    PutConfig: u<lattice.IPutConfigRequest, lattice.IAck>('PutConfig', async (req) => {
      if (!req.config) throw missing('PutConfigRequest', 'config');
      const { name } = required('PutConfigRequest.config', req.config, 'name');
      await (await state()).putConfig(name!, { ...req.config.values }, EVENT_SOURCE);
      return { message: `config "${name}" stored` };
    }),
    GetConfig: u<lattice.IGetConfigRequest, lattice.INamedConfig>('GetConfig', async (req) => {
      const { name } = required('GetConfigRequest', req, 'name');
      return { name, values: await (await state()).getConfig(name!) };
    }),
    DeleteConfig: u<lattice.IDeleteConfigRequest, lattice.IAck>('DeleteConfig', async (req) => {
      const { name } = required('DeleteConfigRequest', req, 'name');
      await (await state()).deleteConfig(name!, EVENT_SOURCE);
      return { message: `config "${name}" deleted` };
    }),
    ListConfig: u<lattice.IListConfigRequest, lattice.IListConfigResponse>('ListConfig', async () => ({
      configs: [...(await (await state()).config.entries()).values()],
    })),
    ListProviders: u<lattice.IListProvidersRequest, lattice.IListProvidersResponse>('ListProviders', async () => ({
      providers: [...(await (await state()).providers.entries()).values()],
    })),
    Invoke: u<lattice.IInvokeRequest, lattice.IInvokeResponse>('Invoke', async (req, ctx) => {
      required('InvokeRequest', req, 'actorId', 'operation');
      const out = await client.invokeDetailed(req.actorId!, req.operation!, req.payload ?? new Uint8Array(), {
        timeoutMs: ctx.budget(req.timeoutMs || INVOKE_TIMEOUT_MS),
        source: EVENT_SOURCE,
      });
      return { payload: out.payload, hostId: out.hostId };
    }),
    WatchEvents: serverStream<lattice.IWatchEventsRequest, lattice.IEvent>(
      'Lattice.WatchEvents',
      pre,
      logger,
      async (req, ctx, send) => {
        const types = eventTypes(req.types);
        const stream = client.events(types.length > 0 ? { types } : {});
        const untrack = deps.trackStream(() => stream.close());
        void aborted(ctx.signal).then(() => stream.close());
        try {
          for await (const e of stream) send(toEventMessage(e));
        } finally {
          untrack();
          stream.close();
        }
        // The subscription ends without a cancel or a drain only when the connection closed for good.
        if (client.nc.isClosed() && !ctx.signal.aborted) {
          throw new WasmeshError(
            'WASMESH_ERR_NOT_CONNECTED',
            "Lattice.WatchEvents: the gateway's NATS connection closed",
          );
        }
      },
    ),
  };
}

function missing(message: string, field: string): WasmeshError {
  return new WasmeshError('WASMESH_ERR_BAD_REQUEST', `${message}.${field} is required and was empty`, {
    details: { message, field },
  });
}
