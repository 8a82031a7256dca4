/**
 * How an Application object becomes a lattice app manifest.
 *
 * - **Name**: the lattice app of `namespace/name` is `<namespace>_<name>`. Kubernetes names never
 *   contain `_`, so the mapping is one-to-one and reversible (apps of different namespaces never
 *   collide, and a change in the lattice's app store finds its object again). Lattice app names
 *   are NATS subject tokens (letters, digits, `-`, `_`, at most 128): an Application whose name
 *   contains `.` or whose mapped name is longer is refused with a clear message.
 * - **Version**: `metadata.annotations.version` when given (as in `deploy/apps/*.yaml`); else
 *   `g<generation>`, so every edit of an unversioned Application is a new version. An edit that
 *   keeps an explicit version but changes the spec is refused by the app store (a version's
 *   content never changes) and shows as Failed until the version changes — as `wasmesh app put`.
 * - **Annotations** are kept, except kubectl's bookkeeping (`kubectl.kubernetes.io/…`);
 *   `wasmesh.dev/source: kubernetes:<namespace>/<name>` says where the app came from.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { validateManifest, type AppManifest } from '@wasmesh/apps';
import { WasmeshError } from '@wasmesh/lattice';

/** The API group, version and kind of Applications (the OAM format of `deploy/apps/*.yaml`). */
export const APPLICATION = Object.freeze({
  group: 'core.oam.dev',
  version: 'v1beta1',
  plural: 'applications',
  kind: 'Application',
  apiVersion: 'core.oam.dev/v1beta1',
});

/** The annotation naming the object a lattice app was made from. */
export const SOURCE_ANNOTATION = 'wasmesh.dev/source';

/** An Application custom resource as the operator reads it. */
export interface ApplicationObject extends KubernetesObject {
  spec?: unknown;
  status?: ApplicationStatus;
}

/** A condition of an Application's status (the usual Kubernetes shape). */
export interface Condition {
  type: 'Ready' | 'Synced';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** The phases of an Application. */
export type Phase = 'Deployed' | 'Reconciling' | 'Failed' | 'Undeployed';

/** The status subresource of an Application. */
export interface ApplicationStatus {
  phase?: Phase;
  observedGeneration?: number;
  deployedVersion?: string;
  conditions?: Condition[];
}

/** Largest lattice app name (a NATS subject token). */
const MAX_APP_NAME = 128;

/** The lattice app name of `namespace/name` (see the module comment); `WASMESH_ERR_INVALID_NAME` when it cannot be one. */
export function latticeAppName(namespace: string, name: string): string {
  const app = `${namespace}_${name}`;
  if (!/^[a-z0-9-]+_[a-z0-9-]+$/.test(app) || app.length > MAX_APP_NAME) {
    throw new WasmeshError(
      'WASMESH_ERR_INVALID_NAME',
      `Application ${namespace}/${name} cannot become lattice app "${app}": lattice app names are at most ${MAX_APP_NAME} letters, digits, '-' or '_' (use a name without '.', shorter)`,
      { details: { namespace, name } },
    );
  }
  return app;
}

/** The `namespace/name` key of a lattice app name made by {@link latticeAppName}, or undefined for other apps. */
export function keyOfApp(app: string): string | undefined {
  const m = /^([a-z0-9-]+)_([a-z0-9-]+)$/.exec(app);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** The version the object deploys (see the module comment). */
export function versionOf(obj: ApplicationObject): string {
  return obj.metadata?.annotations?.version ?? `g${obj.metadata?.generation ?? 0}`;
}

/** The lattice manifest of `obj`: validated and normalized, or `WASMESH_ERR_INVALID_MANIFEST` listing every problem. */
export function manifestOf(obj: ApplicationObject): AppManifest {
  const namespace = obj.metadata?.namespace ?? '';
  const name = obj.metadata?.name ?? '';
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj.metadata?.annotations ?? {})) {
    if (!k.startsWith('kubectl.kubernetes.io/')) annotations[k] = v;
  }
  annotations.version = versionOf(obj);
  annotations[SOURCE_ANNOTATION] = `kubernetes:${namespace}/${name}`;
  return validateManifest(
    {
      apiVersion: APPLICATION.apiVersion,
      kind: APPLICATION.kind,
      metadata: { name: latticeAppName(namespace, name), annotations },
      spec: obj.spec,
    },
    { source: `Application ${namespace}/${name}` },
  );
}
