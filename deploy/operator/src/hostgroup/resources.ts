/**
 * What a HostGroup (`wasmesh.dev/v1alpha1`) owns, as objects to server-side apply: a ConfigMap with
 * the hosts' environment (lattice, NATS URL, credential paths) and a Deployment of host pods — or a
 * DaemonSet with `daemon: true` — running `wasmesh-host host`. Both carry an ownerReference to the
 * HostGroup (deleting it garbage-collects them). The pod template carries a hash of the ConfigMap,
 * so a change of it rolls the pods. Host labels become `--label key=value` arguments (what app
 * spreads match) and pod labels `host-label.wasmesh.dev/<key>` when they are valid label values;
 * the pod's IP, name and namespace become host labels too (downward API), for app Services.
 *
 * Defaults (the CRD defaults the first two, so a HostGroup with only `spec.replicas` is valid): 1
 * replica, image `ghcr.io/wasmesh/wasmesh:0.1.0`; the lattice and NATS URL are the operator's own
 * (decision: a minimal HostGroup joins the lattice its operator serves, not a fixed `default`).
 */
import { createHash } from 'node:crypto';
import type {
  KubernetesObject,
  V1ConfigMap,
  V1DaemonSet,
  V1Deployment,
  V1PodTemplateSpec,
} from '@kubernetes/client-node';
import { ownedMetadata } from '../runtime/kube.js';

/** The API group, version and kind of HostGroups. */
export const HOSTGROUP = Object.freeze({
  group: 'wasmesh.dev',
  version: 'v1alpha1',
  plural: 'hostgroups',
  kind: 'HostGroup',
  apiVersion: 'wasmesh.dev/v1alpha1',
});

/** The label naming the HostGroup of a pod, Deployment, DaemonSet or ConfigMap. */
export const HOSTGROUP_LABEL = 'wasmesh.dev/hostgroup';
/** Prefix of the pod labels that mirror host labels. */
export const HOST_LABEL_PREFIX = 'host-label.wasmesh.dev/';
/** The default host image. */
export const DEFAULT_HOST_IMAGE = 'ghcr.io/wasmesh/wasmesh:0.1.0';

/** A Secret key reference of the spec. */
export interface SecretKeyRef {
  name: string;
  key?: string;
}

/** The spec of a HostGroup (every field optional: defaulted). */
export interface HostGroupSpec {
  replicas?: number;
  image?: string;
  imagePullPolicy?: string;
  lattice?: string;
  labels?: Record<string, string>;
  nats?: { url?: string; credentialsSecret?: SecretKeyRef; tlsCaSecret?: SecretKeyRef };
  daemon?: boolean;
  resources?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
}

/** A HostGroup as the operator reads it. */
export interface HostGroupObject extends KubernetesObject {
  spec?: HostGroupSpec;
  status?: HostGroupStatus;
}

/** A condition of a HostGroup's status. */
export interface HostGroupCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** The status subresource of a HostGroup (what /scale and printer columns read). */
export interface HostGroupStatus {
  replicas?: number;
  readyReplicas?: number;
  selector?: string;
  /** The lattice the hosts join: `spec.lattice`, or the operator's own (what `kubectl get` shows). */
  lattice?: string;
  observedGeneration?: number;
  conditions?: HostGroupCondition[];
}

/** Where the credential Secrets are mounted in host pods. */
const CREDS_DIR = '/etc/wasmesh/nats-creds';
const CA_DIR = '/etc/wasmesh/nats-ca';

/** The labels selecting the pods of HostGroup `name`. */
export function selectorLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'wasmesh-host', [HOSTGROUP_LABEL]: name };
}

/** The selector as a string (status.selector, for /scale, HPA and KEDA). */
export function selectorString(name: string): string {
  return Object.entries(selectorLabels(name))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The name of the ConfigMap of HostGroup `name`. */
export function configMapName(name: string): string {
  return `${name}-host-config`;
}

function metadataOf(hg: HostGroupObject, name: string): V1ConfigMap['metadata'] {
  return ownedMetadata(hg, HOSTGROUP, name, selectorLabels(hg.metadata!.name!));
}

/** What a HostGroup that does not say takes from its operator. */
export interface HostGroupDefaults {
  /** The operator's lattice. */
  lattice: string;
  /** The operator's NATS URL(s), comma separated. */
  natsUrl: string;
}

/** The ConfigMap: the hosts' environment. */
export function configMapOf(hg: HostGroupObject, defaults: HostGroupDefaults): V1ConfigMap {
  const spec = hg.spec ?? {};
  const data: Record<string, string> = {
    WASMESH_LATTICE: spec.lattice ?? defaults.lattice,
    WASMESH_NATS_URL: spec.nats?.url ?? defaults.natsUrl,
  };
  if (spec.nats?.credentialsSecret) data.WASMESH_NATS_CREDS = `${CREDS_DIR}/nats.creds`;
  if (spec.nats?.tlsCaSecret) data.WASMESH_NATS_CA = `${CA_DIR}/ca.crt`;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadataOf(hg, configMapName(hg.metadata!.name!)),
    data,
  };
}

/** A valid label value (63 characters at most, alphanumeric at both ends). */
function labelValue(v: string): boolean {
  return /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/.test(v);
}

function podTemplate(hg: HostGroupObject, config: V1ConfigMap): V1PodTemplateSpec {
  const name = hg.metadata!.name!;
  const spec = hg.spec ?? {};
  const hostLabels = Object.fromEntries(
    Object.entries(spec.labels ?? {})
      .filter(([, v]) => labelValue(v))
      .map(([k, v]) => [`${HOST_LABEL_PREFIX}${k}`, v]),
  );
  const configHash = createHash('sha256').update(JSON.stringify(config.data)).digest('hex').slice(0, 16);
  const mounts = [
    ...(spec.nats?.credentialsSecret ? [{ name: 'nats-creds', mountPath: CREDS_DIR, readOnly: true }] : []),
    ...(spec.nats?.tlsCaSecret ? [{ name: 'nats-ca', mountPath: CA_DIR, readOnly: true }] : []),
  ];
  const secretVolume = (volume: string, ref: SecretKeyRef, key: string, path: string) => ({
    name: volume,
    secret: { secretName: ref.name, items: [{ key: ref.key ?? key, path }] },
  });
  return {
    metadata: {
      labels: { ...selectorLabels(name), ...hostLabels },
      annotations: { 'wasmesh.dev/config-hash': configHash },
    },
    spec: {
      containers: [
        {
          name: 'host',
          image: spec.image ?? DEFAULT_HOST_IMAGE,
          imagePullPolicy: spec.imagePullPolicy ?? 'IfNotPresent',
          command: ['wasmesh-host'],
          // Sorted: the same labels always make the same template (no needless rollout).
          args: [
            'host',
            ...Object.entries(spec.labels ?? {})
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => `--label=${k}=${v}`),
          ],
          envFrom: [{ configMapRef: { name: config.metadata!.name! } }],
          // Host labels locating the host's pod, for the Service of an app's HTTP provider (application/service.ts).
          env: [
            { name: 'WASMESH_LABEL_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'WASMESH_LABEL_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'WASMESH_LABEL_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          ],
          ...(spec.resources ? { resources: spec.resources } : {}),
          ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      ...(spec.nats?.credentialsSecret || spec.nats?.tlsCaSecret
        ? {
            volumes: [
              ...(spec.nats?.credentialsSecret
                ? [secretVolume('nats-creds', spec.nats.credentialsSecret, 'nats.creds', 'nats.creds')]
                : []),
              ...(spec.nats?.tlsCaSecret ? [secretVolume('nats-ca', spec.nats.tlsCaSecret, 'ca.crt', 'ca.crt')] : []),
            ],
          }
        : {}),
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    },
  } as V1PodTemplateSpec;
}

/** The Deployment (or, with `daemon: true`, the DaemonSet) of host pods, named like the HostGroup. */
export function workloadOf(hg: HostGroupObject, config: V1ConfigMap): V1Deployment | V1DaemonSet {
  const name = hg.metadata!.name!;
  const selector = { matchLabels: selectorLabels(name) };
  const template = podTemplate(hg, config);
  if (hg.spec?.daemon) {
    return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: metadataOf(hg, name), spec: { selector, template } };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadataOf(hg, name),
    spec: { replicas: hg.spec?.replicas ?? 1, selector, template },
  };
}
