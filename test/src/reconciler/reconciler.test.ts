/**
 * The app reconciler against a real lattice: a nats-server and three host processes labelled
 * zone=a, zone=a, zone=b (heartbeats every 500 ms), reconcilers with short intervals and leases.
 * The tests run in order and build on each other:
 *
 *   1. a leading reconciler killed with SIGKILL (in a child process) is replaced, and the new
 *      leader keeps reconciling; a leader that closes hands over at once;
 *   2. kvcounter deployed from a manifest: `deployed`, placement by labels and weights, HTTP works
 *      through the http-server provider the app started;
 *   3. kill -9 of a host running the actor: replicas re-placed and `deployed` again within 10 s of
 *      the loss being noticed;
 *   4. an upgrade (new image reference, more instances) under HTTP traffic: providers keep their
 *      process, no request fails;
 *   5. two apps claiming one actor id: the second deploy is refused naming the first;
 *   6. a spread no host meets: `failed` naming the spread, `deployed` once a matching host joins;
 *   7. delete while deployed is refused; undeploy removes what the app started and nothing else;
 *      delete then works.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AppStore, loadManifest, Reconciler, APP_ANNOTATION } from '@wasmesh/apps';
import { ControlClient, linkKey, type LinkState } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import { actorApp } from '../app-manifests.js';
import { actorPath } from '../fixtures.js';
import { killOnExit } from '../harness/nats-server.js';
import { freePort } from '../harness/redis-server.js';
import { EventLog, startLattice, until, type LatticeFixture } from '../lattice/fixture.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const HEARTBEAT_MS = 500;
const OPTIONS = { intervalMs: 300, leaseMs: 1000, heartbeatMs: HEARTBEAT_MS };

let lat: LatticeFixture;
let store: AppStore;
let state: LinkState;
let control: ControlClient;
let events: EventLog;
let kvcounterRef: string;
let echoRef: string;
let port: number;
const reconcilers: Reconciler[] = [];
let child: ChildProcess | undefined;
let childErr = '';
/** Where reconcilers reach the lattice: its URL and admin credentials. */
let access: { natsUrl: string; creds?: string; tlsCa?: string; lattice: string };

/** The test's version of deploy/apps/kvcounter.yaml. */
function kvcounterManifest(version: string, image: string, instances: number): string {
  return `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: kvcounter
  annotations:
    version: ${version}
spec:
  components:
    - name: counter
      type: actor
      properties:
        image: ${image}
        id: kvcounter
      traits:
        - type: spreadscaler
          properties:
            instances: ${instances}
            spread:
              - name: zone-a
                requirements: { zone: a }
                weight: 75
              - name: zone-b
                requirements: { zone: b }
                weight: 25
        - type: link
          properties:
            target: http
            contract: wasmesh:httpserver
            config:
              path: /counter
        - type: link
          properties:
            target: kv
            contract: wasmesh:keyvalue
            config:
              backend: nats
              bucket: counters
    - name: http
      type: capability
      properties:
        image: builtin:http-server
        config:
          address: 127.0.0.1:${port}
      traits:
        - type: spreadscaler
          properties:
            instances: 1
            spread:
              - name: provider-zone
                requirements: { zone: b }
    - name: kv
      type: capability
      properties:
        image: builtin:keyvalue
      traits:
        - type: spreadscaler
          properties:
            instances: 1
            spread:
              - name: provider-zone
                requirements: { zone: b }
`;
}

/** A one-actor app (the echo actor) with a spreadscaler over `spread` (default: every host). */
function echoManifest(name: string, actorId: string, instances = 1, spread = ''): string {
  return actorApp({ name, image: echoRef, id: actorId, instances, spread });
}

async function putAndDeploy(text: string): Promise<string> {
  const manifest = loadManifest(text, { source: 'test' });
  await store.put(manifest);
  await store.deploy(manifest.name, manifest.version);
  return manifest.name;
}

/** Waits for app `name` to reach `want` (and version `version`); returns how long it took. */
async function untilState(
  name: string,
  want: string,
  timeoutMs = 15_000,
  extra: (s: lattice.IAppStatus) => boolean = () => true,
): Promise<number> {
  let last: lattice.IAppStatus | undefined;
  return until(
    `app ${name} to be ${want}`,
    async () => {
      last = await store.status(name);
      return last?.state === want && extra(last);
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(last)}${childErr ? `\nchild: ${childErr}` : ''}`);
  });
}

/** Inventories of the hosts that are alive. */
async function inventories(): Promise<lattice.HostInventory[]> {
  const infos = await control.ping(300);
  return Promise.all(infos.map((h) => control.inventory(h.hostId)));
}

/** Where actor `actorId` runs: maxConcurrent by host id. */
async function placementOf(actorId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const inv of await inventories()) {
    const a = inv.actors.find((x) => x.actorId === actorId);
    if (a) out[inv.host!.hostId!] = a.maxConcurrent ?? 0;
  }
  return out;
}

/** The hosts running provider `providerId`. */
async function providerHosts(providerId: string): Promise<string[]> {
  return (await inventories())
    .filter((inv) => inv.providers.some((p) => p.providerId === providerId))
    .map((inv) => inv.host!.hostId!);
}

async function get(p: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

const leader = (): Reconciler | undefined => reconcilers.find((r) => r.isLeader && r.state === 'running');

beforeAll(async () => {
  lat = await startLattice({
    hosts: [{ labels: { zone: 'a' } }, { labels: { zone: 'a' } }, { labels: { zone: 'b' } }],
  });
  store = await AppStore.open(lat.client.nc, lat.client.subjects);
  state = await lat.client.state();
  control = new ControlClient(lat.client.nc, lat.client.subjects, 30_000);
  events = new EventLog(lat.client);
  port = await freePort();
  const objects = await lat.client.objects();
  kvcounterRef = await objects.pushArtifact(readFileSync(actorPath('kvcounter')));
  echoRef = await objects.pushArtifact(readFileSync(actorPath('echo')));

  const { servers: natsUrl, ...auth } = await lat.nats.access(lat.lattice);
  access = { natsUrl, ...auth, lattice: lat.lattice };
  // The first reconciler runs in its own process, so that it can die with SIGKILL.
  const code = `
    import { Reconciler } from '@wasmesh/apps';
    const r = await Reconciler.start(${JSON.stringify({ ...access, id: 'child', ...OPTIONS })});
    setInterval(() => process.stdout.write(r.isLeader ? 'leader\\n' : 'follower\\n'), 50);
  `;
  child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: repoRoot,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  child.stderr!.on('data', (d: Buffer) => (childErr = (childErr + d.toString()).slice(-8000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the child reconciler did not lead within 15 s: ${childErr}`)),
      15_000,
    );
    child!.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('leader')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child!.once('exit', (c) => reject(new Error(`the child reconciler exited (${c}): ${childErr}`)));
  });
  for (const id of ['r1', 'r2']) reconcilers.push(await Reconciler.start({ ...access, id, ...OPTIONS }));
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  events?.close();
  await Promise.all(reconcilers.map((r) => r.close()));
  await lat?.[Symbol.asyncDispose]();
});

test('a leader killed with SIGKILL is replaced, and the new leader keeps reconciling', async () => {
  expect(reconcilers.some((r) => r.isLeader)).toBe(false);
  await putAndDeploy(echoManifest('hello-one', 'greeter-one'));
  await untilState('hello-one', 'deployed');
  expect(Object.values(await placementOf('greeter-one'))).toEqual([1]);

  child!.kill('SIGKILL');
  const killedAt = Date.now();
  await until('another reconciler to lead', () => leader() !== undefined, 10_000);
  const takeover = Date.now() - killedAt;
  // The lease (1 s) runs out, then a follower's next check (every lease / 3) takes it.
  expect(takeover).toBeLessThan(OPTIONS.leaseMs + 1500);

  await putAndDeploy(echoManifest('hello-two', 'greeter-two'));
  await untilState('hello-two', 'deployed');
  expect(Object.values(await placementOf('greeter-two'))).toEqual([1]);
  expect((await store.status('hello-one'))?.state).toBe('deployed');

  // A leader that closes gives its lease up: the other takes over within a check interval.
  const first = leader()!;
  const other = reconcilers.find((r) => r !== first)!;
  const closedAt = Date.now();
  await first.close();
  await until('the other reconciler to lead', () => other.isLeader, 5000);
  expect(Date.now() - closedAt).toBeLessThan(OPTIONS.leaseMs);
  reconcilers.splice(reconcilers.indexOf(first), 1);
  reconcilers.push(await Reconciler.start({ ...access, id: 'r3', ...OPTIONS }));
  await putAndDeploy(echoManifest('hello-three', 'greeter-three'));
  await untilState('hello-three', 'deployed');
}, 40_000);

test('kvcounter deploys: placed by labels and weights, served over HTTP by the provider it started', async () => {
  await putAndDeploy(kvcounterManifest('v0.1.0', kvcounterRef, 4));
  await untilState('kvcounter', 'deployed', 30_000);
  const [a1, a2, b] = lat.hosts as [(typeof lat.hosts)[0], (typeof lat.hosts)[0], (typeof lat.hosts)[0]];
  // 4 × 75/25: 3 in zone a (split 2 + 1 over its two hosts), 1 in zone b.
  const placed = await placementOf('kvcounter');
  expect(Object.keys(placed).sort()).toEqual([a1.hostId, a2.hostId, b.hostId].sort());
  expect(placed[b.hostId]).toBe(1);
  expect([placed[a1.hostId], placed[a2.hostId]].sort()).toEqual([1, 2]);
  for (const inv of await inventories()) {
    const a = inv.actors.find((x) => x.actorId === 'kvcounter');
    if (a) expect(a.annotations?.[APP_ANNOTATION]).toBe('kvcounter');
  }
  expect(await providerHosts('http')).toEqual([b.hostId]);
  expect(await providerHosts('kv')).toEqual([b.hostId]);

  const status = (await store.status('kvcounter'))!;
  expect(status.providers?.map((p) => `${p.providerId}@${p.hostId}`).sort()).toEqual([
    `http@${b.hostId}`,
    `kv@${b.hostId}`,
  ]);
  expect([...(status.links ?? [])].sort()).toEqual(
    [linkKey('kvcounter', 'wasmesh:httpserver', 'default'), linkKey('kvcounter', 'wasmesh:keyvalue', 'default')].sort(),
  );
  expect(status.config?.length).toBe(3);

  await until(
    'the HTTP route to answer',
    async () => (await get('/counter/x').catch(() => ({ status: 0 }))).status === 200,
  );
  const n = Number((await get('/counter/x')).body);
  expect(await get('/counter/x')).toEqual({ status: 200, body: `${n + 1}\n` });
}, 45_000);

test('kill -9 of a host running the actor: replicas are re-placed and the app is deployed again', async () => {
  const placed = await placementOf('kvcounter');
  const [a1, a2] = lat.hosts as [(typeof lat.hosts)[0], (typeof lat.hosts)[0]];
  const victim = placed[a1.hostId] === 2 ? a1 : a2;
  const survivor = victim === a1 ? a2 : a1;
  expect(placed[victim.hostId]).toBeGreaterThan(0);

  await victim.kill();
  const killedAt = Date.now();
  await untilState('kvcounter', 'deployed', 20_000, (s) => Number(s.updatedAtMs) > killedAt);
  await until('the survivor to run all of zone a', async () => (await placementOf('kvcounter'))[survivor.hostId] === 3);
  const recovered = Date.now() - killedAt;
  // Noticed after 2.5 missed heartbeats (1.25 s); deployed again well within 10 s of that.
  expect(recovered).toBeLessThan(2.5 * HEARTBEAT_MS + 10_000);
  expect(Object.keys(await placementOf('kvcounter'))).not.toContain(victim.hostId);
  expect((await get('/counter/x')).status).toBe(200);
  process.stderr.write(`[reconciler test] recovered ${recovered} ms after kill -9 (heartbeat ${HEARTBEAT_MS} ms)\n`);
}, 30_000);

test('an upgrade under HTTP traffic restarts only what changed and fails no request', async () => {
  const httpBefore = (await state.providers.get('http'))!;
  const kvBefore = (await state.providers.get('kv'))!;
  const seen: { status: number; body: string }[] = [];
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) seen.push(await get('/counter/up').catch((e: Error) => ({ status: 0, body: e.message })));
  });
  await until('traffic to flow', () => seen.length > 20);
  const from = events.events.length;

  // Same module, other reference (file URL) and twice the instances: actors change, providers do not.
  const fileRef = pathToFileURL(actorPath('kvcounter')).href;
  await putAndDeploy(kvcounterManifest('v0.2.0', fileRef, 8));
  await untilState('kvcounter', 'deployed', 20_000, (s) => s.version === 'v0.2.0');
  const placed = await placementOf('kvcounter');
  expect(Object.values(placed).sort()).toEqual([2, 6]);
  for (const inv of await inventories()) {
    const a = inv.actors.find((x) => x.actorId === 'kvcounter');
    if (a) expect(a.artifactRef).toBe(fileRef);
  }
  await until('more traffic after the upgrade', () => seen.length > 40);
  const upgradeEvents = events.events.slice(from);
  running = false;
  await Promise.all(loops);

  expect(seen.filter((s) => s.status !== 200)).toEqual([]);
  expect(upgradeEvents.filter((e) => e.type === 'provider_started' || e.type === 'provider_stopped')).toEqual([]);
  expect(upgradeEvents.filter((e) => e.type === 'actor_stopped')).toEqual([]);
  const httpAfter = (await state.providers.get('http'))!;
  const kvAfter = (await state.providers.get('kv'))!;
  // The same instances (in-process ones share their host's pid: their start time tells them apart).
  const instance = (r: typeof httpAfter): unknown[] => [r.instance, Number(r.startedAtMs)];
  expect([instance(httpAfter), instance(kvAfter)]).toEqual([instance(httpBefore), instance(kvBefore)]);
  // Every request counted once: the counts are distinct.
  expect(new Set(seen.map((s) => s.body)).size).toBe(seen.length);
}, 45_000);

test('two apps claiming one actor id: the second deploy is refused, naming the first', async () => {
  const manifest = loadManifest(echoManifest('thief', 'greeter-one'), { source: 'test' });
  await store.put(manifest);
  const err = await store.deploy('thief').then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  expect(err?.code).toBe('WASMESH_ERR_CONFLICT');
  expect(err?.message).toContain('hello-one');
  expect(err?.message).toContain('greeter-one');
  expect((await store.record('thief')).deployedVersion).toBe('');
  await store.delete('thief');
});

test('a spread no host meets: failed, naming the spread; deployed once a matching host joins', async () => {
  const spread = `            spread:
              - name: zone-c-only
                requirements: { zone: c }
`;
  await putAndDeploy(echoManifest('zonal', 'zonal', 2, spread));
  await untilState('zonal', 'failed');
  expect((await store.status('zonal'))?.message).toContain('zone-c-only');

  const host = await lat.addHost({ labels: { zone: 'c' } });
  await untilState('zonal', 'deployed', 15_000);
  expect(await placementOf('zonal')).toEqual({ [host.hostId]: 2 });
}, 30_000);

test('undeploy removes what the app started and nothing else; delete works once undeployed', async () => {
  // Things started by hand: an actor (signed examples may only be linked to contracts in their
  // caps: kvcounter's include keyvalue), and a link to the app's key-value provider.
  const b = lat.hosts[2]!;
  await control.startActor({ hostId: b.hostId, actorId: 'bystander', artifactRef: kvcounterRef, maxConcurrent: 1 });
  await state.putLink({ sourceId: 'bystander', contract: 'wasmesh:keyvalue', name: 'manual', targetId: 'kv' });
  const owned = (await store.status('kvcounter'))!;
  expect(owned.config?.length).toBeGreaterThan(0);

  const refused = await store.delete('kvcounter').then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  expect(refused?.code).toBe('WASMESH_ERR_CONFLICT');

  await store.undeploy('kvcounter');
  await untilState('kvcounter', 'undeployed', 20_000);

  const invs = await inventories();
  const annotated = invs.flatMap((inv) => inv.actors.filter((a) => a.annotations?.[APP_ANNOTATION] === 'kvcounter'));
  expect(annotated).toEqual([]);
  expect(
    invs.flatMap((inv) => inv.providers.map((p) => p.providerId)).filter((p) => p === 'http' || p === 'kv'),
  ).toEqual([]);
  for (const key of owned.links ?? []) expect(await state.links.get(key)).toBeUndefined();
  for (const name of owned.config ?? []) expect(await state.config.get(name)).toBeUndefined();
  const status = (await store.status('kvcounter'))!;
  expect([status.providers, status.links, status.config]).toEqual([[], [], []]);

  // Untouched: the hand-started actor and link, the other apps.
  expect(await placementOf('bystander')).toEqual({ [b.hostId]: 1 });
  expect(await state.links.get(linkKey('bystander', 'wasmesh:keyvalue', 'manual'))).toBeDefined();
  for (const app of ['hello-one', 'hello-two', 'hello-three', 'zonal'])
    expect((await store.status(app))?.state).toBe('deployed');
  expect(Object.keys(await placementOf('greeter-one'))).toHaveLength(1);

  await store.delete('kvcounter');
  expect((await store.list()).map((a) => a.name)).not.toContain('kvcounter');
  expect(await store.status('kvcounter')).toBeUndefined();
}, 40_000);

test('an upgrade that changes a provider’s config names restarts that provider, and only it', async () => {
  const manifest = (version: string, config: string): string => `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: store-only
  annotations:
    version: ${version}
spec:
  components:
    - name: kv
      type: capability
      properties:
        image: builtin:keyvalue
        id: kv2
        config: ${config}
      traits:
        - type: spreadscaler
          properties:
            instances: 1
            spread:
              - name: provider-zone
                requirements: { zone: b }
`;
  const b = lat.hosts[2]!;
  // Which instance runs: its pid and start time (an in-process provider shares its host's pid).
  const instanceOf = async (): Promise<[number, number] | undefined> => {
    const p = (await control.inventory(b.hostId)).providers.find((x) => x.providerId === 'kv2');
    return p ? [p.pid ?? 0, Number(p.startedAtMs)] : undefined;
  };
  await putAndDeploy(manifest('v1', '{ backend: nats }'));
  await untilState('store-only', 'deployed');
  const before = await instanceOf();
  expect(before?.[0]).toBeGreaterThan(0);
  expect((await store.status('store-only'))?.config).toEqual(['store-only-kv']);

  await state.putConfig('kv2-extra', { backend: 'nats' });
  await putAndDeploy(manifest('v2', '[{ name: kv2-extra }]'));
  await untilState('store-only', 'deployed', 15_000, (s) => s.version === 'v2');
  const after = (await control.inventory(b.hostId)).providers.find((p) => p.providerId === 'kv2');
  expect(after?.pid).toBeGreaterThan(0);
  expect(await instanceOf()).not.toEqual(before);
  expect(after?.config).toEqual(['kv2-extra']);
  expect(await state.config.get('store-only-kv')).toBeUndefined();
  expect(await state.config.get('kv2-extra')).toBeDefined();
  // Nothing else moved: the other apps are still deployed.
  for (const app of ['hello-one', 'zonal']) expect((await store.status(app))?.state).toBe('deployed');
}, 30_000);
