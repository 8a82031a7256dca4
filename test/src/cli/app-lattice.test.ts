/**
 * The `wasmesh app` commands against a real lattice (nats-server, a host process) with a
 * reconciler: deploy from a file waits until deployed; put is idempotent and refuses a changed
 * version; list, status, versions; a failing app exits 3 with the reason; no reconciler exits 5;
 * undeploy and delete, and delete refused while deployed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reconciler } from '@wasmesh/apps';
import { actorPath } from '../fixtures.js';
import { startLattice, type LatticeFixture } from '../lattice/fixture.js';
import { writeLocalKvcounter } from './manifests.js';
import { natsEnv, wasmesh } from './run-cli.js';

let lat: LatticeFixture;
let reconciler: Reconciler;
let env: Record<string, string>;
const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-apps-'));

/** The local kvcounter example as `dir/file` (see writeLocalKvcounter); `edit` changes the text. */
const manifest = (file: string, edit?: (text: string) => string): string => writeLocalKvcounter(dir, file, edit);

beforeAll(async () => {
  lat = await startLattice({ hosts: [{ labels: { zone: 'a' } }] });
  const { servers: natsUrl, ...auth } = await lat.nats.access(lat.lattice);
  reconciler = await Reconciler.start({ natsUrl, ...auth, lattice: lat.lattice, intervalMs: 300, leaseMs: 1000 });
  env = await natsEnv(lat.nats, lat.lattice);
}, 60_000);

afterAll(async () => {
  await reconciler?.close();
  await lat?.[Symbol.asyncDispose]();
});

test('deploy from a file waits until deployed; list, status and versions show it', async () => {
  const file = manifest('v1.yaml');
  const r = await wasmesh(['app', 'deploy', file, '--json'], env);
  expect(r.code).toBe(0);
  // Nothing on stderr but progress, which a wait over a second shows (README).
  expect(r.stderr).toMatch(/^(app kvcounter: (waiting|reconciling)\b.*\n)*$/);
  expect(JSON.parse(r.stdout)).toMatchObject({ name: 'kvcounter', version: 'v0.1.0', state: 'deployed' });
  const list = JSON.parse((await wasmesh(['get', 'apps', '--json'], env)).stdout);
  expect(list).toEqual([expect.objectContaining({ name: 'kvcounter', deployedVersion: 'v0.1.0', state: 'deployed' })]);
  const status = await wasmesh(['app', 'status', 'kvcounter'], env);
  expect(status.stdout).toMatch(/^app {8}kvcounter\ndeployed {3}v0\.1\.0\nstatus {5}deployed\n/);
  expect(status.stdout).toMatch(/providers {2}(http|kv)@/);

  const again = await wasmesh(['app', 'put', file], env);
  expect([again.code, again.stderr]).toEqual([0, 'unchanged: app kvcounter v0.1.0\n']);
  const changed = manifest('v1-changed.yaml', (t) => t.replace('instances: 16', 'instances: 8'));
  const clash = await wasmesh(['app', 'put', changed], env);
  expect(clash.code).toBe(2);
  expect(clash.stderr).toContain('already has a version "v0.1.0" with other content; change annotations.version');

  const v2 = manifest('v2.yaml', (t) =>
    t.replace('instances: 16', 'instances: 8').replace('version: v0.1.0', 'version: v0.2.0'),
  );
  expect((await wasmesh(['app', 'deploy', v2], env)).code).toBe(0);
  const versions = JSON.parse((await wasmesh(['app', 'versions', 'kvcounter', '--json'], env)).stdout);
  expect(versions.map((v: { version: string; deployed: boolean }) => [v.version, v.deployed])).toEqual([
    ['v0.1.0', false],
    ['v0.2.0', true],
  ]);
  const inv = await lat.client.control.inventory(lat.hosts[0]!.hostId);
  expect(inv.actors.find((a) => a.actorId === 'kvcounter')?.maxConcurrent).toBe(8);

  const refused = await wasmesh(['app', 'delete', 'kvcounter'], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('is deployed (version v0.2.0); undeploy it first: wasmesh app undeploy kvcounter');
  expect((await wasmesh(['app', 'undeploy', 'kvcounter'], env)).code).toBe(0);
  expect((await lat.client.control.inventory(lat.hosts[0]!.hostId)).actors).toEqual([]);
  expect((await wasmesh(['app', 'delete', 'kvcounter'], env)).code).toBe(0);
  expect(JSON.parse((await wasmesh(['app', 'list', '--json'], env)).stdout)).toEqual([]);
}, 90_000);

test('an app the hosts cannot satisfy exits 3 with the reason', async () => {
  const file = manifest('moon.yaml', (t) =>
    t
      .replace('name: kvcounter', 'name: mooncounter')
      .replace('id: kvcounter', 'id: mooncounter')
      .replace(
        'instances: 16',
        'instances: 2\n            spread:\n              - name: moon\n                requirements: { zone: moon }',
      ),
  );
  const r = await wasmesh(['app', 'deploy', file, '--timeout-ms', '20000'], env);
  expect(r.code).toBe(3);
  expect(r.stderr).toContain(
    'WASMESH_ERR_APP_FAILED: app "mooncounter" v0.1.0 failed: actor counter: spread "moon": no host has zone=moon',
  );
  expect((await wasmesh(['app', 'undeploy', 'mooncounter'], env)).code).toBe(0);
}, 60_000);

test('an actor image that is not a regular file (/dev/zero, a FIFO) is refused at once', async () => {
  const fifo = path.join(dir, 'fifo.wasm');
  execFileSync('mkfifo', [fifo]);
  for (const [image, kind] of [
    ['/dev/zero', 'a character device'],
    [fifo, 'a FIFO'],
  ] as const) {
    const file = manifest(`${path.basename(image)}.yaml`, (t) => t.replace(actorPath('kvcounter'), image));
    const started = Date.now();
    const r = await wasmesh(['app', 'put', file], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`WASMESH_ERR_BAD_REQUEST: refused the image of actor counter "${image}": it is ${kind}`);
    expect(Date.now() - started).toBeLessThan(10_000);
  }
});

test('without a reconciler, deploy says so (exit 5) and the app stays stored', async () => {
  const other = { ...env, WASMESH_LATTICE: `${lat.lattice}-alone` };
  const r = await wasmesh(['app', 'deploy', manifest('alone.yaml')], other);
  expect(r.code).toBe(5);
  expect(r.stderr).toContain('no reconciler runs in lattice');
  expect(JSON.parse((await wasmesh(['app', 'list', '--json'], other)).stdout)).toEqual([
    expect.objectContaining({ name: 'kvcounter', deployedVersion: 'v0.1.0' }),
  ]);
}, 30_000);
