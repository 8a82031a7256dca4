/**
 * OCI artifacts end to end with real processes: `wasmesh push FILE oci://…` to an htpasswd registry
 * (refused without credentials, then with --username/--password-stdin and with a docker config
 * file), a host (credentials from its DOCKER_CONFIG) starting an actor from the tag and calling
 * it, `update actor` picking up a moved tag, an app manifest with an `oci://` image deployed by the
 * reconciler, and a host whose registry is gone starting the actor by digest from its cache.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppStore, loadManifest, Reconciler, resolveImages } from '@wasmesh/apps';
import { actorPath } from '../fixtures.js';
import { RegistryServer } from '../harness/registry.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import { natsFlags, wasmesh as runWasmesh, type CliResult } from '../cli/run-cli.js';

let registry: RegistryServer;
let lat: LatticeFixture;
let tmp: string;
let dockerDir: string;
let cacheDir: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-oci-e2e-'));
  registry = await RegistryServer.start({ auth: 'htpasswd' });
  dockerDir = path.join(tmp, 'docker');
  mkdirSync(dockerDir);
  const { username, password } = registry.credentials!;
  writeFileSync(
    path.join(dockerDir, 'config.json'),
    JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }),
  );
  cacheDir = path.join(tmp, 'oci-cache');
  lat = await startLattice({ hosts: [{ env: { DOCKER_CONFIG: dockerDir, WASMESH_OCI_CACHE_DIR: cacheDir } }] });
}, 60_000);
afterAll(async () => {
  await lat?.[Symbol.asyncDispose]();
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs `wasmesh ...args` with `stdin`, and no docker config unless `env` names one. */
function wasmesh(args: string[], stdin = '', env: Record<string, string> = {}): Promise<CliResult> {
  return runWasmesh(args, { DOCKER_CONFIG: path.join(tmp, 'no-docker'), ...env }, stdin);
}

test('wasmesh push to oci:// needs credentials: refused without (exit 7), pushed with --password-stdin or a docker config', async () => {
  const target = `oci://${registry.host}/wasmesh/echo:v1`;
  const denied = await wasmesh(['push', actorPath('echo'), target, '--json']);
  expect(denied.code).toBe(7);
  expect(JSON.parse(denied.stdout).error.code).toBe('WASMESH_ERR_PERMISSION_DENIED');

  const { username, password } = registry.credentials!;
  const pushed = await wasmesh(
    ['push', actorPath('echo'), target, '--username', username, '--password-stdin', '--json'],
    `${password}\n`,
  );
  expect(pushed.stderr).toBe('');
  expect(pushed.code).toBe(0);
  const out = JSON.parse(pushed.stdout) as { ok: boolean; ref: string; digest: string; size: number };
  expect(out.ok).toBe(true);
  expect(out.ref).toBe(`oci://${registry.host}/wasmesh/echo@${out.digest}`);

  const again = await wasmesh(['push', actorPath('echo'), target], '', { DOCKER_CONFIG: dockerDir });
  expect(again.code).toBe(0);
  expect(again.stdout).toBe(`${out.ref}\n`);

  const usage = await wasmesh(['push', actorPath('echo'), 'https://example.com/x']);
  expect(usage.code).toBe(2);
});

test('a host starts an actor from an oci:// tag and serves it; update actor picks up a moved tag', async () => {
  const host = lat.hosts[0]!;
  const tag = `oci://${registry.host}/wasmesh/svc:stable`;
  const env = { DOCKER_CONFIG: dockerDir };
  expect((await wasmesh(['push', actorPath('echo'), tag], '', env)).code).toBe(0);
  await lat.client.control.startActor({ hostId: host.hostId, actorId: 'svc', artifactRef: tag, maxConcurrent: 4 });
  expect(Buffer.from(await lat.client.invoke('svc', 'Echo', Buffer.from('from oci'))).toString()).toBe('from oci');

  // The tag moves to another module: an update with the same reference resolves it again.
  expect((await wasmesh(['push', actorPath('hello'), tag], '', env)).code).toBe(0);
  await lat.client.control.updateActor({ hostId: host.hostId, actorId: 'svc', artifactRef: tag });
  expect(Buffer.from(await lat.client.invoke('svc', 'SayHello', Buffer.from('oci'))).toString()).toBe('Hello, oci!');
  const inv = await lat.client.control.inventory(host.hostId);
  expect(inv.actors.find((a) => a.actorId === 'svc')?.artifactRef).toBe(tag);
}, 60_000);

test('wasmesh start actor and update actor take oci:// references', async () => {
  const tag = `oci://${registry.host}/wasmesh/cli-svc:v1`;
  const env = { DOCKER_CONFIG: dockerDir };
  expect((await wasmesh(['push', actorPath('hello'), tag], '', env)).code).toBe(0);
  const flags = [...(await natsFlags(lat.nats, lat.lattice)), '--lattice', lat.lattice];
  const started = await wasmesh(['start', 'actor', tag, '--id', 'cli-svc', '--json', ...flags]);
  expect(started.stderr).toBe('');
  expect(started.stdout).toContain('"ok":true');
  expect(JSON.parse(started.stdout)).toMatchObject({ actor: 'cli-svc', artifactRef: tag });
  expect(Buffer.from(await lat.client.invoke('cli-svc', 'SayHello', Buffer.from('cli'))).toString()).toBe(
    'Hello, cli!',
  );
  expect((await wasmesh(['push', actorPath('echo'), tag], '', env)).code).toBe(0);
  const updated = await wasmesh(['update', 'actor', 'cli-svc', tag, '--json', ...flags]);
  expect(updated.code).toBe(0);
  expect(Buffer.from(await lat.client.invoke('cli-svc', 'Echo', Buffer.from('moved'))).toString()).toBe('moved');
}, 60_000);

test('registry errors reach the caller typed: a missing tag is WASMESH_ERR_NOT_FOUND naming the reference', async () => {
  const host = lat.hosts[0]!;
  const missing = `oci://${registry.host}/wasmesh/svc:missing`;
  await expect(
    lat.client.control.startActor({ hostId: host.hostId, actorId: 'nope', artifactRef: missing, maxConcurrent: 1 }),
  ).rejects.toMatchObject({ code: 'WASMESH_ERR_NOT_FOUND', message: expect.stringContaining(missing) });
});

test('an app manifest with an oci:// image is deployed by the reconciler and served', async () => {
  const image = `oci://${registry.host}/wasmesh/app-echo:v1`;
  expect((await wasmesh(['push', actorPath('echo'), image], '', { DOCKER_CONFIG: dockerDir })).code).toBe(0);
  const manifest = loadManifest(
    `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: oci-app
  annotations:
    version: v1
spec:
  components:
    - name: echo
      type: actor
      properties:
        image: ${image}
        id: oci-echo
      traits:
        - type: spreadscaler
          properties:
            instances: 1
`,
    { source: 'test' },
  );
  // Deploying clients resolve local images; an oci:// image is left for the hosts to pull.
  const resolved = await resolveImages(manifest, tmp, () => Promise.reject(new Error('nothing to push')));
  expect(resolved.components[0]).toMatchObject({ kind: 'actor', image });
  const store = await AppStore.open(lat.client.nc, lat.client.subjects);
  const { servers: natsUrl, ...auth } = await lat.nats.access(lat.lattice);
  const reconciler = await Reconciler.start({ natsUrl, ...auth, lattice: lat.lattice, id: 'oci', intervalMs: 300 });
  try {
    await store.put(resolved);
    await store.deploy(resolved.name, resolved.version);
    await until(
      'the oci:// app to be deployed',
      async () => (await store.status('oci-app'))?.state === 'deployed',
      20_000,
    );
    expect(Buffer.from(await lat.client.invoke('oci-echo', 'Echo', Buffer.from('app'))).toString()).toBe('app');
  } finally {
    await reconciler.close();
  }
}, 60_000);

test('a host whose registry is gone starts the actor by digest from its cache', async () => {
  const pinnedPush = await wasmesh(['push', actorPath('fib'), `oci://${registry.host}/wasmesh/fib:v1`], '', {
    DOCKER_CONFIG: dockerDir,
  });
  expect(pinnedPush.code).toBe(0);
  const pinned = pinnedPush.stdout.trim();
  const first = lat.hosts[0]!;
  await lat.client.control.startActor({ hostId: first.hostId, actorId: 'fib', artifactRef: pinned, maxConcurrent: 4 });
  await registry.stop();
  // A new host sharing the cache directory (as a restarted host would) needs no registry.
  const second = await lat.addHost({ env: { DOCKER_CONFIG: dockerDir, WASMESH_OCI_CACHE_DIR: cacheDir } });
  await lat.client.control.startActor({
    hostId: second.hostId,
    actorId: 'fib2',
    artifactRef: pinned,
    maxConcurrent: 4,
  });
  expect(Buffer.from(await lat.client.invoke('fib2', 'Fib', Buffer.from('10'))).toString()).toBe('55');
}, 60_000);
