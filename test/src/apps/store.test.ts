/**
 * The app store against a real nats-server (TLS + credentials, no hosts): `put` refuses what the
 * lattice cannot store as an invalid manifest, never a raw NATS error, and drops old versions so
 * the app's record stays one NATS message under the default 1 MiB `max_payload`.
 */
import {
  AppStore,
  MAX_RECORD_BYTES,
  MAX_STORED_MANIFEST_BYTES,
  storedManifestBytes,
  validateManifest,
  type AppManifest,
} from '@wasmesh/apps';
import { isWasmeshError } from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import { startLattice, type LatticeFixture } from '../lattice/fixture.js';

let lat: LatticeFixture;
let store: AppStore;

beforeAll(async () => {
  lat = await startLattice();
  store = await AppStore.open(lat.client.nc, lat.client.subjects);
}, 60_000);

afterAll(async () => {
  await lat?.[Symbol.asyncDispose]();
});

/** A valid app `name` at `version` whose provider config holds `bytes` of text. */
function app(name: string, version: string, bytes: number): AppManifest {
  return validateManifest({
    apiVersion: 'core.oam.dev/v1beta1',
    kind: 'Application',
    metadata: { name, annotations: { version } },
    spec: {
      components: [
        { name: 'kv', type: 'capability', properties: { image: 'builtin:keyvalue', config: { v: 'x'.repeat(bytes) } } },
      ],
    },
  });
}

test('put refuses a manifest over the stored limit as WASMESH_ERR_INVALID_MANIFEST, not max_payload', async () => {
  const ok = app('huge', 'v1', 1000);
  const big = { ...ok, description: 'd'.repeat(MAX_STORED_MANIFEST_BYTES) };
  const err = await store.put(big).catch((e: unknown) => e);
  expect(isWasmeshError(err, 'WASMESH_ERR_INVALID_MANIFEST')).toBe(true);
  expect((err as Error).message).toMatch(
    /^invalid app manifest app "huge" v1: 1 problem\n {2}- the normalized manifest is \d+ bytes; the lattice stores at most 262144/,
  );
  await expect(store.apps.get('huge')).resolves.toBeUndefined();
});

test('versions near the limit: old ones are dropped so the record fits one NATS message', async () => {
  const size = MAX_STORED_MANIFEST_BYTES - 2048;
  expect(storedManifestBytes(app('fat', 'v0', size))).toBeLessThanOrEqual(MAX_STORED_MANIFEST_BYTES);
  for (let i = 1; i <= 3; i++) {
    await expect(store.put(app('fat', `v${i}`, size))).resolves.toEqual({ version: `v${i}`, created: true });
  }
  await store.deploy('fat', 'v1');
  for (let i = 4; i <= 7; i++) await store.put(app('fat', `v${i}`, size));
  const record = (await store.apps.get('fat'))!;
  expect(lattice.AppRecord.encode(record).finish().length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
  // The deployed version is kept, and the newest ones.
  expect(record.versions!.map((v) => v.version)).toEqual(['v1', 'v6', 'v7']);
  expect((await store.manifest('fat', 'v1')).version).toBe('v1');
}, 60_000);
