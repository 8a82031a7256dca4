/**
 * The Kubernetes test harness against itself: a real etcd + kube-apiserver + kube-controller-manager
 * (built by the setup) serve CRDs with status and /scale, fill Deployment status, collect garbage by
 * ownerReference, and answer @kubernetes/client-node with the harness's kubeconfig; helm runs.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeCluster, kubernetesVersion } from '../harness/kube.js';

const WIDGETS_CRD = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'fixtures',
  'k8s',
  'widgets-crd.yaml',
);

/** The parts of kubectl's JSON output these tests read. */
interface KubeObject {
  metadata: { name: string; uid: string; generation?: number; ownerReferences?: { kind: string; name: string }[] };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  items: KubeObject[];
}

let cluster: KubeCluster;
let namespaceCount = 0;

beforeAll(async () => {
  cluster = await KubeCluster.start({ controllerManager: true, manifests: [WIDGETS_CRD] });
});

afterAll(async () => {
  await cluster?.stop();
});

/** kubectl that must succeed; its stdout. */
async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** `kubectl get … -o json`, parsed. */
async function getJson(args: string[]): Promise<KubeObject> {
  return JSON.parse(await kubectl(['get', ...args, '-o', 'json'])) as KubeObject;
}

/** A fresh namespace per test. */
async function newNamespace(): Promise<string> {
  const name = `t${++namespaceCount}`;
  await kubectl(['create', 'namespace', name]);
  return name;
}

/** Polls `check` until it returns a value other than undefined; throws with `what` after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a CRD serves status and /scale subresources', async () => {
  const ns = await newNamespace();
  await kubectl(
    ['apply', '-n', ns, '-f', '-'],
    JSON.stringify({ apiVersion: 'test.wasmesh.dev/v1', kind: 'Widget', metadata: { name: 'w' }, spec: {} }),
  );
  expect((await getJson(['widget', 'w', '-n', ns])).spec).toEqual({ replicas: 1 }); // defaulted by the schema

  await kubectl(['scale', 'widget', 'w', '-n', ns, '--replicas', '3']);
  await kubectl([
    'patch',
    'widget',
    'w',
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { replicas: 3 } }),
  ]);
  const widget = await getJson(['widget', 'w', '-n', ns]);
  expect(widget.spec?.replicas).toBe(3);
  expect(widget.status).toEqual({ replicas: 3 });
  const scale = JSON.parse(
    await kubectl(['get', '--raw', `/apis/test.wasmesh.dev/v1/namespaces/${ns}/widgets/w/scale`]),
  );
  expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 3 }, status: { replicas: 3 } });

  // The main endpoint ignores status; printer columns show spec.replicas.
  await kubectl(['patch', 'widget', 'w', '-n', ns, '--type=merge', '-p', JSON.stringify({ status: { replicas: 9 } })]);
  expect((await getJson(['widget', 'w', '-n', ns])).status).toEqual({ replicas: 3 });
  expect(await kubectl(['get', 'widget', 'w', '-n', ns, '--no-headers'])).toMatch(/^w\s+3\s/);
});

test('the controller-manager fills Deployment status and collects ReplicaSets when the Deployment goes', async () => {
  const ns = await newNamespace();
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] },
      },
    },
  };
  await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify(deployment));
  const status = await until('Deployment status', async () => {
    const d = await getJson(['deployment', 'web', '-n', ns]);
    return d.status?.observedGeneration === d.metadata.generation && d.status?.replicas === 2 ? d.status : undefined;
  });
  // No scheduler or kubelet: the pods exist but never become ready.
  expect(status).toMatchObject({ replicas: 2, updatedReplicas: 2 });
  expect(status.readyReplicas ?? 0).toBe(0);
  const pods = await getJson(['pods', '-n', ns, '-l', 'app=web']);
  expect(pods.items).toHaveLength(2);

  const replicaSets = await getJson(['replicasets', '-n', ns]);
  expect(replicaSets.items).toHaveLength(1);
  expect(replicaSets.items[0]?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web' });
  await kubectl(['delete', 'deployment', 'web', '-n', ns, '--wait=false']);
  await until('ReplicaSets and Pods collected', async () => {
    return (await getJson(['replicasets,pods', '-n', ns])).items.length === 0 ? true : undefined;
  });
});

test('objects owned by a custom resource are collected when it is deleted', async () => {
  const ns = await newNamespace();
  await kubectl(
    ['apply', '-n', ns, '-f', '-'],
    JSON.stringify({ apiVersion: 'test.wasmesh.dev/v1', kind: 'Widget', metadata: { name: 'owner' }, spec: {} }),
  );
  const { uid } = (await getJson(['widget', 'owner', '-n', ns])).metadata;
  const ownerReferences = [
    {
      apiVersion: 'test.wasmesh.dev/v1',
      kind: 'Widget',
      name: 'owner',
      uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
  await kubectl(
    ['apply', '-n', ns, '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', ownerReferences }, data: {} }),
  );
  await kubectl(['delete', 'widget', 'owner', '-n', ns, '--wait=false']);
  await until('the owned ConfigMap collected', async () => {
    const result = await cluster.kubectl(['get', 'configmap', 'owned', '-n', ns]);
    return /NotFound/.test(result.stderr) ? true : undefined;
  });
});

test('the cluster runs the Kubernetes version the setup pins', async () => {
  const versions = JSON.parse(await kubectl(['version', '-o', 'json'])) as Record<string, { gitVersion: string }>;
  expect(versions.serverVersion?.gitVersion).toBe(kubernetesVersion());
  expect(versions.clientVersion?.gitVersion).toBe(kubernetesVersion());
});

test('@kubernetes/client-node lists namespaces with the harness kubeconfig', async () => {
  const ns = await newNamespace();
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  expect(kc.getCurrentCluster()?.server).toBe(cluster.server);
  const list = await kc.makeApiClient(CoreV1Api).listNamespace();
  const names = list.items.map((n) => n.metadata?.name);
  expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', ns]));
});

test('helm runs', async () => {
  const result = await cluster.helm(['version', '--short']);
  expect(result).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout).toMatch(/^v3\.\d+\.\d+/);
});

test('stop is idempotent and leaves nothing behind', async () => {
  const other = await KubeCluster.start();
  expect((await other.kubectl(['get', 'namespace', 'default', '-o', 'name'])).stdout.trim()).toBe('namespace/default');
  await Promise.all([other.stop(), other.stop()]);
  await other.stop();
  expect(existsSync(other.dir)).toBe(false);
  expect(await refused(new URL(other.server).port)).toBe(true);
});

/** True when nothing listens on 127.0.0.1:`port` any more. */
function refused(port: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
