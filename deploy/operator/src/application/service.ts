/**
 * HTTP exposure of an Application: when its deployed manifest has an http-server provider that
 * listens on a port (`config.address` `HOST:PORT`), the operator keeps a Service named after the
 * Application, with that port, and an EndpointSlice of the host pods that run that provider right
 * now — for spreadscaler and daemonscaler providers alike (a label selector could only name every
 * pod that *might* run it). Which hosts run it comes from the reconciler's status in the lattice;
 * a host's pod comes from its labels `pod_ip`, `pod_name` and `pod_namespace`, which HostGroup pods
 * set through the downward API (`WASMESH_LABEL_POD_IP`, …). Hosts outside pods have no endpoint.
 * Both objects are owned by the Application, so they go with it.
 */
import type { V1EndpointSlice, V1ObjectMeta, V1Service } from '@kubernetes/client-node';
import { ContractId, type lattice } from '@wasmesh/proto';
import type { AppManifest, AppProvider } from '@wasmesh/apps';
import { ownedMetadata } from '../runtime/kube.js';
import { APPLICATION, type ApplicationObject } from './mapping.js';

/** The host labels that locate a host's pod (set by HostGroup pods from the downward API). */
export const POD_LABELS = Object.freeze({ ip: 'pod_ip', name: 'pod_name', namespace: 'pod_namespace' });

/** The label an EndpointSlice is found by (and the controller that manages it). */
const MANAGED_BY = 'operator.wasmesh.dev';

/** An HTTP server provider of a manifest and the port it listens on. */
export interface HttpExposure {
  providerId: string;
  port: number;
}

/** The http-server providers of `manifest` that listen on a port (`config.address` HOST:PORT). */
export function httpExposures(manifest: AppManifest): HttpExposure[] {
  const values = new Map(manifest.config.map((c) => [c.name, c.values]));
  return manifest.components
    .filter((c): c is AppProvider => c.kind === 'provider' && c.contract === ContractId.HTTPSERVER)
    .flatMap((p) => {
      const address = p.config.map((name) => values.get(name)?.address).findLast((a) => a !== undefined);
      const port = Number(/:(\d{1,5})$/.exec(address ?? '')?.[1]);
      return Number.isInteger(port) && port > 0 && port < 65536 ? [{ providerId: p.id, port }] : [];
    });
}

function owned(app: ApplicationObject, name: string): V1ObjectMeta {
  return ownedMetadata(app, APPLICATION, name, { 'wasmesh.dev/application': app.metadata!.name! });
}

/** The Service of `app` (named after it, no selector: its EndpointSlice says where it goes). */
export function serviceOf(app: ApplicationObject, exposures: readonly HttpExposure[]): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: owned(app, app.metadata!.name!),
    spec: {
      type: 'ClusterIP',
      ports: exposures.map((e, i) => ({
        name: i === 0 ? 'http' : `http-${i + 1}`,
        protocol: 'TCP',
        port: e.port,
        targetPort: e.port,
      })),
    },
  };
}

/**
 * The EndpointSlice of `app`'s Service: the pods of the hosts that run its HTTP providers (from
 * the reconciler's `status.providers`, located through `hosts`' pod labels).
 */
export function endpointSliceOf(
  app: ApplicationObject,
  exposures: readonly HttpExposure[],
  status: lattice.IAppStatus | undefined,
  hosts: readonly lattice.IHostInfo[],
): V1EndpointSlice {
  const byId = new Map(hosts.map((h) => [h.hostId ?? '', h.labels ?? {}]));
  const wanted = new Set(exposures.map((e) => e.providerId));
  const seen = new Set<string>();
  const endpoints: V1EndpointSlice['endpoints'] = [];
  for (const p of status?.providers ?? []) {
    if (!wanted.has(p.providerId ?? '')) continue;
    const labels = byId.get(p.hostId ?? '');
    const ip = labels?.[POD_LABELS.ip];
    if (!ip || seen.has(ip)) continue;
    seen.add(ip);
    const pod = labels[POD_LABELS.name];
    endpoints.push({
      addresses: [ip],
      conditions: { ready: true },
      ...(pod ? { targetRef: { kind: 'Pod', name: pod, namespace: labels[POD_LABELS.namespace] ?? '' } } : {}),
    });
  }
  const metadata = owned(app, `${app.metadata!.name!}-http`);
  metadata.labels = {
    ...metadata.labels,
    'kubernetes.io/service-name': app.metadata!.name!,
    'endpointslice.kubernetes.io/managed-by': MANAGED_BY,
  };
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata,
    addressType: 'IPv4',
    endpoints: endpoints.sort((a, b) => a.addresses[0]!.localeCompare(b.addresses[0]!)),
    ports: exposures.map((e, i) => ({ name: i === 0 ? 'http' : `http-${i + 1}`, protocol: 'TCP', port: e.port })),
  };
}
