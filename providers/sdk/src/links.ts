/**
 * The links a provider serves: applied one change at a time per link (put, config change,
 * delete), each with the resource its `onLinkPut` built and a count of the calls using it, so a
 * replaced or deleted link's resource is released only once those calls have finished.
 */
import {
  DEFAULT_LINK_NAME,
  describeLink,
  isWasmeshError,
  publishEvent,
  toErrorInfo,
  WasmeshError,
  type LinkState,
  type Logger,
  type Subjects,
} from '@wasmesh/lattice';
import type { NatsConnection } from '@nats-io/transport-node';
import type { lattice } from '@wasmesh/proto';
import type { ConfigValues, LinkReleaseReason, ProviderDefinition } from './definition.js';
import type { Provider } from './provider.js';

/** A link as the provider applied it. */
export interface ProviderLink<R> {
  /** The link's KV key. */
  readonly key: string;
  readonly link: lattice.ILink;
  /** Its merged config values. */
  readonly config: ConfigValues;
  /** The KV revision of the link entry applied. */
  readonly revision: number;
  /** What `onLinkPut` built; `undefined` when it refused the link. */
  readonly resource: R | undefined;
  /** Why `onLinkPut` refused the link, if it did. */
  readonly error: WasmeshError | undefined;
}

/** One applied link and the calls using it. */
class LinkEntry<R> implements ProviderLink<R> {
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(
    readonly key: string,
    readonly link: lattice.ILink,
    readonly config: ConfigValues,
    readonly configJson: string,
    readonly revision: number,
    readonly resource: R | undefined,
    readonly error: WasmeshError | undefined,
  ) {}

  acquire(): void {
    this.#inFlight++;
  }

  release(): void {
    if (--this.#inFlight === 0) for (const wake of this.#idle.splice(0)) wake();
  }

  /** Resolves once no call uses this link, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    if (this.#inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => this.#idle.push(r)),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}

/** A link acquired for one call; `release()` it when the call is done. */
export interface AcquiredLink<R> extends ProviderLink<R> {
  release(): void;
}

/** What {@link ProviderLinks} needs from its provider. */
export interface ProviderLinksEnv<R> {
  provider: Provider<R>;
  definition: ProviderDefinition<R>;
  nc: NatsConnection;
  subjects: Subjects;
  state: LinkState;
  logger: Logger;
  /** How long a release waits for the calls using a link. */
  drainTimeoutMs: number;
}

/** The links targeting one provider. */
export class ProviderLinks<R> {
  readonly #applied = new Map<string, LinkEntry<R>>();
  readonly #queues = new Map<string, Promise<void>>();
  readonly #releases = new Set<Promise<void>>();
  #stopping = false;

  constructor(private readonly env: ProviderLinksEnv<R>) {}

  /** The links applied now. */
  list(): ProviderLink<R>[] {
    return [...this.#applied.values()];
  }

  /**
   * The link for `key`, marked in use until `release()`. Waits for a change of that link in
   * progress; a link not seen yet (a put the watcher has not delivered) is read from KV.
   */
  async acquire(key: string): Promise<AcquiredLink<R> | undefined> {
    await this.#queues.get(key);
    let entry = this.#applied.get(key);
    if (!entry && !this.#stopping) {
      const stored = await this.env.state.links.getEntry(key);
      if (stored && stored.value.targetId === this.env.provider.id) {
        await this.put(key, stored.value, stored.revision);
        entry = this.#applied.get(key);
      }
    }
    if (!entry) return undefined;
    const e = entry;
    e.acquire();
    let released = false;
    const release = (): void => {
      if (!released) e.release();
      released = true;
    };
    return { key, link: e.link, config: e.config, revision: e.revision, resource: e.resource, error: e.error, release };
  }

  /** Applies a put of link `key` at `revision` (ignored when that revision or a newer one is applied). */
  put(key: string, link: lattice.ILink, revision: number): Promise<void> {
    if (link.targetId !== this.env.provider.id) {
      // Another provider's link (most of them), unless it used to target this one.
      return this.#applied.has(key) || this.#queues.has(key) ? this.delete(key) : Promise.resolve();
    }
    return this.#enqueue(key, async () => {
      const current = this.#applied.get(key);
      if (current && current.revision >= revision) return;
      await this.#apply(key, link, revision, current);
    });
  }

  /** Applies a delete of link `key`. */
  delete(key: string): Promise<void> {
    if (!this.#applied.has(key) && !this.#queues.has(key)) return Promise.resolve();
    return this.#enqueue(key, async () => {
      const current = this.#applied.get(key);
      if (!current) return;
      this.#applied.delete(key);
      this.env.logger.info({ link: describeLink(current.link) }, 'link deleted');
      this.#release(current, 'deleted');
    });
  }

  /**
   * Named config `name` changed: links using it are applied again when their merged config
   * differs (or when they were refused, so fixing a config retries the link).
   */
  configChanged(name: string): void {
    for (const entry of this.#applied.values()) {
      if (!entry.link.config?.includes(name)) continue;
      void this.#enqueue(entry.key, async () => {
        const current = this.#applied.get(entry.key);
        if (!current) return;
        const config = await this.env.state.linkConfig(current.link);
        if (configJson(config) === current.configJson && !current.error) return;
        await this.#apply(current.key, current.link, current.revision, current, config);
      });
    }
  }

  /** Applies every link again (after the provider's own config changed). */
  async reapplyAll(): Promise<void> {
    await Promise.all(
      [...this.#applied.keys()].map((key) =>
        this.#enqueue(key, async () => {
          const current = this.#applied.get(key);
          if (current) await this.#apply(key, current.link, current.revision, current);
        }),
      ),
    );
  }

  /** Releases every link (reason `stopping`) once its calls finished, and waits for all releases. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#queues.values()]);
    for (const entry of this.#applied.values()) this.#release(entry, 'stopping');
    this.#applied.clear();
    await Promise.all([...this.#releases]);
  }

  /** Runs `fn` after the changes of `key` already queued; errors are logged, never thrown. */
  #enqueue(key: string, fn: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#stopping) return;
      try {
        await fn();
      } catch (err) {
        this.env.logger.warn({ err, link: key }, 'applying a link change failed');
      }
    };
    const next = (this.#queues.get(key) ?? Promise.resolve()).then(run);
    this.#queues.set(key, next);
    void next.then(() => {
      if (this.#queues.get(key) === next) this.#queues.delete(key);
    });
    return next;
  }

  /** Builds the link's resource with `onLinkPut`, swaps it in, reports the verdict, releases the old one. */
  async #apply(
    key: string,
    input: lattice.ILink,
    revision: number,
    previous: LinkEntry<R> | undefined,
    knownConfig?: Record<string, string>,
  ): Promise<void> {
    const { definition, provider, logger } = this.env;
    const link: lattice.ILink = { ...input, name: input.name || DEFAULT_LINK_NAME, config: [...(input.config ?? [])] };
    let config: Record<string, string> = {};
    let resource: R | undefined;
    let error: WasmeshError | undefined;
    try {
      config = knownConfig ?? (await this.env.state.linkConfig(link));
      Object.freeze(config);
      resource = definition.onLinkPut ? await definition.onLinkPut(link, config, provider) : (undefined as R);
    } catch (err) {
      error = isWasmeshError(err)
        ? err
        : new WasmeshError('WASMESH_ERR_CONFIG', (err as Error)?.message ?? String(err), { cause: err });
    }
    const entry = new LinkEntry<R>(key, link, config, configJson(config), revision, resource, error);
    this.#applied.set(key, entry);
    const { nc, subjects } = this.env;
    if (error) logger.warn({ link: describeLink(link), err: error }, 'link refused');
    else logger.info({ link: describeLink(link), revision }, previous ? 'link updated' : 'link applied');
    publishEvent(nc, subjects, 'link_status', provider.id, {
      link,
      providerId: provider.id,
      ok: !error,
      ...(error ? { error: toErrorInfo(error) } : {}),
    });
    if (previous) this.#release(previous, 'replaced');
  }

  /** Calls `onLinkDelete` for an accepted link once its calls have finished (bounded), in the background. */
  #release(entry: LinkEntry<R>, reason: LinkReleaseReason): void {
    const { definition, provider, logger, drainTimeoutMs } = this.env;
    if (entry.error || !definition.onLinkDelete) return;
    const done = (async () => {
      await entry.idle(drainTimeoutMs);
      try {
        await definition.onLinkDelete!(entry.link, entry.resource as R, reason, provider);
      } catch (err) {
        logger.warn({ err, link: describeLink(entry.link), reason }, 'releasing a link failed');
      }
    })();
    this.#releases.add(done);
    void done.then(() => this.#releases.delete(done));
  }
}

/** A canonical rendering of config values, to tell whether they changed. */
function configJson(config: Record<string, string>): string {
  return JSON.stringify(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
