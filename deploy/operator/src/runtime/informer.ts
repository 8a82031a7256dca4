/**
 * A self-healing informer of one kind: client-node's list+watch cache (`makeInformer`), restarted
 * with a capped backoff when its list or watch fails (client-node stops an informer on errors other
 * than 410 Gone, which it handles by listing again), telling the controller the key of every object
 * that was added, changed or deleted.
 */
import { makeInformer, type Informer, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '@wasmesh/lattice';
import { apiMessage } from './kube.js';

/** `namespace/name` (or `name` for cluster-scoped objects): the key of the work queue. */
export function keyOf(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

/** The namespace and name of a key made by {@link keyOf}. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Lists the objects of a kind, as client-node's informers want it. */
export type ListFn<T extends KubernetesObject> = () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;

/** See the module comment. */
export class KindInformer<T extends KubernetesObject> {
  readonly #informer: Informer<T> & ObjectCache<T>;
  #stopped = false;
  #restarts = 0;
  #timer: NodeJS.Timeout | undefined;

  /**
   * An informer of the objects at `path` (e.g. `/apis/core.oam.dev/v1beta1/applications`),
   * optionally only those matching `labelSelector` (`list` must select the same), calling
   * `onChange` with each object added, changed or deleted.
   */
  constructor(
    kc: KubeConfig,
    readonly path: string,
    list: ListFn<T>,
    onChange: (obj: T) => void,
    private readonly logger: Logger,
    labelSelector?: string,
  ) {
    // client-node types the list function with its own list type; ours is the same shape.
    this.#informer = makeInformer<T>(kc, path, list as Parameters<typeof makeInformer<T>>[2], labelSelector);
    const changed = (obj: T): void => onChange(obj);
    this.#informer.on('add', changed);
    this.#informer.on('update', changed);
    this.#informer.on('delete', changed);
    this.#informer.on('connect', () => (this.#restarts = 0));
    this.#informer.on('error', (err: unknown) => this.#restart(err));
  }

  /** Lists and starts watching; resolves once the first list is in the cache (or failed and is being retried). */
  async start(): Promise<void> {
    this.#stopped = false;
    try {
      await this.#informer.start();
    } catch (err) {
      this.#restart(err);
    }
  }

  /** The cached object `namespace/name`. */
  get(namespace: string, name: string): T | undefined {
    return this.#informer.get(name, namespace || undefined);
  }

  /** Every cached object. */
  list(): readonly T[] {
    return this.#informer.list();
  }

  /** Stops watching (no more restarts). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#informer.stop().catch(() => undefined);
  }

  #restart(err: unknown): void {
    if (this.#stopped) return;
    const delay = Math.min(250 * 2 ** this.#restarts++, 15_000);
    this.logger.warn({ path: this.path, err: apiMessage(err), retryInMs: delay }, 'watch failed; restarting');
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (!this.#stopped) void this.start();
    }, delay);
  }
}
