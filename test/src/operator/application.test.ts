/**
 * The operator's Application controller against a real kube-apiserver (+ etcd) with the project's
 * CRDs, a real lattice (nats-server + one host process standing in for the host pods) and a real
 * app reconciler. Two operators run in this process; one leads. The tests run in order:
 *
 *   1. exactly one operator leads (the Lease names it);
 *   2. `kubectl apply` of kvcounter → deployed on the lattice as app <namespace>_kvcounter → HTTP
 *      counts → `kubectl get applications` shows Deployed; the finalizer is set, Events recorded;
 *      a Service named after the app with an EndpointSlice of the host (pod) running its HTTP provider;
 *   3. a manifest the reconciler rejects (a spread no host meets) → phase Failed, Ready False with
 *      the reconciler's reason; a manifest the lattice refuses (a link to a missing component,
 *      which the CRD schema cannot see) → Failed, Synced False, InvalidManifest;
 *   4. an edit (new version, more instances) → the new version deployed, HTTP still counts;
 *   5. delete → the app undeployed and deleted from the lattice, the object gone (finalizer released);
 *   6. the leader stops → the other operator takes over and deploys a new Application.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { AppStore, Reconciler } from '@wasmesh/apps';
import { createLogger } from '@wasmesh/lattice';
import { FINALIZER, Operator, type ApplicationObject } from '@wasmesh/operator';
import { actorApp, localKvcounter } from '../app-manifests.js';
import { actorPath } from '../fixtures.js';
import { KubeCluster } from '../harness/kube.js';
import { killOnExit } from '../harness/nats-server.js';
import { freePort } from '../harness/redis-server.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CRDS = path.join(REPO_ROOT, 'deploy', 'crds');
const BIN = path.join(REPO_ROOT, 'deploy', 'operator', 'bin', 'wasmesh-operator.js');

let cluster: KubeCluster;
let lat: LatticeFixture;
let store: AppStore;
let reconciler: Reconciler;
const operators: Operator[] = [];
let kvcounterRef: string;
let echoRef: string;
let port: number;
let namespaces = 0;
/** The NATS flags of the operator bin. */
let natsArgs: string[] = [];
const children: ChildProcess[] = [];

/** kubectl that must succeed; its stdout. */
async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

async function newNamespace(): Promise<string> {
  const name = `op${++namespaces}`;
  await kubectl(['create', 'namespace', name]);
  return name;
}

async function getApp(namespace: string, name: string): Promise<ApplicationObject> {
  return JSON.parse(await kubectl(['get', 'application', name, '-n', namespace, '-o', 'json'])) as ApplicationObject;
}

/** Waits until the Application's status satisfies `check`; the error shows the last status. */
async function untilStatus(
  namespace: string,
  name: string,
  check: (app: ApplicationObject) => boolean,
  timeoutMs = 20_000,
): Promise<ApplicationObject> {
  let last: ApplicationObject | undefined;
  await until(
    `Application ${namespace}/${name} to reach the expected status`,
    async () => {
      last = await getApp(namespace, name);
      return check(last);
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(last?.status)}`);
  });
  return last!;
}

/** The shipped deploy/apps/kvcounter-local.yaml, its image pushed to the lattice first. */
function kvcounter(version: string, instances: number): string {
  return localKvcounter({ image: kvcounterRef, address: `127.0.0.1:${port}`, version, instances });
}

/** A one-actor app; `extra` is appended to the actor's traits. */
function echo(name: string, actorId: string, extra = ''): string {
  return actorApp({ name, image: echoRef, id: actorId, traits: extra });
}

async function count(name: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/counter/${name}`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return (await res.text()).trim();
}

/** The actor ids running on the lattice's hosts. */
async function runningActors(): Promise<string[]> {
  const hosts = await lat.client.control.ping(300);
  const inventories = await Promise.all(hosts.map((h) => lat.client.control.inventory(h.hostId)));
  return inventories.flatMap((inv) => inv.actors.map((a) => a.actorId ?? ''));
}

const leader = (): Operator | undefined => operators.find((o) => o.isLeader);

/** The wasmesh-operator bin in a child process; `output` collects its stderr. */
function startBin(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, '--lattice', lat.lattice, ...natsArgs, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '', WASMESH_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => err, exited };
}

/** The Lease's holder. */
async function leaseHolder(): Promise<string> {
  const lease = JSON.parse(await kubectl(['get', 'lease', 'wasmesh-operator', '-n', 'default', '-o', 'json'])) as {
    spec: { holderIdentity?: string };
  };
  return lease.spec.holderIdentity ?? '';
}

beforeAll(async () => {
  [cluster, lat] = await Promise.all([
    KubeCluster.start({ manifests: [CRDS] }),
    // The host stands in for a host pod: HostGroup pods carry these labels (downward API).
    startLattice({
      hosts: [{ labels: { zone: 'a', pod_ip: '10.1.2.3', pod_name: 'hosts-0', pod_namespace: 'hosts' } }],
    }),
  ]);
  store = await AppStore.open(lat.client.nc, lat.client.subjects);
  port = await freePort();
  const objects = await lat.client.objects();
  kvcounterRef = await objects.pushArtifact(readFileSync(actorPath('kvcounter')));
  echoRef = await objects.pushArtifact(readFileSync(actorPath('echo')));
  const { servers, creds, tlsCa } = await lat.nats.access(lat.lattice);
  natsArgs = ['--nats', servers, ...(creds ? ['--creds', creds] : []), ...(tlsCa ? ['--tls-ca', tlsCa] : [])];
  reconciler = await Reconciler.start({
    natsUrl: servers,
    creds,
    tlsCa,
    lattice: lat.lattice,
    id: 'rec',
    intervalMs: 300,
    leaseMs: 1000,
    heartbeatMs: 500,
  });
  for (const id of ['op-1', 'op-2']) {
    operators.push(
      await Operator.start({
        kubeconfig: cluster.kubeconfig,
        natsUrl: servers,
        creds,
        tlsCa,
        lattice: lat.lattice,
        id,
        leaderElectionNamespace: 'default',
        leaseMs: 2000,
        pollMs: 300,
        resyncMs: 5000,
        shutdownDeadlineMs: 5000,
        logger: createLogger({ component: id, level: process.env.WASMESH_TEST_LOG ?? 'silent' }),
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(operators.map((o) => o.close()));
  await reconciler?.close();
  await lat?.[Symbol.asyncDispose]();
  await cluster?.stop();
});

test('exactly one operator leads, as its Lease says', async () => {
  await until('an operator to lead', () => leader() !== undefined, 10_000);
  expect(operators.filter((o) => o.isLeader)).toHaveLength(1);
  const lease = JSON.parse(await kubectl(['get', 'lease', 'wasmesh-operator', '-n', 'default', '-o', 'json'])) as {
    spec: { holderIdentity: string; leaseDurationSeconds: number };
  };
  expect(lease.spec.holderIdentity).toBe(leader()!.id);
  expect(lease.spec.leaseDurationSeconds).toBe(2);
});

let ns: string;

test('kubectl apply of kvcounter: deployed on the lattice, HTTP counts, kubectl get applications shows Deployed', async () => {
  ns = await newNamespace();
  await kubectl(['apply', '-n', ns, '-f', '-'], kvcounter('v0.1.0', 1));
  const app = await untilStatus(ns, 'kvcounter', (a) => a.status?.phase === 'Deployed');
  expect(app.metadata?.finalizers).toContain(FINALIZER);
  expect(app.status).toMatchObject({ phase: 'Deployed', deployedVersion: 'v0.1.0', observedGeneration: 1 });
  const conditions = Object.fromEntries((app.status?.conditions ?? []).map((c) => [c.type, c]));
  expect(conditions.Ready).toMatchObject({ status: 'True', reason: 'Deployed' });
  expect(conditions.Synced).toMatchObject({ status: 'True', reason: 'Synced' });

  // The lattice has it as <namespace>_<name>, deployed by the reconciler.
  const record = await store.apps.get(`${ns}_kvcounter`);
  expect(record?.deployedVersion).toBe('v0.1.0');
  expect((await store.status(`${ns}_kvcounter`))?.state).toBe('deployed');
  await until('the HTTP route to answer', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/counter/ping`).catch(() => undefined);
    return res?.status === 200;
  });
  expect(await count('alice')).toBe('1');
  expect(await count('alice')).toBe('2');

  const table = await kubectl(['get', 'applications', '-n', ns]);
  expect(table).toMatch(/NAME\s+VERSION\s+PHASE\s+AGE/);
  expect(table).toMatch(/kvcounter\s+v0\.1\.0\s+Deployed/);
  // Its HTTP provider is exposed: a Service named after the app, endpoints the host pods running it.
  const service = JSON.parse(await kubectl(['get', 'service', 'kvcounter', '-n', ns, '-o', 'json'])) as V1Service;
  expect(service.spec?.ports).toEqual([expect.objectContaining({ name: 'http', port, targetPort: port })]);
  expect(service.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Application', name: 'kvcounter' });
  const slice = JSON.parse(
    await kubectl(['get', 'endpointslice', 'kvcounter-http', '-n', ns, '-o', 'json']),
  ) as V1EndpointSlice;
  expect(slice.metadata?.labels?.['kubernetes.io/service-name']).toBe('kvcounter');
  expect(slice.endpoints).toEqual([
    expect.objectContaining({
      addresses: ['10.1.2.3'],
      targetRef: expect.objectContaining({ kind: 'Pod', name: 'hosts-0', namespace: 'hosts' }),
    }),
  ]);
  expect(slice.ports).toEqual([expect.objectContaining({ name: 'http', port })]);

  const described = await kubectl(['describe', 'application', 'kvcounter', '-n', ns]);
  expect(described).toMatch(/Normal\s+Deploying\s+.*wasmesh-operator/);
  expect(described).toMatch(/Normal\s+Deployed/);
}, 60_000);

test('a manifest the reconciler rejects is Failed with its reason; one the lattice refuses is Failed, not Synced', async () => {
  const failing = await newNamespace();
  const nowhere = `            spread:
              - name: zone-nowhere
                requirements: { zone: nowhere }
`;
  await kubectl(['apply', '-n', failing, '-f', '-'], echo('stranded', 'stranded-echo', nowhere));
  const stranded = await untilStatus(failing, 'stranded', (a) => a.status?.phase === 'Failed');
  const ready = stranded.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready).toMatchObject({ status: 'False', reason: 'ReconcileFailed' });
  expect(ready?.message).toContain('zone-nowhere');
  expect(stranded.status?.conditions?.find((c) => c.type === 'Synced')?.status).toBe('True');
  expect(await kubectl(['describe', 'application', 'stranded', '-n', failing])).toMatch(/Warning\s+ReconcileFailed/);

  // A link to a component the manifest does not have: the schema lets it through, the lattice does not.
  const dangling = `        - type: link
          properties:
            target: nothing-here
            contract: wasmesh:keyvalue
`;
  await kubectl(['apply', '-n', failing, '-f', '-'], echo('dangling', 'dangling-echo', dangling));
  const refused = await untilStatus(failing, 'dangling', (a) => a.status?.phase === 'Failed');
  const synced = refused.status?.conditions?.find((c) => c.type === 'Synced');
  expect(synced).toMatchObject({ status: 'False', reason: 'InvalidManifest' });
  expect(synced?.message).toContain('nothing-here');
  expect(await store.apps.get(`${failing}_dangling`)).toBeUndefined();
  expect(await kubectl(['describe', 'application', 'dangling', '-n', failing])).toMatch(/Warning\s+InvalidManifest/);
}, 60_000);

test('an edit deploys the new version', async () => {
  await kubectl(['apply', '-n', ns, '-f', '-'], kvcounter('v0.2.0', 2));
  const app = await untilStatus(
    ns,
    'kvcounter',
    (a) => a.status?.phase === 'Deployed' && a.status.deployedVersion === 'v0.2.0',
  );
  expect(app.status?.observedGeneration).toBe(app.metadata?.generation);
  expect(app.metadata?.generation).toBe(2);
  const record = await store.apps.get(`${ns}_kvcounter`);
  expect(record?.deployedVersion).toBe('v0.2.0');
  expect(record?.versions?.map((v) => v.version)).toEqual(['v0.1.0', 'v0.2.0']);
  expect(await count('alice')).toBe('3');
}, 60_000);

test('delete undeploys and deletes the app from the lattice, then the finalizer lets the object go', async () => {
  expect(await runningActors()).toContain('kvcounter');
  await kubectl(['delete', 'application', 'kvcounter', '-n', ns, '--timeout=30s']);
  expect(await store.apps.get(`${ns}_kvcounter`)).toBeUndefined();
  expect(await store.status(`${ns}_kvcounter`)).toBeUndefined();
  expect(await runningActors()).not.toContain('kvcounter');
  const gone = await cluster.kubectl(['get', 'application', 'kvcounter', '-n', ns]);
  expect(gone.code).not.toBe(0);
  expect(gone.stderr).toContain('NotFound');
}, 60_000);

test('when the leader stops, the other operator takes over and reconciles', async () => {
  const first = leader()!;
  const other = operators.find((o) => o !== first)!;
  await first.close();
  // A leader that closes releases its Lease: the other takes it at its next attempt.
  await until('the other operator to lead', () => other.isLeader, 5000);
  const next = await newNamespace();
  await kubectl(['apply', '-n', next, '-f', '-'], echo('after-handover', 'after-handover-echo'));
  await untilStatus(next, 'after-handover', (a) => a.status?.phase === 'Deployed');
  // No HTTP provider, no Service.
  expect((await cluster.kubectl(['get', 'service', 'after-handover', '-n', next])).code).not.toBe(0);
  expect(await runningActors()).toContain('after-handover-echo');
  const lease = JSON.parse(await kubectl(['get', 'lease', 'wasmesh-operator', '-n', 'default', '-o', 'json'])) as {
    spec: { holderIdentity: string; leaseTransitions: number };
  };
  expect(lease.spec.holderIdentity).toBe(other.id);
  expect(lease.spec.leaseTransitions).toBeGreaterThanOrEqual(1);
}, 60_000);

test('the wasmesh-operator bin: one error line when it cannot start; SIGTERM ends it cleanly', async () => {
  const bad = startBin(['--kubeconfig', path.join(REPO_ROOT, 'no-such-kubeconfig')]);
  expect(await bad.exited).toBe(2);
  const lines = bad.output().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^wasmesh: WASMESH_ERR_CONFIG: cannot load the Kubernetes config .*no-such-kubeconfig/);

  const follower = startBin(['--kubeconfig', cluster.kubeconfig, '--namespace', 'no-such-namespace-here']);
  // A follower (another operator leads); SIGTERM ends it with status 0.
  await until('the bin to run', () => follower.output().includes('running for lattice'), 15_000);
  follower.child.kill('SIGTERM');
  expect(await follower.exited).toBe(0);
}, 60_000);

test('a leader that dies without releasing its Lease is replaced once the lease expires; images read from --image-dir', async () => {
  const current = leader()!;
  // The bin joins as a candidate; the in-process leader hands over to it.
  const bin = startBin([
    '--kubeconfig',
    cluster.kubeconfig,
    '--id',
    'op-bin',
    '--leader-election-namespace',
    'default',
    '--lease-ms',
    '2000',
  ]);
  await until('the bin to run', () => bin.output().includes('running for lattice'), 15_000);
  await current.close();
  await until('the bin to lead', async () => (await leaseHolder()) === 'op-bin', 10_000);
  const space = await newNamespace();
  await kubectl(['apply', '-n', space, '-f', '-'], echo('by-bin', 'by-bin-echo'));
  await untilStatus(space, 'by-bin', (a) => a.status?.phase === 'Deployed');

  bin.child.kill('SIGKILL');
  await bin.exited;
  const killedAt = Date.now();
  const successor = await Operator.start({
    kubeconfig: cluster.kubeconfig,
    ...(await lat.nats.access(lat.lattice).then(({ servers, creds, tlsCa }) => ({ natsUrl: servers, creds, tlsCa }))),
    lattice: lat.lattice,
    id: 'op-successor',
    imageDir: path.dirname(actorPath('echo')),
    leaderElectionNamespace: 'default',
    leaseMs: 2000,
    pollMs: 300,
  });
  operators.push(successor);
  await until('the successor to lead', () => successor.isLeader, 10_000);
  // It must wait out the dead leader's lease (2 s, as observed from its own first look).
  expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1900);
  // And it reconciles: deleting the bin's app goes through its finalizer.
  await kubectl(['delete', 'application', 'by-bin', '-n', space, '--timeout=30s']);
  expect(await store.apps.get(`${space}_by-bin`)).toBeUndefined();

  // With an image directory, a relative image path is read from there and pushed to the lattice;
  // a path out of it is refused.
  const fromFile = echo('from-file', 'from-file-echo').replace(echoRef, path.basename(actorPath('echo')));
  await kubectl(['apply', '-n', space, '-f', '-'], fromFile);
  await untilStatus(space, 'from-file', (a) => a.status?.phase === 'Deployed');
  const stored = await store.manifest(`${space}_from-file`);
  expect(stored.components.find((c) => c.kind === 'actor')).toMatchObject({ image: echoRef });
  const escaping = echo('escaping', 'escaping-echo').replace(echoRef, '../../../../../etc/hostname');
  await kubectl(['apply', '-n', space, '-f', '-'], escaping);
  const refused = await untilStatus(space, 'escaping', (a) => a.status?.phase === 'Failed');
  expect(refused.status?.conditions?.find((c) => c.type === 'Synced')).toMatchObject({
    status: 'False',
    reason: 'PermissionDenied',
  });
}, 60_000);
