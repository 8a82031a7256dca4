/**
 * The http-server provider: contract `wasmesh:httpserver`
 * (proto/wasmesh/contracts/v1/httpserver.proto). One shared listener, opened at start at the
 * provider's `address`, serves every linked actor by the Host and path prefix its link's config
 * sets; a link with its own `address` gets a listener of its own (shared by the links naming the
 * same address, closed when the last of them goes). Each request becomes an
 * `HttpServer.HandleRequest` call of the route's actor; see config.ts for the settings and
 * gateway.ts for the answers.
 *
 * Actors do not call this provider: it serves no operations. Its registry entry carries the
 * shared listener's `url` (`wasmesh get providers`).
 */
import { describeLink, linkKey, DEFAULT_LINK_NAME, type Logger } from '@wasmesh/lattice';
import { ContractId, Operation } from '@wasmesh/proto';
import { Provider, type ConfigValues, type ProviderDefinition, type ProviderOptions } from '@wasmesh/provider-sdk';
import {
  formatAddress,
  parseRouteConfig,
  parseServerConfig,
  ROUTE_KEYS,
  SERVER_KEYS,
  unknownKeys,
  type ListenAddress,
  type ServerConfig,
} from './config.js';
import { createGateway } from './gateway.js';
import { HttpListener } from './listener.js';
import type { Route } from './routes.js';

/** A link's route and the listener it lives on. */
export interface LinkRoute {
  route: Route;
  listener: HttpListener;
}

/** Listeners by address, with the number of routes holding each (the shared one is never closed early). */
class Listeners {
  readonly #open = new Map<string, { listener: Promise<HttpListener>; users: number }>();

  constructor(
    private readonly create: (address: ListenAddress) => HttpListener,
    private readonly logger: Logger,
  ) {}

  /** The listener at `address`, opened if need be; `release` it when done. */
  async acquire(address: ListenAddress): Promise<HttpListener> {
    const key = formatAddress(address);
    let entry = this.#open.get(key);
    if (!entry) {
      const listener = this.create(address).open();
      entry = { listener, users: 0 };
      this.#open.set(key, entry);
      listener.then(
        (l) => this.logger.info({ url: l.url }, 'HTTP listener open'),
        () => this.#open.delete(key),
      );
    }
    entry.users++;
    try {
      return await entry.listener;
    } catch (err) {
      entry.users--;
      throw err;
    }
  }

  /** One user fewer; the listener closes with its last user. */
  async release(listener: HttpListener): Promise<void> {
    const key = formatAddress(listener.address);
    const entry = this.#open.get(key);
    if (!entry || --entry.users > 0) return;
    this.#open.delete(key);
    await listener.close();
    this.logger.info({ address: key }, 'HTTP listener closed');
  }

  /** Closes every listener. */
  async closeAll(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(all.map(async (e) => (await e.listener.catch(() => undefined))?.close()));
  }

  /** The open listeners. */
  async list(): Promise<HttpListener[]> {
    const settled = await Promise.all([...this.#open.values()].map((e) => e.listener.catch(() => undefined)));
    return settled.filter((l): l is HttpListener => l !== undefined);
  }
}

/** The provider's definition: a route per link on the shared or its own listener. */
export function httpServerProvider(): ProviderDefinition<LinkRoute> {
  let server: ServerConfig | undefined;
  let listeners: Listeners | undefined;
  let shared: HttpListener | undefined;

  const settings = (): ServerConfig => server!;

  return {
    contract: ContractId.HTTPSERVER,
    name: 'http-server',
    operations: {},

    async start(provider) {
      const unknown = unknownKeys(provider.config, SERVER_KEYS);
      if (unknown.length > 0) provider.logger.warn({ unknown }, 'unknown provider config keys ignored');
      server = parseServerConfig(provider.config);
      const handler = createGateway({
        logger: provider.logger,
        call: (actorId, payload, { timeoutMs, parent }) =>
          provider.invokeActor(actorId, Operation.HttpServer.HandleRequest, payload, {
            timeoutMs,
            ...(parent ? { parent } : {}),
          }),
      });
      const limits = server;
      listeners = new Listeners(
        (address) => new HttpListener(address, limits, handler, provider.logger),
        provider.logger,
      );
      shared = await listeners.acquire(server.address);
    },

    annotations(): Record<string, string> {
      return shared ? { url: shared.url, address: formatAddress(shared.bound) } : {};
    },

    async onLinkPut(link, config: ConfigValues, provider: Provider<LinkRoute>) {
      const unknown = unknownKeys(config, ROUTE_KEYS);
      if (unknown.length > 0)
        provider.logger.warn({ link: describeLink(link), unknown }, 'unknown config keys ignored');
      const routeConfig = parseRouteConfig(config, settings());
      const actorId = link.sourceId ?? '';
      const linkName = link.name || DEFAULT_LINK_NAME;
      const route: Route = {
        linkKey: linkKey(actorId, ContractId.HTTPSERVER, linkName),
        actorId,
        linkName,
        config: routeConfig,
      };
      const listener = await listeners!.acquire(routeConfig.address ?? settings().address);
      try {
        listener.routes.add(route);
      } catch (err) {
        await listeners!.release(listener);
        throw err;
      }
      provider.logger.info(
        { link: describeLink(link), url: listener.url, path: routeConfig.path, host: routeConfig.host || '*' },
        'HTTP route ready',
      );
      return { route, listener };
    },

    async onLinkDelete(_link, { route, listener }) {
      listener.routes.remove(route);
      await listeners!.release(listener);
    },

    async health() {
      const down = (await listeners!.list()).filter((l) => l.state !== 'listening');
      return down.length === 0
        ? true
        : {
            healthy: false,
            message: `listeners not listening: ${down.map((l) => formatAddress(l.address)).join(', ')}`,
          };
    },

    async stop() {
      await listeners?.closeAll();
    },
  };
}

/** An http-server provider (state `created`; call `start()`), configured from `options` and the `WASMESH_*` env. */
export function createHttpServerProvider(options: ProviderOptions = {}): Provider<LinkRoute> {
  return new Provider(httpServerProvider(), options);
}
