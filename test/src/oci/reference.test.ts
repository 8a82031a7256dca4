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

test('docker config credentials: keys matched by host[:port] with or without a scheme; bad files are WASMESH_ERR_CONFIG', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-docker-config-'));
  try {
    expect(dockerConfigPath({ DOCKER_CONFIG: dir })).toBe(path.join(dir, 'config.json'));
    const file = path.join(dir, 'config.json');
    expect(await dockerCredentials('ghcr.io', file)).toBeUndefined(); // no file
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
    expect(await dockerCredentials('ghcr.io', file)).toEqual({ username: 'me', password: 'token:with:colons' });
    expect(await dockerCredentials('registry.lan:5000', file)).toEqual({ username: 'lan', password: 'secret' });
    expect(await dockerCredentials('registry.lan', file)).toBeUndefined();
    expect(await dockerCredentials('empty.example', file)).toBeUndefined();
    writeFileSync(
      file,
      JSON.stringify({ auths: { 'bad.example': { auth: Buffer.from('nocolon').toString('base64') } } }),
    );
    await expect(dockerCredentials('bad.example', file)).rejects.toMatchObject({ code: 'WASMESH_ERR_CONFIG' });
    writeFileSync(file, '{not json');
    await expect(dockerCredentials('ghcr.io', file)).rejects.toMatchObject({ code: 'WASMESH_ERR_CONFIG' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docker credential helpers: credHelpers per registry, then credsStore, then auths; failures never show the output', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-docker-helpers-'));
  try {
    // A helper speaking the docker-credential-helpers protocol: `get`, the server on stdin.
    const helper = path.join(dir, 'docker-credential-wmtest');
    writeFileSync(
      helper,
      [
        '#!/bin/sh',
        'read server',
        'case "$server" in',
        '  helped.example) echo \'{"ServerURL":"helped.example","Username":"robot","Secret":"s3cret"}\' ;;',
        '  broken.example) echo "leaked-secret-output"; exit 3 ;;',
        '  garbled.example) echo "not json" ;;',
        '  *) echo "credentials not found in native keychain"; exit 1 ;;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
    const file = path.join(dir, 'config.json');
    const auth = Buffer.from('file:password').toString('base64');
    writeFileSync(
      file,
      JSON.stringify({
        credHelpers: { 'helped.example': 'wmtest', 'broken.example': 'wmtest', 'garbled.example': 'wmtest' },
        credsStore: 'wmtest',
        auths: { 'stored.example': { auth }, 'helped.example': { auth } },
      }),
    );
    expect(await dockerCredentials('helped.example', file, env)).toEqual({ username: 'robot', password: 's3cret' });
    // The store has none for it: the auths entry.
    expect(await dockerCredentials('stored.example', file, env)).toEqual({ username: 'file', password: 'password' });
    expect(await dockerCredentials('nowhere.example', file, env)).toBeUndefined();
    for (const [registry, why] of [
      ['broken.example', /docker-credential-wmtest \(named in .*\) failed \(exit status 3\)/],
      ['garbled.example', /answered with something that is not JSON/],
    ] as const) {
      const err = await dockerCredentials(registry, file, env).catch((e: Error) => e);
      expect(err).toMatchObject({ code: 'WASMESH_ERR_CONFIG', message: expect.stringMatching(why) });
      expect((err as Error).message).not.toContain('leaked-secret-output');
    }
    writeFileSync(file, JSON.stringify({ credsStore: 'wmmissing' }));
    await expect(dockerCredentials('any.example', file, env)).rejects.toMatchObject({
      code: 'WASMESH_ERR_CONFIG',
      message: expect.stringContaining('docker-credential-wmmissing'),
    });
    writeFileSync(file, JSON.stringify({ credsStore: '../../bin/sh' }));
    await expect(dockerCredentials('any.example', file, env)).rejects.toMatchObject({
      message: expect.stringContaining('not a program name'),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
