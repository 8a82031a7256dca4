/**
 * The OCI client against a real CNCF distribution registry: push then pull by tag and by digest,
 * a moved tag, digest and size checks (a blob corrupted in the registry's storage, a layer over the
 * cap), a manifest that is not a Wasm artifact, 404 and 401 errors, docker config credentials, and
 * the on-disk cache.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  digestOf,
  OCI_MANIFEST_MEDIA_TYPE,
  OciCache,
  parseOciRef,
  pullWasmArtifact,
  pushWasmArtifact,
  RegistryClient,
  WASM_CONFIG_MEDIA_TYPE,
  type WasmeshError,
} from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import { RegistryServer } from '../harness/registry.js';

const echo = readFileSync(actorPath('echo'));
const hello = readFileSync(actorPath('hello'));
/** No docker config file of the user's is read by these tests. */
const NO_DOCKER = { dockerConfig: null } as const;

let open: RegistryServer;
let secured: RegistryServer;
let tmp: string;

beforeAll(async () => {
  [open, secured] = await Promise.all([RegistryServer.start(), RegistryServer.start({ auth: 'htpasswd' })]);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-oci-test-'));
}, 30_000);
afterAll(async () => {
  await Promise.all([open?.stop(), secured?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<WasmeshError> {
  try {
    await promise;
  } catch (err) {
    return err as WasmeshError;
  }
  throw new Error('expected a failure');
}

test('push then pull by tag and by digest gives the same bytes; the pinned reference names the manifest', async () => {
  const ref = `oci://${open.host}/wasmesh/echo:v1`;
  const pushed = await pushWasmArtifact(echo, ref, NO_DOCKER);
  expect(pushed.pinned).toBe(`oci://${open.host}/wasmesh/echo@${pushed.manifestDigest}`);
  expect(pushed.layerDigest).toBe(digestOf(echo));

  const byTag = await pullWasmArtifact(ref, NO_DOCKER);
  expect(Buffer.from(byTag.bytes).equals(echo)).toBe(true);
  expect(byTag.manifestDigest).toBe(pushed.manifestDigest);
  const byDigest = await pullWasmArtifact(pushed.pinned, NO_DOCKER);
  expect(Buffer.from(byDigest.bytes).equals(echo)).toBe(true);

  // The artifact has the standard media types other tools (wkg, wash, oras) read.
  const manifest = JSON.parse(
    Buffer.from(
      (await RegistryClient.for(parseOciRef(ref), NO_DOCKER).pullManifest('v1', [OCI_MANIFEST_MEDIA_TYPE], 1 << 20))
        .bytes,
    ).toString(),
  );
  expect(manifest.mediaType).toBe(OCI_MANIFEST_MEDIA_TYPE);
  expect(manifest.config.mediaType).toBe(WASM_CONFIG_MEDIA_TYPE);
  expect(manifest.layers).toEqual([{ mediaType: 'application/wasm', digest: digestOf(echo), size: echo.length }]);

  // Pushing the same module again gives the same digest.
  expect((await pushWasmArtifact(echo, ref, NO_DOCKER)).manifestDigest).toBe(pushed.manifestDigest);
});

test('a moved tag is resolved again; a digest reference keeps its module', async () => {
  const ref = `oci://${open.host}/wasmesh/moving:latest`;
  const first = await pushWasmArtifact(echo, ref, NO_DOCKER);
  await pushWasmArtifact(hello, ref, NO_DOCKER);
  const cache = new OciCache(path.join(tmp, 'moving-cache'));
  expect(Buffer.from((await pullWasmArtifact(ref, NO_DOCKER, cache)).bytes).equals(hello)).toBe(true);
  expect(Buffer.from((await pullWasmArtifact(first.pinned, NO_DOCKER, cache)).bytes).equals(echo)).toBe(true);
});

test('the cache serves a digest reference without the registry, and re-pulls a damaged entry', async () => {
  const server = await RegistryServer.start();
  const cache = new OciCache(path.join(tmp, 'cache'));
  let pinned: string;
  try {
    pinned = (await pushWasmArtifact(hello, `oci://${server.host}/cached/hello:v1`, NO_DOCKER)).pinned;
    expect((await pullWasmArtifact(pinned, NO_DOCKER, cache)).source).toBe('registry');
    expect((await pullWasmArtifact(pinned, NO_DOCKER, cache)).source).toBe('cache');
    // A damaged cache entry is dropped and pulled again.
    writeFileSync(path.join(cache.dir, 'blobs', 'sha256', digestOf(hello).slice('sha256:'.length)), 'garbage');
    expect((await pullWasmArtifact(pinned, NO_DOCKER, cache)).source).toBe('registry');
  } finally {
    await server.stop();
  }
  // The registry is gone: the cached module still loads by digest.
  const offline = await pullWasmArtifact(pinned, { ...NO_DOCKER, timeoutMs: 1000 }, cache);
  expect(offline.source).toBe('cache');
  expect(Buffer.from(offline.bytes).equals(hello)).toBe(true);
});

test('a blob corrupted in the registry is refused with WASMESH_ERR_DIGEST_MISMATCH', async () => {
  const ref = `oci://${open.host}/wasmesh/corrupt:v1`;
  const module = Buffer.concat([echo, Buffer.from([0])]); // a layer of its own, not shared with other tests
  const pushed = await pushWasmArtifact(module, ref, NO_DOCKER);
  const blob = open.blobPath(pushed.layerDigest);
  const damaged = Buffer.from(readFileSync(blob));
  damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1);
  writeFileSync(blob, damaged);
  const err = await failure(pullWasmArtifact(ref, NO_DOCKER));
  expect(err.code).toBe('WASMESH_ERR_DIGEST_MISMATCH');
  expect(err.message).toContain(ref);
  expect(err.details.ref).toBe(ref);
});

test('a missing tag is WASMESH_ERR_NOT_FOUND naming the reference', async () => {
  const ref = `oci://${open.host}/wasmesh/echo:no-such-tag`;
  const err = await failure(pullWasmArtifact(ref, NO_DOCKER));
  expect(err.code).toBe('WASMESH_ERR_NOT_FOUND');
  expect(err.message).toContain(ref);
});

test('a manifest whose layer is not application/wasm is refused with WASMESH_ERR_BAD_REQUEST', async () => {
  const ref = parseOciRef(`oci://${open.host}/wasmesh/image:v1`);
  const client = RegistryClient.for(ref, NO_DOCKER);
  const layer = Buffer.from('not a wasm layer');
  const config = Buffer.from('{}');
  await client.pushBlob(layer, digestOf(layer));
  await client.pushBlob(config, digestOf(config));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: layer.length },
      ],
    }),
  );
  await client.pushManifest(manifest, OCI_MANIFEST_MEDIA_TYPE, 'v1');
  const err = await failure(pullWasmArtifact(ref.ref, NO_DOCKER));
  expect(err.code).toBe('WASMESH_ERR_BAD_REQUEST');
  expect(err.message).toContain('application/vnd.oci.image.layer.v1.tar+gzip');
});

test('a layer over the module cap is refused with WASMESH_ERR_TOO_LARGE before it is downloaded', async () => {
  const ref = `oci://${open.host}/wasmesh/big:v1`;
  await pushWasmArtifact(echo, ref, NO_DOCKER);
  const err = await failure(pullWasmArtifact(ref, { ...NO_DOCKER, maxModuleBytes: echo.length - 1 }));
  expect(err.code).toBe('WASMESH_ERR_TOO_LARGE');
  expect(err.details).toMatchObject({ limit: echo.length - 1, size: echo.length });
});

test('an htpasswd registry: 401 without credentials, success with them and with a docker config file', async () => {
  const ref = `oci://${secured.host}/private/echo:v1`;
  const denied = await failure(pushWasmArtifact(echo, ref, NO_DOCKER));
  expect(denied.code).toBe('WASMESH_ERR_PERMISSION_DENIED');
  expect(denied.message).toContain(ref);
  const { username, password } = secured.credentials!;
  const wrong = await failure(pushWasmArtifact(echo, ref, { credentials: { username, password: 'wrong' } }));
  expect(wrong.code).toBe('WASMESH_ERR_PERMISSION_DENIED');

  const pushed = await pushWasmArtifact(echo, ref, { credentials: { username, password } });
  expect((await failure(pullWasmArtifact(ref, NO_DOCKER))).code).toBe('WASMESH_ERR_PERMISSION_DENIED');

  const dockerConfig = path.join(tmp, 'docker-config.json');
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  writeFileSync(dockerConfig, JSON.stringify({ auths: { [`http://${secured.host}`]: { auth } } }));
  const pulled = await pullWasmArtifact(pushed.pinned, { dockerConfig });
  expect(Buffer.from(pulled.bytes).equals(echo)).toBe(true);
});

test('an unreachable registry is WASMESH_ERR_UNAVAILABLE; malformed references are WASMESH_ERR_BAD_REQUEST', async () => {
  const server = await RegistryServer.start();
  const host = server.host;
  await server.stop();
  expect((await failure(pullWasmArtifact(`oci://${host}/gone/echo:v1`, NO_DOCKER))).code).toBe(
    'WASMESH_ERR_UNAVAILABLE',
  );
  for (const bad of [
    'oci://',
    'oci://reg',
    'oci://reg/UPPER:v1',
    'oci://reg/a:b:c',
    'oci://reg/a@sha256:12',
    'oci://re g/a',
  ]) {
    expect((await failure(pullWasmArtifact(bad, NO_DOCKER))).code).toBe('WASMESH_ERR_BAD_REQUEST');
  }
});

test('a registry with token auth: the Bearer challenge is answered with a token from its realm', async () => {
  const server = await RegistryServer.start({ auth: 'token' });
  try {
    const ref = `oci://${server.host}/team/echo:v1`;
    const denied = await failure(pushWasmArtifact(echo, ref, NO_DOCKER));
    expect(denied.code).toBe('WASMESH_ERR_PERMISSION_DENIED');
    expect(denied.message).toContain(ref);
    const credentials = server.credentials!;
    const pushed = await pushWasmArtifact(echo, ref, { credentials });
    const pulled = await pullWasmArtifact(pushed.pinned, { credentials });
    expect(Buffer.from(pulled.bytes).equals(echo)).toBe(true);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nregistry output:\n${server.logs().slice(-3000)}`);
  } finally {
    await server.stop();
  }
});
