/**
 * The HostGroup controller: server-side applies each HostGroup's ConfigMap and Deployment (or
 * DaemonSet, see `resources.ts`) as field manager `wasmesh-operator`, removes the other workload
 * kind when `daemon` flips, and writes the status from the workload: `replicas`, `readyReplicas`,
 * `selector` (what /scale reports, so `kubectl scale`, HPA and KEDA work) and the conditions
 * `Available` / `Progressing` (a DaemonSet has none: they are derived from its counts). Changes of
 * the owned workloads (watched by label) queue their HostGroup.
 */
import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  AppsV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1DaemonSet,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { Logger } from '@wasmesh/lattice';
import { Controller, type ReconcileResult } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import { KindInformer, keyOf, splitKey } from '../runtime/informer.js';
import { apiMessage, statusOf } from '../runtime/kube.js';
import {
  configMapOf,
  type HostGroupDefaults,
  HOSTGROUP,
  HOSTGROUP_LABEL,
  selectorString,
  workloadOf,
  type HostGroupCondition,
  type HostGroupObject,
  type HostGroupStatus,
} from './resources.js';

/** The field manager of everything the operator applies. */
export const FIELD_MANAGER = 'wasmesh-operator';

/** Options of {@link HostGroupController}. */
export interface HostGroupControllerOptions {
  kc: KubeConfig;
  /** The lattice and NATS URL hosts get when their HostGroup names none (the operator's own). */
  defaults: HostGroupDefaults;
  /** Watch only this namespace (default: every namespace). */
  namespace?: string;
  events: EventRecorder;
  logger: Logger;
}

/** Conditions from a workload's status (Deployment conditions as they are; a DaemonSet's derived from its counts). */
function conditionsOf(
  workload: V1Deployment | V1DaemonSet,
  previous: HostGroupStatus | undefined,
): HostGroupCondition[] {
  const now = new Date().toISOString();
  const keep = (type: string, status: string): string | undefined =>
    previous?.conditions?.find((c) => c.type === type && c.status === status)?.lastTransitionTime;
  if (workload.kind === 'Deployment') {
    return ((workload as V1Deployment).status?.conditions ?? [])
      .filter((c) => c.type === 'Available' || c.type === 'Progressing')
      .map((c) => ({
        type: c.type,
        status: c.status as HostGroupCondition['status'],
        reason: c.reason ?? c.type,
        message: c.message ?? '',
        lastTransitionTime: c.lastTransitionTime ? new Date(c.lastTransitionTime).toISOString() : now,
      }));
  }
  const s = (workload as V1DaemonSet).status;
  const desired = s?.desiredNumberScheduled ?? 0;
  const available = (s?.numberAvailable ?? 0) >= desired;
  const updated = (s?.updatedNumberScheduled ?? 0) >= desired;
  return [
    {
      type: 'Available',
      status: available ? 'True' : 'False',
      reason: available ? 'HostsAvailable' : 'HostsUnavailable',
      message: `${s?.numberAvailable ?? 0} of ${desired} host pods available`,
      lastTransitionTime: keep('Available', available ? 'True' : 'False') ?? now,
    },
    {
      type: 'Progressing',
      status: updated ? 'False' : 'True',
      reason: updated ? 'RolloutComplete' : 'RollingOut',
      message: `${s?.updatedNumberScheduled ?? 0} of ${desired} host pods updated`,
      lastTransitionTime: keep('Progressing', updated ? 'False' : 'True') ?? now,
    },
  ];
}

/** The status of `hg` from its workload; `lattice` is the one its hosts join. */
export function hostGroupStatus(
  hg: HostGroupObject,
  workload: V1Deployment | V1DaemonSet,
  lattice: string,
): HostGroupStatus {
  const replicas =
    workload.kind === 'Deployment'
      ? ((workload as V1Deployment).status?.replicas ?? 0)
      : ((workload as V1DaemonSet).status?.currentNumberScheduled ?? 0);
  const ready =
    workload.kind === 'Deployment'
      ? ((workload as V1Deployment).status?.readyReplicas ?? 0)
      : ((workload as V1DaemonSet).status?.numberReady ?? 0);
  return {
    replicas,
    readyReplicas: ready,
    selector: selectorString(hg.metadata!.name!),
    lattice,
    observedGeneration: hg.metadata?.generation ?? 0,
    conditions: conditionsOf(workload, hg.status),
  };
}

/** See the module comment. One instance per leadership term. */
export class HostGroupController {
  readonly informer: KindInformer<HostGroupObject>;
  readonly #workloads: KindInformer<KubernetesObject>[];
  readonly #controller: Controller;
  readonly #custom: CustomObjectsApi;
  readonly #objects: KubernetesObjectApi;
  readonly #apps: AppsV1Api;

  constructor(private readonly options: HostGroupControllerOptions) {
    const { kc, namespace, logger } = options;
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#objects = KubernetesObjectApi.makeApiClient(kc);
    this.#apps = kc.makeApiClient(AppsV1Api);
    const { group, version, plural } = HOSTGROUP;
    this.#controller = new Controller({ name: 'hostgroup', reconcile: (key) => this.reconcile(key), logger });
    const scope = namespace ? `/namespaces/${namespace}` : '';
    this.informer = new KindInformer<HostGroupObject>(
      kc,
      `/apis/${group}/${version}${scope}/${plural}`,
      () =>
        namespace
          ? this.#custom.listNamespacedCustomObject({ group, version, namespace, plural })
          : this.#custom.listClusterCustomObject({ group, version, plural }),
      (obj) => this.#controller.enqueue(keyOf(obj)),
      logger,
    );
    // The owned workloads, by label: a change queues the HostGroup named by the label.
    const owner = (obj: KubernetesObject): void => {
      const hg = obj.metadata?.labels?.[HOSTGROUP_LABEL];
      if (hg && obj.metadata?.namespace) this.#controller.enqueue(`${obj.metadata.namespace}/${hg}`);
    };
    const labelSelector = HOSTGROUP_LABEL;
    this.#workloads = (['deployments', 'daemonsets'] as const).map(
      (kind) =>
        new KindInformer<KubernetesObject>(
          kc,
          `/apis/apps/v1${scope}/${kind}`,
          (): Promise<{ items: KubernetesObject[] }> => {
            if (kind === 'deployments') {
              return namespace
                ? this.#apps.listNamespacedDeployment({ namespace, labelSelector })
                : this.#apps.listDeploymentForAllNamespaces({ labelSelector });
            }
            return namespace
              ? this.#apps.listNamespacedDaemonSet({ namespace, labelSelector })
              : this.#apps.listDaemonSetForAllNamespaces({ labelSelector });
          },
          owner,
          logger,
          labelSelector,
        ),
    );
  }

  /** Starts watching HostGroups and their workloads, and reconciling. */
  async start(): Promise<void> {
    this.#controller.start();
    await Promise.all([this.informer.start(), ...this.#workloads.map((w) => w.start())]);
  }

  /** Stops watching, and waits up to `deadlineMs` for reconciles in flight. */
  async stop(deadlineMs: number): Promise<void> {
    await Promise.all([this.informer.stop(), ...this.#workloads.map((w) => w.stop())]);
    await this.#controller.stop(deadlineMs);
  }

  /** Applies the HostGroup `namespace/name`'s objects and writes its status. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const hg = this.informer.get(namespace, name);
    if (!hg || hg.metadata?.deletionTimestamp) return; // its objects go by garbage collection
    const config = configMapOf(hg, this.options.defaults);
    let workload: V1Deployment | V1DaemonSet;
    try {
      await this.#apply(config);
      workload = await this.#apply(workloadOf(hg, config));
    } catch (err) {
      if (statusOf(err) >= 400 && statusOf(err) < 500 && statusOf(err) !== 409 && statusOf(err) !== 429) {
        // Refused as invalid (e.g. a bad image name or resource quantity): say so on the object, retry later.
        await this.options.events.record(hg, 'Warning', 'ApplyFailed', apiMessage(err));
      }
      throw err;
    }
    await this.#deleteOther(hg);
    const status = hostGroupStatus(hg, workload, config.data!.WASMESH_LATTICE!);
    const gist = (s: HostGroupStatus | undefined): string =>
      JSON.stringify([
        s?.replicas,
        s?.readyReplicas,
        s?.selector,
        s?.lattice,
        s?.observedGeneration,
        (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
      ]);
    if (gist(hg.status) !== gist(status)) {
      const { group, version, plural } = HOSTGROUP;
      await this.#custom.patchNamespacedCustomObjectStatus(
        { group, version, plural, namespace, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      hg.status = status;
    }
  }

  /** Server-side apply of `obj` as {@link FIELD_MANAGER} (forced: the operator owns these fields). */
  async #apply<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.#objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }

  /** Deletes the workload of the kind `hg` no longer uses (after `daemon` changed), if there is one. */
  async #deleteOther(hg: HostGroupObject): Promise<void> {
    const namespace = hg.metadata!.namespace!;
    const name = hg.metadata!.name!;
    const [deployments, daemonSets] = this.#workloads;
    if (!(hg.spec?.daemon ? deployments : daemonSets)!.get(namespace, name)) return;
    try {
      if (hg.spec?.daemon) await this.#apps.deleteNamespacedDeployment({ name, namespace });
      else await this.#apps.deleteNamespacedDaemonSet({ name, namespace });
      await this.options.events.record(
        hg,
        'Normal',
        'WorkloadReplaced',
        hg.spec?.daemon ? 'replaced the Deployment by a DaemonSet' : 'replaced the DaemonSet by a Deployment',
      );
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
}
