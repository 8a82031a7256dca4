/**
 * Kubernetes Events on the objects the operator acts on, so `kubectl describe` and `kubectl get
 * events` show what it did and why something failed. Core v1 Events (what `kubectl describe`
 * lists). The same reason and message on the same object again bumps the count of the existing
 * Event instead of creating another, as client-go's recorder does. Recording never fails a
 * reconcile: a refused Event is logged and dropped.
 */
import { randomBytes } from 'node:crypto';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from '@wasmesh/lattice';
import { apiMessage } from './kube.js';

/** Normal (what was done) or Warning (what went wrong). */
export type EventType = 'Normal' | 'Warning';

/** How many (object, reason, message) → Event name entries are remembered for aggregation. */
const MAX_REMEMBERED = 1000;

/** See the module comment. */
export class EventRecorder {
  readonly #api: CoreV1Api;
  readonly #recent = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    kc: KubeConfig,
    /** `reportingController` of the Events, e.g. `wasmesh.dev/operator`. */
    private readonly component: string,
    /** This replica's identity. */
    private readonly instance: string,
    private readonly logger: Logger,
  ) {
    this.#api = kc.makeApiClient(CoreV1Api);
  }

  /** Records an Event about `obj` (a namespaced object with apiVersion and kind). */
  async record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata?.namespace ?? 'default';
    const note = message.slice(0, 1024);
    const key = `${obj.metadata?.uid}\u0000${type}\u0000${reason}\u0000${note}`;
    const now = new Date();
    try {
      const seen = this.#recent.get(key);
      if (seen) {
        seen.count += 1;
        await this.#api.patchNamespacedEvent(
          { name: seen.name, namespace: seen.namespace, body: { count: seen.count, lastTimestamp: now } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      }
      const name = `${obj.metadata?.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
      await this.#api.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata?.name,
            namespace,
            uid: obj.metadata?.uid,
            resourceVersion: obj.metadata?.resourceVersion,
          },
          type,
          reason,
          message: note,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
        },
      });
      if (this.#recent.size >= MAX_REMEMBERED) this.#recent.delete(this.#recent.keys().next().value!);
      this.#recent.set(key, { name, namespace, count: 1 });
    } catch (err) {
      this.#recent.delete(key);
      this.logger.warn({ reason, err: apiMessage(err) }, 'could not record an Event');
    }
  }
}
