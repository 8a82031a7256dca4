/**
 * How the operator reaches the Kubernetes API: the pod's service account when it runs in a pod
 * (in-cluster config), else `--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config` — the order
 * kubectl users expect. Also: the namespace the pod runs in (the default home of the leader Lease),
 * and a readable message out of the API's errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ApiException, KubeConfig, type KubernetesObject, type V1ObjectMeta } from '@kubernetes/client-node';
import { WasmeshError } from '@wasmesh/lattice';

/** Where a pod's service account is mounted. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** True when this process runs in a Kubernetes pod with a service account token. */
export function inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(`${SERVICE_ACCOUNT_DIR}/token`);
}

/**
 * The client configuration: an explicit kubeconfig file wins (so an operator in a pod can still be
 * pointed elsewhere), then in-cluster config, then KUBECONFIG / ~/.kube/config. A file that cannot
 * be loaded or names no cluster is `WASMESH_ERR_CONFIG`.
 */
export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else if (inCluster()) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `cannot load the Kubernetes config${kubeconfig ? ` ${kubeconfig}` : ''}: ${(err as Error).message}`,
      { cause: err, details: { kubeconfig: kubeconfig ?? '' } },
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `no Kubernetes cluster to talk to: not in a pod, and ${kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config'} names no current cluster (pass --kubeconfig)`,
      { details: { kubeconfig: kubeconfig ?? '' } },
    );
  }
  return kc;
}

/** The namespace of this pod (from its service account), if it runs in one. */
export function podNamespace(): string | undefined {
  try {
    return readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The HTTP status of a failed API call, or 0 when it did not come from the API server. */
export function statusOf(err: unknown): number {
  return err instanceof ApiException ? err.code : 0;
}

/** The API server's message of a failed call (its Status object's `message`), else the error's message. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
      if (status?.message) return `${err.code}: ${status.message}`;
    } catch {
      // Not a Status object: fall through to the error's own message.
    }
    return `${err.code}: ${String(body ?? err.message)}`.slice(0, 500);
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * The metadata of object `name` that `owner` (of `kind`) controls: in the owner's namespace,
 * labelled as the operator's, with a controller reference, so the garbage collector deletes it
 * with its owner and `kubectl describe` says who made it.
 */
export function ownedMetadata(
  owner: KubernetesObject,
  kind: { apiVersion: string; kind: string },
  name: string,
  labels: Record<string, string>,
): V1ObjectMeta {
  return {
    name,
    namespace: owner.metadata!.namespace!,
    labels: { ...labels, 'app.kubernetes.io/managed-by': 'wasmesh-operator' },
    ownerReferences: [
      {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        name: owner.metadata!.name!,
        uid: owner.metadata!.uid!,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}
