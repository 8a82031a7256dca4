/**
 * The operator under the Helm chart's RBAC, as it runs in a pod: the chart is rendered (`helm
 * template`), its ServiceAccount, Role and RoleBinding applied to a real kube-apiserver (+
 * controller-manager; OwnerReferencesPermissionEnforcement on), and the wasmesh-operator bin run
 * with the rendered Deployment's flags and a token of that ServiceAccount, not the admin's
 * kubeconfig the other operator tests use. A real lattice (nats-server, one host process standing
 * in for a host pod, a reconciler) behind it. In order:
 *
 *   1. it takes the Lease, deploys an Application to Deployed (finalizer, status, Events, Service,
 *      EndpointSlice), handles a HostGroup (Deployment, ConfigMap, status) and deletes the
 *      Application through its finalizer: the chart's Role is enough for all of it;
 *   2. its lattice connection closing for good (NATS comes back on the same address trusting other
 *      credentials) ends it with one `wasmesh: WASMESH_ERR_NOT_CONNECTED` line and exit status 5,
 *      its Lease released, so Kubernetes restarts the pod; while NATS is merely down it keeps running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1ConfigMap, V1Deployment, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { AppStore, Reconciler } from '@wasmesh/apps';
import { ensureServerTls, LatticeAuthority } from '@wasmesh/lattice';
import { FINALIZER, type ApplicationObject, type HostGroupObject } from '@wasmesh/operator';
import { parseAllDocuments } from 'yaml';
import { actorApp } from '../app-manifests.js';
import { actorPath } from '../fixtures.js';
import { KubeCluster } from '../harness/kube.js';
import { findNatsServerBinary, killOnExit } from '../harness/nats-server.js';
import { launchServer, stopServer, waitReady, type LaunchedServer } from '../harness/processes.js';
import { freePort } from '../harness/redis-server.js';
import { getJson, kubectlOk, newNamespace, REPO_ROOT } from '../k8s/kubectl.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';

const CRDS = path.join(REPO_ROOT, 'deploy', 'crds');
const CHART = path.join(REPO_ROOT, 'deploy', 'helm', 'wasmesh');
const BIN = path.join(REPO_ROOT, 'deploy', 'operator', 'bin', 'wasmesh-operator.js');
/** The kinds of the chart's objects that make the operator's identity and permissions. */
const IDENTITY_KINDS = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

/** The wasmesh-operator bin running in a child process as a release's pod would. */
interface OperatorBin {
  child: ChildProcess;
  /** Its stderr so far (logs and error lines). */
  output: () => string;
  exited: Promise<number | null>;
  /** Its release namespace, where its Lease is. */
  namespace: string;
  /** Its identity in the Lease (the pod name). */
  id: string;
}

let cluster: KubeCluster;
let lat: LatticeFixture;
let store: AppStore;
let reconciler: Reconciler;
let port: number;
/** The operator's NATS access. */
let nats: { servers: string; creds?: string; tlsCa?: string };
let echoRef: string;
/** The operator running now. */
let operator: OperatorBin;
let rogue: LaunchedServer | undefined;
const tempDirs: string[] = [];

/** A rendered object: what the test reads of it. */
interface Rendered {
  kind: string;
  metadata: { name: string };
  spec?: { template?: { spec: { containers: { name: string; args: string[] }[] } } };
}

/** A one-actor app whose HTTP server provider listens on `port` (so the operator writes a Service). */
function httpEcho(name: string): string {
  return actorApp({
    name,
    image: echoRef,
    id: `${name}-echo`,
    traits: `        - type: link
          properties:
            target: http
            contract: wasmesh:httpserver
            config:
              path: /${name}
`,
    components: `    - name: http
      type: capability
      properties:
        image: builtin:http-server
        config:
          address: 127.0.0.1:${port}
      traits:
        - type: daemonscaler
`,
  });
}

/** An error that also shows the operator's last output (what it was refused, if anything). */
function withOperatorOutput(err: Error): never {
  throw new Error(`${err.message}\noperator output:\n${operator.output().slice(-8000)}`);
}

/** Waits until `kubectl get <args> -o json` satisfies `check`; the error shows the last object and the operator's output. */
async function untilObject<T>(args: string[], check: (o: T) => boolean, timeoutMs = 20_000): Promise<T> {
  let last: T | undefined;
  await until(
    `${args.join(' ')} to reach the expected state`,
    async () => {
      const result = await cluster.kubectl(['get', ...args, '-o', 'json']);
      if (result.code !== 0) return false;
      last = JSON.parse(result.stdout) as T;
      return check(last);
    },
    timeoutMs,
  ).catch((err: Error) =>
    withOperatorOutput(new Error(`${err.message}; last: ${JSON.stringify(last)?.slice(0, 2000)}`)),
  );
  return last!;
}

/** The holder of the Lease of the running operator ('' when released). */
async function leaseHolder(): Promise<string> {
  const lease = await getJson(cluster, ['lease', 'wasmesh-operator', '-n', operator.namespace]);
  return (lease.spec as { holderIdentity?: string }).holderIdentity ?? '';
}

/**
 * Renders the chart as `release` in a fresh namespace with `values` (`--set` pairs), applies its
 * ServiceAccount and RBAC objects only (no kubelet runs its pods), and starts the operator bin as
 * the rendered Deployment runs it: its flags, a token of the ServiceAccount, the test's NATS access.
 */
async function installOperator(release: string, values: string[]): Promise<OperatorBin> {
  const namespace = await newNamespace(cluster, release);
  const sets = [
    `lattice=${lat.lattice}`,
    'operator.leaseMs=3000',
    'nats.enabled=false',
    `externalNats.url=${nats.servers}`,
    'externalNats.credentialsSecret.name=wasmesh-creds',
    'externalNats.tlsCaSecret.name=nats-ca',
    ...values,
  ];
  const rendered = await cluster.helm([
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    ...sets.flatMap((v) => ['--set', v]),
  ]);
  if (rendered.code !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
  const objects = parseAllDocuments(rendered.stdout)
    .map((d) => d.toJS() as Rendered | null)
    .filter((o): o is Rendered => o !== null);
  const identity = objects.filter((o) => IDENTITY_KINDS.has(o.kind));
  await kubectlOk(
    cluster,
    ['apply', '-n', namespace, '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: identity }),
  );
  const name = `${release}-wasmesh-operator`;
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
  const args = deployment?.spec?.template?.spec.containers.find((c) => c.name === 'operator')?.args;
  if (!args) throw new Error(`the chart rendered no operator container in Deployment ${name}`);

  const kubeconfig = await cluster.serviceAccountKubeconfig(namespace, name);
  const id = `${name}-0`;
  const child = spawn(
    process.execPath,
    [
      BIN,
      ...args.map((a) => a.replace('$(POD_NAME)', id)),
      '--kubeconfig',
      kubeconfig,
      '--nats',
      nats.servers,
      ...(nats.creds ? ['--creds', nats.creds] : []),
      ...(nats.tlsCa ? ['--tls-ca', nats.tlsCa] : []),
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_OPTIONS: '', WASMESH_LOG_LEVEL: 'info', KUBECONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  killOnExit(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-50_000)));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  operator = { child, output: () => err, exited, namespace, id };
  expect(identity.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
    values.includes('clusterWide=true')
      ? [`ClusterRole/${name}`, `ClusterRoleBinding/${name}`, `ServiceAccount/${name}`]
      : [`Role/${name}`, `RoleBinding/${name}`, `ServiceAccount/${name}`],
  );
  return operator;
}

/** Deploys an HTTP app in `namespace` under the running operator, checks what it writes, and deletes it. */
async function deployAndDelete(namespace: string, name: string): Promise<void> {
  await kubectlOk(cluster, ['apply', '-n', namespace, '-f', '-'], httpEcho(name));
  const app = await untilObject<ApplicationObject>(
    ['application', name, '-n', namespace],
    (a) => a.status?.phase === 'Deployed',
  );
  expect(app.metadata?.finalizers).toContain(FINALIZER);
  expect(app.status).toMatchObject({ deployedVersion: 'v1', observedGeneration: 1 });
  expect(app.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  expect((await store.apps.get(`${namespace}_${name}`))?.deployedVersion).toBe('v1');
  const service = await untilObject<V1Service>(['service', name, '-n', namespace], () => true);
  expect(service.spec?.ports).toEqual([expect.objectContaining({ name: 'http', port })]);
  expect(service.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Application', name });
  const slice = await untilObject<V1EndpointSlice>(
    ['endpointslice', `${name}-http`, '-n', namespace],
    (s) => (s.endpoints ?? []).length > 0,
  );
  expect(slice.endpoints?.[0]?.addresses).toEqual(['10.1.2.3']);
  expect(await kubectlOk(cluster, ['describe', 'application', name, '-n', namespace])).toMatch(
    /Normal\s+Deployed\s+.*wasmesh-operator/,
  );

  // Delete: undeployed and deleted from the lattice by the operator, then the finalizer lets it go.
  await kubectlOk(cluster, ['delete', 'application', name, '-n', namespace, '--timeout=30s']);
  expect(await store.apps.get(`${namespace}_${name}`)).toBeUndefined();
  expect((await cluster.kubectl(['get', 'application', name, '-n', namespace])).stderr).toContain('NotFound');
}

beforeAll(async () => {
  [cluster, lat] = await Promise.all([
    // As strict as production clusters often are: an owner reference that blocks its owner's
    // deletion needs `update` on the owner's finalizers.
    KubeCluster.start({
      controllerManager: true,
      manifests: [CRDS],
      admissionPlugins: ['OwnerReferencesPermissionEnforcement'],
    }),
    startLattice({
      hosts: [{ labels: { zone: 'a', pod_ip: '10.1.2.3', pod_name: 'hosts-0', pod_namespace: 'hosts' } }],
    }),
  ]);
  store = await AppStore.open(lat.client.nc, lat.client.subjects);
  port = await freePort();
  echoRef = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('echo')));
  nats = await lat.nats.access(lat.lattice);
  reconciler = await Reconciler.start({
    natsUrl: nats.servers,
    ...(nats.creds ? { creds: nats.creds } : {}),
    ...(nats.tlsCa ? { tlsCa: nats.tlsCa } : {}),
    lattice: lat.lattice,
    id: 'rec',
    intervalMs: 300,
    leaseMs: 1000,
    heartbeatMs: 500,
  });
}, 120_000);

afterAll(async () => {
  operator?.child.kill('SIGKILL');
  await reconciler?.close().catch(() => undefined);
  if (rogue) await stopServer(rogue);
  await lat?.[Symbol.asyncDispose]();
  await cluster?.stop();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

test("under the chart's namespaced Role the operator leads, deploys (status, Events, Service, EndpointSlice), runs a HostGroup and deletes through its finalizer", async () => {
  const { namespace, id } = await installOperator('wm', []);
  await until('the operator to lead', async () => (await leaseHolder().catch(() => '')) === id, 20_000).catch(
    withOperatorOutput,
  );
  await deployAndDelete(namespace, 'web');

  // A HostGroup: its Deployment and ConfigMap (server-side apply), its status from the Deployment.
  await kubectlOk(
    cluster,
    ['apply', '-n', namespace, '-f', '-'],
    'apiVersion: wasmesh.dev/v1alpha1\nkind: HostGroup\nmetadata:\n  name: hosts\nspec:\n  replicas: 2\n',
  );
  const deployment = await untilObject<V1Deployment>(['deployment', 'hosts', '-n', namespace], () => true);
  expect(deployment.spec?.replicas).toBe(2);
  expect(deployment.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'HostGroup', name: 'hosts' });
  const config = await untilObject<V1ConfigMap>(['configmap', 'hosts-host-config', '-n', namespace], () => true);
  // Defaulted as documented: the operator's own lattice and NATS URL.
  expect(config.data).toMatchObject({ WASMESH_LATTICE: lat.lattice, WASMESH_NATS_URL: nats.servers });
  await untilObject<HostGroupObject>(
    ['hostgroup', 'hosts', '-n', namespace],
    (h) => h.status?.replicas === 2 && (h.status.conditions ?? []).some((c) => c.type === 'Progressing'),
  );

  // Nothing the operator tried was forbidden; SIGTERM ends it cleanly, its Lease released.
  expect(operator.output()).not.toMatch(/forbidden/i);
  operator.child.kill('SIGTERM');
  expect(await operator.exited).toBe(0);
  expect(await leaseHolder()).toBe('');
}, 90_000);

test("with clusterWide=true, under the chart's ClusterRole it deploys an Application of any namespace", async () => {
  const { id } = await installOperator('wmc', ['clusterWide=true']);
  await until('the operator to lead', async () => (await leaseHolder().catch(() => '')) === id, 20_000).catch(
    withOperatorOutput,
  );
  await deployAndDelete(await newNamespace(cluster, 'apps'), 'site');
  expect(operator.output()).not.toMatch(/forbidden/i);
}, 60_000);

test('when its lattice connection closes for good it releases its Lease and exits 5 with one error line', async () => {
  const { certFile, keyFile } = await ensureServerTls(path.dirname(lat.nats.caFile!));
  await lat.nats.stop();
  // NATS merely down: the operator keeps reconnecting and running.
  const early = await Promise.race([operator.exited, new Promise((r) => setTimeout(() => r('running'), 1500))]);
  expect(early).toBe('running');

  // NATS back on the same address and certificate, but trusting another authority: the operator's
  // credentials are refused, so its connection closes for good.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-rogue-nats-'));
  tempDirs.push(dir);
  const authority = LatticeAuthority.open(path.join(dir, 'auth'));
  const config = path.join(dir, 'nats.conf');
  writeFileSync(config, `listen: 127.0.0.1:${lat.nats.port}\n${await authority.serverConfig({ certFile, keyFile })}`);
  const server = launchServer('nats-server', findNatsServerBinary(), ['-c', config], { cwd: dir });
  rogue = server;
  await waitReady(server, () => Promise.resolve(server.log().includes('Server is ready')), 15_000);

  // Within a few reconnect attempts (250 ms apart), and the shutdown that releases the Lease.
  const code = await Promise.race([operator.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
  expect(code).toBe(5);
  const errors = operator
    .output()
    .split('\n')
    .filter((l) => l.startsWith('wasmesh:'));
  expect(errors).toEqual(['wasmesh: WASMESH_ERR_NOT_CONNECTED: the operator stopped: its NATS connection closed']);
  // It released its Lease on the way out: another replica takes over at once.
  expect(await leaseHolder()).toBe('');
}, 60_000);
