/**
 * The Application controller. Desired state flows Kubernetes → lattice through the lattice's app
 * store, exactly as `wasmesh app deploy` does it (put the version, mark it deployed; the lattice's
 * reconciler does the rest), and status flows back (see `status.ts`). Per object:
 *
 * 1. a finalizer ({@link FINALIZER}) is added first, so a deleted object's app is undeployed and
 *    deleted from the lattice (waiting for the reconciler to remove what it started) before the
 *    object goes;
 * 2. the version of this generation (see `mapping.ts`) is put and deployed unless it already is;
 *    a manifest the lattice refuses fails the object with the refusal, not the controller;
 * 3. the status is written through the status subresource when it changed, with an Event on every
 *    phase change. While the reconciler works the key is polled; changes of the app's status in the
 *    lattice also queue it (the operator watches the status bucket);
 * 4. the Service and EndpointSlice of its HTTP providers are kept (see `service.ts`).
 */
import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { lattice } from '@wasmesh/proto';
import { resolveImages, type AppManifest, type AppStore, type PushArtifact, type ReadImage } from '@wasmesh/apps';
import { isWasmeshError, type Logger } from '@wasmesh/lattice';
import { Controller, type ReconcileResult } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import { KindInformer, keyOf, splitKey } from '../runtime/informer.js';
import { statusOf } from '../runtime/kube.js';
import {
  APPLICATION,
  latticeAppName,
  manifestOf,
  versionOf,
  type ApplicationObject,
  type ApplicationStatus,
} from './mapping.js';
import { endpointSliceOf, httpExposures, serviceOf } from './service.js';
import { applicationStatus, sameStatus, type SyncOutcome } from './status.js';

/** The finalizer that undeploys and deletes a deleted Application's lattice app. */
export const FINALIZER = 'wasmesh.dev/undeploy';

/** Options of {@link ApplicationController}. */
export interface ApplicationControllerOptions {
  kc: KubeConfig;
  store: AppStore;
  /** Pushes actor images given as files to the lattice object store. */
  push: PushArtifact;
  /** Reads actor images given as files, or refuses (no image directory). */
  readImage: ReadImage;
  /** Where relative image paths are resolved. */
  imageDir: string;
  /** Watch only this namespace (default: every namespace). */
  namespace?: string;
  events: EventRecorder;
  /** The hosts of the lattice (ids and labels), for the endpoints of app Services. */
  hosts: () => Promise<lattice.IHostInfo[]>;
  /** How often a Reconciling app is polled. @default 1000 */
  pollMs?: number;
  /** How often every object is reconciled again (drift from the lattice). @default 30000 */
  resyncMs?: number;
  logger: Logger;
}

/** The reason of a store refusal, by error code. */
const REFUSALS: Readonly<Record<string, string>> = {
  WASMESH_ERR_INVALID_MANIFEST: 'InvalidManifest',
  WASMESH_ERR_INVALID_NAME: 'InvalidName',
  WASMESH_ERR_CONFLICT: 'Conflict',
  WASMESH_ERR_TOO_LARGE: 'TooLarge',
  WASMESH_ERR_USAGE: 'ImageUnavailable',
  WASMESH_ERR_BAD_REQUEST: 'ImageUnavailable',
  WASMESH_ERR_NOT_FOUND: 'ImageUnavailable',
  // An image path out of --image-dir (or credentials the lattice refuses): retrying cannot help.
  WASMESH_ERR_PERMISSION_DENIED: 'PermissionDenied',
};

/** An error's message with its list of problems (an invalid manifest lists each). */
function describe(err: Error & { details?: Readonly<Record<string, unknown>> }): string {
  const errors = Array.isArray(err.details?.errors) ? (err.details.errors as { message?: unknown }[]) : [];
  return [err.message.split('\n')[0], ...errors.map((e) => `- ${String(e.message)}`)].join('\n');
}

/** A refusal by the lattice as a failed sync; other errors (NATS down, …) are thrown and retried. */
function refusal(err: unknown): SyncOutcome {
  if (isWasmeshError(err) && REFUSALS[err.code])
    return { ok: false, reason: REFUSALS[err.code]!, message: describe(err) };
  throw err;
}

/** See the module comment. One instance per leadership term (its queue cannot restart). */
export class ApplicationController {
  readonly informer: KindInformer<ApplicationObject>;
  readonly #controller: Controller;
  readonly #api: CustomObjectsApi;
  readonly #objects: KubernetesObjectApi;
  readonly #merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  constructor(private readonly options: ApplicationControllerOptions) {
    const { kc, namespace, logger } = options;
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#objects = KubernetesObjectApi.makeApiClient(kc);
    const { group, version, plural } = APPLICATION;
    const path = namespace
      ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
      : `/apis/${group}/${version}/${plural}`;
    const list = (): Promise<{ items: ApplicationObject[] }> =>
      namespace
        ? this.#api.listNamespacedCustomObject({ group, version, namespace, plural })
        : this.#api.listClusterCustomObject({ group, version, plural });
    this.#controller = new Controller({
      name: 'application',
      reconcile: (key) => this.reconcile(key),
      logger,
    });
    this.informer = new KindInformer(kc, path, list, (obj) => this.#controller.enqueue(keyOf(obj)), logger);
  }

  /** Starts watching Applications and reconciling them. */
  async start(): Promise<void> {
    this.#controller.start();
    await this.informer.start();
  }

  /** Queues the object of `key` (`namespace/name`), e.g. when its app's status changed in the lattice. */
  enqueue(key: string): void {
    if (!this.options.namespace || key.startsWith(`${this.options.namespace}/`)) this.#controller.enqueue(key);
  }

  /** Stops watching, and waits up to `deadlineMs` for reconciles in flight. */
  async stop(deadlineMs: number): Promise<void> {
    await this.informer.stop();
    await this.#controller.stop(deadlineMs);
  }

  /** Reconciles the Application `namespace/name` (see the module comment). */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const obj = this.informer.get(namespace, name);
    if (!obj) return; // gone (its finalizer already ran)
    const finalizers = obj.metadata?.finalizers ?? [];
    let app: string;
    try {
      app = latticeAppName(namespace, name);
    } catch (err) {
      // Never deployed, so nothing to undeploy: let a deleted one go.
      if (obj.metadata?.deletionTimestamp) return this.#removeFinalizer(obj);
      await this.#writeStatus(obj, versionOf(obj), '', refusal(err));
      return;
    }
    if (obj.metadata?.deletionTimestamp) return this.#finalize(obj, app);
    if (!finalizers.includes(FINALIZER)) {
      // The update this makes queues the object again.
      await this.#patchMetadata(obj, { finalizers: [...finalizers, FINALIZER] });
      return;
    }
    const version = versionOf(obj);
    const sync = await this.#sync(obj, app, version);
    const phase = await this.#writeStatus(obj, version, app, sync);
    await this.#expose(obj, app);
    return {
      requeueAfterMs: phase === 'Reconciling' ? (this.options.pollMs ?? 1000) : (this.options.resyncMs ?? 30_000),
    };
  }

  /** Puts and deploys this generation's version, unless the lattice already has it deployed. */
  async #sync(obj: ApplicationObject, app: string, version: string): Promise<SyncOutcome> {
    const { store } = this.options;
    const done: SyncOutcome = {
      ok: true,
      reason: 'Synced',
      message: `version ${version} is the deployed version of lattice app ${app}`,
    };
    const record = await store.apps.get(app);
    const synced = obj.status?.conditions?.find((c) => c.type === 'Synced')?.status === 'True';
    if (record?.deployedVersion === version && synced && obj.status?.observedGeneration === obj.metadata?.generation) {
      return done;
    }
    let manifest: AppManifest;
    try {
      manifest = manifestOf(obj);
      manifest = await resolveImages(manifest, this.options.imageDir, this.options.push, this.options.readImage);
      await store.put(manifest);
      const { changed } = await store.deploy(app, version);
      if (changed) await this.#event(obj, 'Normal', 'Deploying', `deploying version ${version} as lattice app ${app}`);
    } catch (err) {
      const failed = refusal(err);
      await this.#event(obj, 'Warning', failed.reason, failed.message);
      return failed;
    }
    return done;
  }

  /**
   * Keeps the Service and EndpointSlice of the app's HTTP providers (see `service.ts`), or
   * deletes them when the deployed version has none.
   */
  async #expose(obj: ApplicationObject, app: string): Promise<void> {
    const { store } = this.options;
    const record = await store.apps.get(app);
    const manifest = record?.deployedVersion ? await store.manifest(app, record.deployedVersion) : undefined;
    const exposures = manifest ? httpExposures(manifest) : [];
    const service = serviceOf(obj, exposures);
    const slice = endpointSliceOf(
      obj,
      exposures,
      await store.status(app),
      exposures.length > 0 ? await this.options.hosts() : [],
    );
    if (exposures.length > 0) {
      for (const o of [service, slice]) {
        await this.#objects.patch(o, undefined, undefined, 'wasmesh-operator', true, PatchStrategy.ServerSideApply);
      }
      return;
    }
    for (const o of [slice, service] as KubernetesObject[]) {
      try {
        await this.#objects.read({
          apiVersion: o.apiVersion!,
          kind: o.kind!,
          metadata: { name: o.metadata!.name!, namespace: o.metadata!.namespace! },
        });
        await this.#objects.delete(o);
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
  }

  /** The object is being deleted: undeploy, wait for the reconciler to clean up, delete, let go. */
  async #finalize(obj: ApplicationObject, app: string): Promise<ReconcileResult | void> {
    if (!(obj.metadata?.finalizers ?? []).includes(FINALIZER)) return;
    const { store } = this.options;
    const record = await store.apps.get(app);
    if (record) {
      if (record.deployedVersion) {
        await store.undeploy(app);
        await this.#event(obj, 'Normal', 'Undeploying', `undeploying lattice app ${app}`);
      }
      const status = await store.status(app);
      if (status && status.state !== 'undeployed' && status.state !== '') {
        await this.#writeStatus(
          obj,
          versionOf(obj),
          app,
          { ok: true, reason: 'Deleting', message: 'the object is being deleted' },
          true,
        );
        return { requeueAfterMs: this.options.pollMs ?? 1000 };
      }
      await store.delete(app);
      await this.#event(obj, 'Normal', 'Deleted', `lattice app ${app} undeployed and deleted`);
    }
    await this.#removeFinalizer(obj);
  }

  async #removeFinalizer(obj: ApplicationObject): Promise<void> {
    const finalizers = obj.metadata?.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    await this.#patchMetadata(obj, { finalizers: finalizers.filter((f) => f !== FINALIZER) });
  }

  /** Merge-patches metadata, guarded by the resourceVersion read (a conflict is retried with fresh data). */
  async #patchMetadata(obj: ApplicationObject, metadata: Record<string, unknown>): Promise<void> {
    const { group, version, plural } = APPLICATION;
    try {
      await this.#api.patchNamespacedCustomObject(
        {
          group,
          version,
          plural,
          namespace: obj.metadata!.namespace!,
          name: obj.metadata!.name!,
          body: { metadata: { ...metadata, resourceVersion: obj.metadata?.resourceVersion } },
        },
        this.#merge,
      );
    } catch (err) {
      if (statusOf(err) === 404) return; // already gone
      throw err;
    }
  }

  /** Computes and writes the status (when it changed); records an Event on a phase change; returns the phase. */
  async #writeStatus(
    obj: ApplicationObject,
    version: string,
    app: string,
    sync: SyncOutcome,
    deleting = false,
  ): Promise<ApplicationStatus['phase']> {
    const reconciler = app ? await this.options.store.status(app) : undefined;
    const status = applicationStatus({
      generation: obj.metadata?.generation ?? 0,
      version,
      app,
      sync,
      reconciler,
      deleting,
      previous: obj.status,
    });
    if (sameStatus(obj.status, status)) return status.phase;
    const before = obj.status?.phase;
    const { group, version: apiVersion, plural } = APPLICATION;
    try {
      await this.#api.patchNamespacedCustomObjectStatus(
        {
          group,
          version: apiVersion,
          plural,
          namespace: obj.metadata!.namespace!,
          name: obj.metadata!.name!,
          body: { status },
        },
        this.#merge,
      );
    } catch (err) {
      if (statusOf(err) === 404) return status.phase;
      throw err;
    }
    // The cached copy says what was written until the watch delivers it, so a reconcile in
    // between neither writes nor reports it again.
    obj.status = status;
    if (status.phase !== before) {
      const ready = status.conditions?.find((c) => c.type === 'Ready');
      if (status.phase === 'Deployed') await this.#event(obj, 'Normal', 'Deployed', ready?.message ?? '');
      // Sync refusals were reported where they happened; this is the reconciler's.
      else if (ready?.reason === 'ReconcileFailed') await this.#event(obj, 'Warning', 'ReconcileFailed', ready.message);
    }
    return status.phase;
  }

  #event(obj: ApplicationObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.options.events.record(
      { ...obj, apiVersion: APPLICATION.apiVersion, kind: APPLICATION.kind },
      type,
      reason,
      message,
    );
  }
}
