/**
 * `oci://` references and the rules around them that need no registry: parsing (defaults, ports,
 * IPv6, digests, refusals), which registries get plain HTTP, and docker config credentials.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dockerConfigPath,
  dockerCredentials,
  isLoopbackRegistry,
  parseArtifactRef,
  parseOciRef,
  pullWasmArtifact,
  type WasmeshError,
} from '@wasmesh/lattice';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

test('references: tag, digest, both, the latest default, ports and IPv6', () => {
  expect(parseOciRef('oci://ghcr.io/wasmesh/echo:v1')).toMatchObject({
    registry: 'ghcr.io',
    repository: 'wasmesh/echo',
    tag: 'v1',
  });
  expect(parseOciRef(`oci://localhost:5000/echo@${DIGEST}`)).toMatchObject({
    registry: 'localhost:5000',
    repository: 'echo',
    digest: DIGEST,
  });
  expect(parseOciRef(`oci://reg.example/a/b/c:v2@${DIGEST}`)).toMatchObject({ tag: 'v2', digest: DIGEST });
  expect(parseOciRef('oci://reg.example/echo')).toMatchObject({ tag: 'latest' });
  expect(parseOciRef('oci://[::1]:5000/echo:v1')).toMatchObject({ registry: '[::1]:5000', repository: 'echo' });
  expect(parseArtifactRef('oci://ghcr.io/wasmesh/echo:v1')).toMatchObject({ kind: 'oci' });
});

test('malformed references are WASMESH_ERR_BAD_REQUEST naming the part at fault', () => {
  const cases: [string, string][] = [
    ['oci://ghcr.io', 'expected a registry and a repository'],
    ['oci:///echo:v1', 'expected a registry and a repository'],
    ['oci://ghcr.io/Echo:v1', 'is not a repository'],
    ['oci://ghcr.io/echo:-v1', 'is not a tag'],
    ['oci://ghcr.io/echo@sha256:abc', 'is not a digest'],
    ['oci://ghcr.io:99999/echo:v1', 'out of range'],
    ['oci://gh cr.io/echo:v1', 'is not a registry'],
    [`oci://ghcr.io/${'a'.repeat(256)}:v1`, 'is not a repository'],
  ];
  for (const [ref, message] of cases) {
    let err: WasmeshError | undefined;
    try {
      parseOciRef(ref);
    } catch (e) {
      err = e as WasmeshError;
    }
    expect({ ref, code: err?.code, message: err?.message.includes(message) }).toEqual({
      ref,
      code: 'WASMESH_ERR_BAD_REQUEST',
      message: true,
    });
  }
});

test('plain HTTP only for loopback registries unless insecure; HTTPS elsewhere', async () => {
  for (const r of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', '[::1]']) {
    expect(isLoopbackRegistry(r)).toBe(true);
  }
  for (const r of ['ghcr.io', '10.0.0.1:5000', 'localhost.example.com', '[::2]:5000']) {
    expect(isLoopbackRegistry(r)).toBe(false);
  }
  // The name does not resolve (.invalid), so the error shows the URL each rule chose.
  const ref = 'oci://wasmesh-test.invalid:5000/echo:v1';
  const failure = async (insecure: boolean): Promise<WasmeshError> =>
    pullWasmArtifact(ref, { dockerConfig: null, insecure, timeoutMs: 5000 }).then(
      () => {
        throw new Error('expected a failure');
      },
      (err: WasmeshError) => err,
    );
  const secure = await failure(false);
  expect(secure.code).toBe('WASMESH_ERR_UNAVAILABLE');
  expect(secure.message).toContain('https://wasmesh-test.invalid:5000');
  expect((await failure(true)).message).toContain('http://wasmesh-test.invalid:5000');
});

test('docker config credentials: keys matched by host[:port] with or without a scheme; bad files are WASMESH_ERR_CONFIG', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-docker-config-'));
  try {
    expect(dockerConfigPath({ DOCKER_CONFIG: dir })).toBe(path.join(dir, 'config.json'));
    const file = path.join(dir, 'config.json');
    expect(dockerCredentials('ghcr.io', file)).toBeUndefined(); // no file
    const auth = (s: string): { auth: string } => ({ auth: Buffer.from(s).toString('base64') });
    writeFileSync(
      file,
      JSON.stringify({
        auths: {
          'https://ghcr.io/v1/': auth('me:token:with:colons'),
          'registry.lan:5000': auth('lan:secret'),
          'empty.example': {},
        },
      }),
    );
    expect(dockerCredentials('ghcr.io', file)).toEqual({ username: 'me', password: 'token:with:colons' });
    expect(dockerCredentials('registry.lan:5000', file)).toEqual({ username: 'lan', password: 'secret' });
    expect(dockerCredentials('registry.lan', file)).toBeUndefined();
    expect(dockerCredentials('empty.example', file)).toBeUndefined();
    writeFileSync(
      file,
      JSON.stringify({ auths: { 'bad.example': { auth: Buffer.from('nocolon').toString('base64') } } }),
    );
    expect(() => dockerCredentials('bad.example', file)).toThrow(
      expect.objectContaining({ code: 'WASMESH_ERR_CONFIG' }),
    );
    writeFileSync(file, '{not json');
    expect(() => dockerCredentials('ghcr.io', file)).toThrow(expect.objectContaining({ code: 'WASMESH_ERR_CONFIG' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
