/**
 * A tag that moves is re-resolved on update, against a real registry and a real lattice: a new app
 * version whose manifest still names the same `oci://…:TAG` hot-swaps the actor when the tag moved
 * and leaves it as it is (no swap, no recompile) when it did not; `wasmesh update actor` with the
 * same tag does the same. And a whole pull is bounded: a registry that accepts the layer request
 * and never answers fails the start with `WASMESH_ERR_TIMEOUT` naming the reference in time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AppStore, APP_VERSION_ANNOTATION, loadManifest, Reconciler } from '@wasmesh/apps';
import { digestOf, pullWasmArtifact, pushWasmArtifact, OCI_MANIFEST_MEDIA_TYPE } from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import { RegistryServer } from '../harness/registry.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import { natsFlags, wasmesh } from '../cli/run-cli.js';

let registry: RegistryServer;
let lat: LatticeFixture;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-oci-tag-'));
  registry = await RegistryServer.start();
  lat = await startLattice({
    hosts: [{ env: { DOCKER_CONFIG: path.join(tmp, 'no-docker'), WASMESH_OCI_CACHE_DIR: path.join(tmp, 'cache') } }],
  });
}, 60_000);
afterAll(async () => {
  await lat?.[Symbol.asyncDispose]();
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Pushes example actor `name` under `ref` (no credentials: the registry is open). */
async function push(name: string, ref: string): Promise<void> {
  await pushWasmArtifact(readFileSync(actorPath(name)), ref, { dockerConfig: null });
}

/** How `actorId` runs on the fixture's host. */
async function described(actorId: string) {
  const inv = await lat.client.control.inventory(lat.hosts[0]!.hostId);
  const actor = inv.actors.find((a) => a.actorId === actorId);
  if (!actor) throw new Error(`actor ${actorId} is not running`);
  return actor;
}

function manifestText(version: string, image: string): string {
  return `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: tag-app
  annotations:
    version: ${version}
spec:
  components:
    - name: svc
      type: actor
      properties:
        image: ${image}
        id: tag-svc
      traits:
        - type: spreadscaler
          properties:
            instances: 1
`;
}

test('a new app version re-resolves an oci:// tag: unchanged tag → nothing swapped, moved tag → the new module serves', async () => {
  const tag = `oci://${registry.host}/wasmesh/moving:latest`;
  await push('echo', tag);
  const store = await AppStore.open(lat.client.nc, lat.client.subjects);
  const { servers: natsUrl, ...auth } = await lat.nats.access(lat.lattice);
  const reconciler = await Reconciler.start({ natsUrl, ...auth, lattice: lat.lattice, id: 'tags', intervalMs: 300 });
  /** Puts and deploys `version` (the same manifest text otherwise), and waits for it to be deployed everywhere. */
  const deploy = async (version: string): Promise<void> => {
    const manifest = loadManifest(manifestText(version, tag), { source: 'test' });
    await store.put(manifest);
    await store.deploy(manifest.name, version);
    await until(
      `version ${version} to be deployed`,
      async () => {
        const status = await store.status('tag-app');
        if (status?.state !== 'deployed' || status.version !== version) return false;
        const actor = await described('tag-svc').catch(() => undefined);
        return actor?.annotations?.[APP_VERSION_ANNOTATION] === version;
      },
      20_000,
    );
  };
  try {
    await deploy('v1');
    expect(Buffer.from(await lat.client.invoke('tag-svc', 'Echo', Buffer.from('a'))).toString()).toBe('a');
    const first = await described('tag-svc');
    expect(first.artifactRef).toBe(tag);
    expect(first.digest).toBe(digestOf(readFileSync(actorPath('echo'))));

    // The tag did not move: the new version is deployed, the module is not swapped (same revision).
    await deploy('v2');
    const second = await described('tag-svc');
    expect(second.digest).toBe(first.digest);
    expect(Number(second.revision)).toBe(Number(first.revision));
    expect(Buffer.from(await lat.client.invoke('tag-svc', 'Echo', Buffer.from('b'))).toString()).toBe('b');

    // The tag moves to another module; the next version, same manifest text, swaps it in.
    await push('hello', tag);
    await deploy('v3');
    const third = await described('tag-svc');
    expect(third.artifactRef).toBe(tag);
    expect(third.digest).toBe(digestOf(readFileSync(actorPath('hello'))));
    expect(Number(third.revision)).toBe(Number(first.revision) + 1);
    expect(Buffer.from(await lat.client.invoke('tag-svc', 'SayHello', Buffer.from('tag'))).toString()).toBe(
      'Hello, tag!',
    );

    // Deployed and left alone: later rounds do not refresh the tag again (the revision stays).
    const rounds = reconciler.rounds;
    await until('a few more rounds', () => reconciler.rounds >= rounds + 3, 10_000);
    expect(Number((await described('tag-svc')).revision)).toBe(Number(third.revision));
  } finally {
    await store.undeploy('tag-app');
    await until('the app to be undeployed', async () => (await store.status('tag-app'))?.state === 'undeployed');
    await reconciler.close();
  }
}, 90_000);

test('wasmesh update actor with the same tag: unchanged when it did not move, the new module when it did', async () => {
  const tag = `oci://${registry.host}/wasmesh/cli-moving:v1`;
  await push('hello', tag);
  const hostId = lat.hosts[0]!.hostId;
  await lat.client.control.startActor({ hostId, actorId: 'cli-moving', artifactRef: tag, maxConcurrent: 2 });
  const before = await described('cli-moving');
  const flags = [...(await natsFlags(lat.nats, lat.lattice)), '--lattice', lat.lattice];
  const env = { DOCKER_CONFIG: path.join(tmp, 'no-docker') };

  const same = await wasmesh(['update', 'actor', 'cli-moving', tag, '--json', ...flags], env);
  expect(same.stderr).toBe('');
  expect(same.code).toBe(0);
  const sameOut = JSON.parse(same.stdout) as { hosts: { digest: string; unchanged: boolean; revision: number }[] };
  expect(sameOut.hosts).toEqual([
    expect.objectContaining({ digest: before.digest, unchanged: true, revision: Number(before.revision) }),
  ]);
  const plain = await wasmesh(['update', 'actor', 'cli-moving', tag, ...flags], env);
  expect(plain.code).toBe(0);
  expect(plain.stdout).toContain('unchanged');

  await push('echo', tag);
  const moved = await wasmesh(['update', 'actor', 'cli-moving', tag, '--json', ...flags], env);
  expect(moved.code).toBe(0);
  const movedOut = JSON.parse(moved.stdout) as typeof sameOut & { hosts: { previousDigest: string }[] };
  expect(movedOut.hosts).toEqual([
    expect.objectContaining({
      digest: digestOf(readFileSync(actorPath('echo'))),
      previousDigest: before.digest,
      unchanged: false,
    }),
  ]);
  expect(Buffer.from(await lat.client.invoke('cli-moving', 'Echo', Buffer.from('moved'))).toString()).toBe('moved');
  await lat.client.control.stopActor({ hostId, actorId: 'cli-moving', timeoutMs: 0 });
}, 60_000);

describe('a registry that stalls', () => {
  let stalling: http.Server;
  let stallRef: string;
  const blobRequests: string[] = [];

  beforeAll(async () => {
    // Stands for a misbehaving registry: it serves a valid Wasm artifact manifest, then accepts the
    // layer request and never answers it.
    const layer = readFileSync(actorPath('echo'));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST_MEDIA_TYPE,
        config: { mediaType: 'application/vnd.wasm.config.v0+json', digest: digestOf(Buffer.from('{}')), size: 2 },
        layers: [{ mediaType: 'application/wasm', digest: digestOf(layer), size: layer.length }],
      }),
    );
    stalling = http.createServer((req, res) => {
      if (req.url?.includes('/manifests/')) {
        res.writeHead(200, { 'content-type': OCI_MANIFEST_MEDIA_TYPE, 'content-length': manifest.length });
        res.end(manifest);
      } else {
        blobRequests.push(req.url ?? '');
      }
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    stallRef = `oci://127.0.0.1:${(stalling.address() as AddressInfo).port}/wasmesh/stalls:v1`;
  });
  afterAll(async () => {
    stalling.closeAllConnections();
    await new Promise((resolve) => stalling.close(resolve));
  });

  test('a pull past pullTimeoutMs fails with WASMESH_ERR_TIMEOUT naming the reference, per-request deadline or not', async () => {
    const started = Date.now();
    await expect(
      pullWasmArtifact(stallRef, { dockerConfig: null, timeoutMs: 30_000, pullTimeoutMs: 1000 }),
    ).rejects.toMatchObject({
      code: 'WASMESH_ERR_TIMEOUT',
      message: expect.stringContaining(`${stallRef}: the pull did not finish within 1000 ms`),
      details: expect.objectContaining({ ref: stallRef, timeoutMs: 1000 }),
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(blobRequests.length).toBeGreaterThan(0);
  });

  test('a host with --pull-timeout-ms (env) refuses to start the actor in time, typed', async () => {
    const host = await lat.addHost({
      env: {
        DOCKER_CONFIG: path.join(tmp, 'no-docker'),
        WASMESH_OCI_CACHE_DIR: path.join(tmp, 'cache-stall'),
        WASMESH_PULL_TIMEOUT_MS: '1500',
      },
    });
    const started = Date.now();
    await expect(
      lat.client.control.startActor({
        hostId: host.hostId,
        actorId: 'stalls',
        artifactRef: stallRef,
        maxConcurrent: 1,
      }),
    ).rejects.toMatchObject({
      code: 'WASMESH_ERR_TIMEOUT',
      message: expect.stringContaining(`${stallRef}: the pull did not finish within 1500 ms`),
    });
    expect(Date.now() - started).toBeLessThan(8000);
    // The host stays healthy: it still answers.
    expect((await lat.client.control.inventory(host.hostId)).actors).toEqual([]);
  }, 60_000);
});
