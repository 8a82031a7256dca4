/**
 * The operator's HostGroup controller against a real kube-apiserver + kube-controller-manager (it
 * fills Deployment status and collects garbage) with the project's CRDs, and an operator connected
 * to a real nats-server. No kubelet: host pods stay Pending, so readyReplicas stays 0.
 *
 *   1. a HostGroup with only spec.replicas → a Deployment and ConfigMap it owns, with the defaults
 *      (image, lattice, the operator's NATS URL); status from the Deployment (replicas, selector,
 *      Available/Progressing);
 *   2. `kubectl scale hostgroup` → the Deployment scales, the status follows;
 *   3. labels and credential Secrets → host arguments, pod labels, mounted Secrets, ConfigMap paths;
 *   4. daemon: true → a DaemonSet replaces the Deployment;
 *   5. deleting the HostGroup garbage-collects what it owns.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1ConfigMap, V1DaemonSet, V1Deployment } from '@kubernetes/client-node';
import { DEFAULT_HOST_IMAGE, Operator, type HostGroupObject } from '@wasmesh/operator';
import { KubeCluster } from '../harness/kube.js';
import { NatsServer } from '../harness/nats-server.js';
import { until } from '../lattice/fixture.js';

const CRDS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'crds');

let cluster: KubeCluster;
let nats: NatsServer;
let operator: Operator;
let natsUrl: string;
let namespaces = 0;

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

async function get<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl(['get', ...args, '-o', 'json'])) as T;
}

async function newNamespace(): Promise<string> {
  const name = `hg${++namespaces}`;
  await kubectl(['create', 'namespace', name]);
  return name;
}

/** Polls `check` with the object `args` names until it holds; the error shows the last object. */
async function untilObject<T>(args: string[], check: (obj: T) => boolean, timeoutMs = 20_000): Promise<T> {
  let last: T | undefined;
  await until(
    `${args.join(' ')} to reach the expected state`,
    async () => {
      const r = await cluster.kubectl(['get', ...args, '-o', 'json']);
      last = r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
      return last !== undefined && check(last);
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last ${JSON.stringify(last)?.slice(0, 3000)}`);
  });
  return last!;
}

beforeAll(async () => {
  [cluster, nats] = await Promise.all([
    KubeCluster.start({ controllerManager: true, manifests: [CRDS] }),
    NatsServer.start(),
  ]);
  const access = await nats.access('hostgroups');
  natsUrl = access.servers;
  operator = await Operator.start({
    kubeconfig: cluster.kubeconfig,
    natsUrl,
    ...(access.creds ? { creds: access.creds } : {}),
    ...(access.tlsCa ? { tlsCa: access.tlsCa } : {}),
    lattice: 'hostgroups',
    id: 'op-hg',
    leaderElectionNamespace: 'default',
    leaseMs: 2000,
  });
  await until('the operator to lead', () => operator.isLeader, 10_000);
}, 120_000);

afterAll(async () => {
  await operator?.close();
  await nats?.[Symbol.asyncDispose]();
  await cluster?.stop();
});

let ns: string;

test('a HostGroup with only spec.replicas: a Deployment and ConfigMap it owns, status from the Deployment', async () => {
  ns = await newNamespace();
  await kubectl(
    ['apply', '-n', ns, '-f', '-'],
    'apiVersion: wasmesh.dev/v1alpha1\nkind: HostGroup\nmetadata:\n  name: hosts\nspec:\n  replicas: 2\n',
  );
  const hg = await get<HostGroupObject>(['hostgroup', 'hosts', '-n', ns]);
  const deployment = await untilObject<V1Deployment>(['deployment', 'hosts', '-n', ns], () => true);
  expect(deployment.metadata?.ownerReferences).toEqual([
    expect.objectContaining({ kind: 'HostGroup', name: 'hosts', uid: hg.metadata?.uid, controller: true }),
  ]);
  expect(deployment.spec?.replicas).toBe(2);
  const container = deployment.spec?.template.spec?.containers[0];
  expect(container).toMatchObject({ image: DEFAULT_HOST_IMAGE, command: ['wasmesh-host'], args: ['host'] });
  expect(container?.envFrom).toEqual([{ configMapRef: { name: 'hosts-host-config' } }]);
  // The pod's IP, name and namespace become host labels (for the Services of apps).
  expect(container?.env?.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
    ['WASMESH_LABEL_POD_IP', 'status.podIP'],
    ['WASMESH_LABEL_POD_NAME', 'metadata.name'],
    ['WASMESH_LABEL_POD_NAMESPACE', 'metadata.namespace'],
  ]);
  const managed = JSON.parse(
    await kubectl(['get', 'deployment', 'hosts', '-n', ns, '-o', 'json', '--show-managed-fields']),
  ) as V1Deployment;
  expect(managed.metadata?.managedFields).toContainEqual(
    expect.objectContaining({ manager: 'wasmesh-operator', operation: 'Apply' }),
  );

  const config = await get<V1ConfigMap>(['configmap', 'hosts-host-config', '-n', ns]);
  // A HostGroup that names no lattice joins the operator's.
  expect(config.data).toEqual({ WASMESH_LATTICE: 'hostgroups', WASMESH_NATS_URL: natsUrl });
  expect(config.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'HostGroup', name: 'hosts' });

  // The controller-manager makes the ReplicaSet and (Pending) pods; the status follows the Deployment.
  const withStatus = await untilObject<HostGroupObject>(
    ['hostgroup', 'hosts', '-n', ns],
    (h) => h.status?.replicas === 2 && (h.status.conditions ?? []).some((c) => c.type === 'Progressing'),
  );
  expect(withStatus.status).toMatchObject({
    replicas: 2,
    readyReplicas: 0,
    selector: 'app.kubernetes.io/name=wasmesh-host,wasmesh.dev/hostgroup=hosts',
    lattice: 'hostgroups',
  });
  expect(await kubectl(['get', 'hostgroup', 'hosts', '-n', ns])).toMatch(/\nhosts\s+2\s+0\s+hostgroups\s/);
  expect(withStatus.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('False');
}, 60_000);

test('kubectl scale hostgroup scales the Deployment, and the status follows', async () => {
  await kubectl(['scale', 'hostgroup', 'hosts', '-n', ns, '--replicas', '3']);
  await untilObject<V1Deployment>(['deployment', 'hosts', '-n', ns], (d) => d.spec?.replicas === 3);
  await untilObject<HostGroupObject>(['hostgroup', 'hosts', '-n', ns], (h) => h.status?.replicas === 3);
  const table = await kubectl(['get', 'hostgroups', '-n', ns]);
  expect(table).toMatch(/hosts\s+3/);
}, 60_000);

test('labels and credential Secrets become host arguments, pod labels and mounted files', async () => {
  const spec = `apiVersion: wasmesh.dev/v1alpha1
kind: HostGroup
metadata:
  name: zoned
spec:
  replicas: 1
  lattice: prod
  labels: { zone: a, tier: gpu }
  nats:
    url: tls://nats.example:4222
    credentialsSecret: { name: host-creds }
    tlsCaSecret: { name: nats-ca, key: bundle.pem }
  nodeSelector: { kubernetes.io/os: linux }
`;
  await kubectl(['apply', '-n', ns, '-f', '-'], spec);
  const deployment = await untilObject<V1Deployment>(['deployment', 'zoned', '-n', ns], () => true);
  const pod = deployment.spec!.template;
  expect(pod.metadata?.labels).toMatchObject({
    'host-label.wasmesh.dev/zone': 'a',
    'host-label.wasmesh.dev/tier': 'gpu',
  });
  expect(pod.spec?.containers[0]?.args).toEqual(['host', '--label=tier=gpu', '--label=zone=a']);
  expect(pod.spec?.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
  expect(pod.spec?.volumes).toEqual([
    {
      name: 'nats-creds',
      secret: expect.objectContaining({ secretName: 'host-creds', items: [{ key: 'nats.creds', path: 'nats.creds' }] }),
    },
    {
      name: 'nats-ca',
      secret: expect.objectContaining({ secretName: 'nats-ca', items: [{ key: 'bundle.pem', path: 'ca.crt' }] }),
    },
  ]);
  const config = await get<V1ConfigMap>(['configmap', 'zoned-host-config', '-n', ns]);
  expect(config.data).toEqual({
    WASMESH_LATTICE: 'prod',
    WASMESH_NATS_URL: 'tls://nats.example:4222',
    WASMESH_NATS_CREDS: '/etc/wasmesh/nats-creds/nats.creds',
    WASMESH_NATS_CA: '/etc/wasmesh/nats-ca/ca.crt',
  });
  // A change of the environment rolls the pods (the template carries the ConfigMap's hash).
  const hash = pod.metadata?.annotations?.['wasmesh.dev/config-hash'];
  await kubectl(['patch', 'hostgroup', 'zoned', '-n', ns, '--type=merge', '-p', '{"spec":{"lattice":"staging"}}']);
  await untilObject<V1Deployment>(
    ['deployment', 'zoned', '-n', ns],
    (d) => d.spec?.template.metadata?.annotations?.['wasmesh.dev/config-hash'] !== hash,
  );
}, 60_000);

test('daemon: true replaces the Deployment by a DaemonSet', async () => {
  await kubectl(['patch', 'hostgroup', 'zoned', '-n', ns, '--type=merge', '-p', '{"spec":{"daemon":true}}']);
  const ds = await untilObject<V1DaemonSet>(['daemonset', 'zoned', '-n', ns], () => true);
  expect(ds.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'HostGroup', name: 'zoned' });
  await until(
    'the Deployment to go',
    async () => (await cluster.kubectl(['get', 'deployment', 'zoned', '-n', ns])).code !== 0,
  );
  // No nodes: nothing scheduled, and the status says so.
  await untilObject<HostGroupObject>(['hostgroup', 'zoned', '-n', ns], (h) =>
    (h.status?.conditions ?? []).some((c) => c.type === 'Available' && c.message.includes('of 0')),
  );
}, 60_000);

test('deleting a HostGroup garbage-collects its Deployment and ConfigMap', async () => {
  await kubectl(['delete', 'hostgroup', 'hosts', '-n', ns]);
  await until(
    'the Deployment and ConfigMap to be collected',
    async () =>
      (await cluster.kubectl(['get', 'deployment', 'hosts', '-n', ns])).code !== 0 &&
      (await cluster.kubectl(['get', 'configmap', 'hosts-host-config', '-n', ns])).code !== 0,
    30_000,
  );
}, 60_000);
