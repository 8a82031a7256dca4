/**
 * What a provider is made of: its contract, a handler per operation, and hooks for its links,
 * config, health and shutdown. `R` is the per-link resource a provider builds in `onLinkPut` (a
 * client for the backend the link's config names, say) and gets back with every call on that link.
 */
import type { Context } from '@opentelemetry/api';
import type { lattice } from '@wasmesh/proto';
import type { Provider } from './provider.js';

/** The lifecycle of a provider: `created → starting → running → draining → stopped`. */
export type ProviderState = 'created' | 'starting' | 'running' | 'draining' | 'stopped';

/** Merged string values of named config. */
export type ConfigValues = Readonly<Record<string, string>>;

/** What a call's handler knows about the call. */
export interface CallContext<R> {
  /** The provider serving the call. */
  provider: Provider<R>;
  /** The link the call came through (`sourceId` = the calling actor). */
  link: lattice.ILink;
  /** The link's KV key (one per actor, contract and link name). */
  linkKey: string;
  /** The link name the actor used (`default` when it gave none). */
  linkName: string;
  /** The link's named config values, merged in order. */
  config: ConfigValues;
  /** What `onLinkPut` built for this link (`undefined` without an `onLinkPut`). */
  resource: R;
  /** The calling actor's id. */
  source: string;
  /** The operation, `<Service>.<Method>`. */
  operation: string;
  /** The invocation's id, for logs. */
  invocationId: string;
  /** Unix-ms deadline of the call; work past it is wasted (the caller has given up). */
  deadlineMs: number;
  /** The trace context of the call's span; pass it on to continue the trace. */
  trace: Context;
}

/** Serves one operation: the request payload in, the response payload out; a throw becomes an error reply. */
export type OperationHandler<R> = (ctx: CallContext<R>, payload: Uint8Array) => Promise<Uint8Array> | Uint8Array;

/** A health verdict: a boolean, or with a message saying why. */
export type HealthStatus = boolean | { healthy: boolean; message?: string };

/** Why a link's resource is released. */
export type LinkReleaseReason = 'deleted' | 'replaced' | 'stopping';

/** A provider: its contract, operations and hooks. Every hook is optional. */
export interface ProviderDefinition<R = undefined> {
  /** The contract served, e.g. `wasmesh:keyvalue`. */
  contract: string;
  /**
   * The kind of provider (`http-server`), naming its process in telemetry (`wasmesh-provider-http-server`),
   * where an id would split one kind into as many services as instances. @default the contract's name
   */
  name?: string;
  /** Handlers by operation name (`KeyValue.Get`, …); any other operation is `WASMESH_ERR_UNKNOWN_OPERATION`. */
  operations: Readonly<Record<string, OperationHandler<R>>>;
  /** Runs once connected, before links are applied and calls are served. A throw fails `start()`. */
  start?(provider: Provider<R>): Promise<void> | void;
  /**
   * A link to this provider was put, or the config it uses changed: validate the config and build
   * the link's resource. A throw refuses the link (calls on it then fail with that error) and
   * reaches the user as a `link_status` event with `ok: false`; throw `configError(...)` for bad config.
   */
  onLinkPut?(link: lattice.ILink, config: ConfigValues, provider: Provider<R>): Promise<R> | R;
  /**
   * A link's resource is no longer used: the link was deleted, replaced by a newer put or config,
   * or the provider is stopping. Runs after the calls using it have finished. Only for links
   * whose `onLinkPut` succeeded.
   */
  onLinkDelete?(
    link: lattice.ILink,
    resource: R,
    reason: LinkReleaseReason,
    provider: Provider<R>,
  ): Promise<void> | void;
  /** The provider's own named config changed; every link is applied again afterwards. */
  onConfig?(config: ConfigValues, provider: Provider<R>): Promise<void> | void;
  /**
   * What to tell operators in the provider's registry entry (`wasmesh get providers`), e.g. the
   * address the HTTP server listens on. Asked once, after `start`.
   */
  annotations?(provider: Provider<R>): Readonly<Record<string, string>>;
  /** Health checks ask this. @default healthy */
  health?(provider: Provider<R>): Promise<HealthStatus> | HealthStatus;
  /** Runs last when stopping, after in-flight calls finished and links were released. */
  stop?(provider: Provider<R>): Promise<void> | void;
}

/**
 * The in-process entry of a provider package (its `providerDefinition` export): a host running the
 * provider inside its own process calls it with the provider's bootstrap environment (the same
 * `WASMESH_*` variables a provider process gets) instead of spawning `main.js`.
 */
export type ProviderFactory<R = unknown> = (env: NodeJS.ProcessEnv) => ProviderDefinition<R>;
