/**
 * Hosts read module and provider files only inside their `--allow-dir` directories, only regular
 * files, and only up to the size cap — end to end through a real lattice: path escapes with `..`
 * and symbolic links, non-regular files (/dev/zero, a directory, a FIFO), oversized files, files
 * outside the allowed directories and provider executables outside them are all refused quickly
 * with a typed error that quotes no file content and does not tell whether an outside path exists;
 * the host keeps serving. A host without allowed directories reads no file at all.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WasmeshError } from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import type { HostProcess } from '../harness/host-process.js';
import { startLattice, type LatticeFixture } from '../lattice/fixture.js';

/** Every refusal must come at once: no read of an endless file, no wait on a FIFO. */
const QUICK_MS = 2000;
/** The cap of the jailed host in these tests. */
const CAP = 1024 * 1024;

const root = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-jail-'));
const jail = path.join(root, 'jail');
const outside = path.join(root, 'outside');
/** A file a provider started from outside the jail would write. */
const marker = path.join(root, 'provider-ran');

let lat: LatticeFixture;
let jailed: HostProcess;
let closed: HostProcess;

beforeAll(async () => {
  mkdirSync(path.join(jail, 'sub'), { recursive: true });
  mkdirSync(outside);
  copyFileSync(actorPath('echo'), path.join(jail, 'echo.wasm'));
  copyFileSync(actorPath('hello'), path.join(jail, 'hello.wasm'));
  copyFileSync(actorPath('echo'), path.join(outside, 'secret.wasm'));
  writeFileSync(
    path.join(outside, 'provider.mjs'),
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, JSON.stringify(process.env));\n`,
  );
  symlinkSync(path.join(outside, 'secret.wasm'), path.join(jail, 'link-out.wasm'));
  symlinkSync(outside, path.join(jail, 'link-dir'));
  symlinkSync(path.join(outside, 'nope.wasm'), path.join(jail, 'dangling.wasm'));
  symlinkSync(path.join(outside, 'provider.mjs'), path.join(jail, 'provider-link.mjs'));
  symlinkSync('/etc/passwd', path.join(jail, 'passwd.wasm'));
  symlinkSync('/dev/zero', path.join(jail, 'zero.wasm'));
  execFileSync('mkfifo', [path.join(jail, 'fifo.wasm')]);
  // Sparse: larger than the cap without using the disk.
  execFileSync('truncate', ['-s', String(CAP + 1), path.join(jail, 'big.wasm')]);
  lat = await startLattice({
    hosts: [
      { allowDirs: [jail, '/dev'], args: ['--max-module-bytes', String(CAP)], labels: { jail: 'yes' } },
      { allowDirs: [], labels: { jail: 'none' } },
    ],
  });
  [jailed, closed] = lat.hosts as [HostProcess, HostProcess];
}, 60_000);

afterAll(async () => {
  await lat?.[Symbol.asyncDispose]();
  rmSync(root, { recursive: true, force: true });
});

/** Starts actor `actorId` from `ref` on `host`; resolves with the error and how long it took. */
async function startFails(host: HostProcess, actorId: string, ref: string): Promise<{ err: WasmeshError; ms: number }> {
  const started = Date.now();
  try {
    await lat.client.control.startActor({ hostId: host.hostId, actorId, artifactRef: ref });
  } catch (err) {
    return { err: err as WasmeshError, ms: Date.now() - started };
  }
  throw new Error(`starting ${actorId} from ${ref} should have failed`);
}

/** A refusal: its code, quick, and the host alive. */
async function refused(host: HostProcess, ref: string, code: string, reason: string): Promise<WasmeshError> {
  const { err, ms } = await startFails(host, 'jailbreak', ref);
  expect({ code: err.code, reason: err.details.reason }).toEqual({ code, reason });
  expect(ms).toBeLessThan(QUICK_MS);
  expect(err.message).toContain(path.resolve(ref.startsWith('file://') ? new URL(ref).pathname : ref));
  await stillServes(host);
  return err;
}

/** The host process runs and answers control requests and invocations. */
async function stillServes(host: HostProcess): Promise<void> {
  expect(host.pid && process.kill(host.pid, 0)).toBe(true);
  expect((await lat.client.control.inventory(host.hostId)).host?.hostId).toBe(host.hostId);
}

test('a module inside an allowed directory starts, by path and by file:// URL', async () => {
  await lat.client.control.startActor({
    hostId: jailed.hostId,
    actorId: 'echo',
    artifactRef: path.join(jail, 'echo.wasm'),
  });
  await lat.client.control.startActor({
    hostId: jailed.hostId,
    actorId: 'hello',
    artifactRef: pathToFileURL(path.join(jail, 'sub', '..', 'hello.wasm')).href,
  });
  expect(Buffer.from(await lat.client.invoke('echo', 'Echo', Buffer.from('inside'))).toString()).toBe('inside');
});

test('.. out of an allowed directory is refused, whether or not the target exists', async () => {
  const exists = await refused(
    jailed,
    `${jail}/../outside/secret.wasm`,
    'WASMESH_ERR_PERMISSION_DENIED',
    'outside-allowed-dirs',
  );
  const missing = await refused(
    jailed,
    `${jail}/sub/../../outside/nope.wasm`,
    'WASMESH_ERR_PERMISSION_DENIED',
    'outside-allowed-dirs',
  );
  // The two refusals differ only in the path they name: nothing says which one exists.
  expect(exists.message.replace('secret', 'X')).toBe(missing.message.replace('nope', 'X'));
  expect(exists.message).toMatch(/is not inside a directory this host allows \(--allow-dir\)$/);
});

test('symbolic links out of an allowed directory are refused, dangling ones too', async () => {
  for (const name of ['link-out.wasm', 'link-dir/secret.wasm', 'link-dir/nope.wasm', 'dangling.wasm']) {
    await refused(jailed, path.join(jail, name), 'WASMESH_ERR_PERMISSION_DENIED', 'outside-allowed-dirs');
  }
  const passwd = await refused(
    jailed,
    path.join(jail, 'passwd.wasm'),
    'WASMESH_ERR_PERMISSION_DENIED',
    'outside-allowed-dirs',
  );
  expect(passwd.message).not.toMatch(/root:/);
});

test('files outside the allowed directories are refused without a word of their content', async () => {
  for (const file of ['/etc/passwd', '/proc/self/environ', path.join(outside, 'secret.wasm'), '/no/such/file.wasm']) {
    const err = await refused(jailed, file, 'WASMESH_ERR_PERMISSION_DENIED', 'outside-allowed-dirs');
    expect(err.message).not.toMatch(/root:|PATH=|\0asm/);
  }
  await refused(jailed, pathToFileURL('/etc/passwd').href, 'WASMESH_ERR_PERMISSION_DENIED', 'outside-allowed-dirs');
});

test('non-regular files are refused at once: /dev/zero, a link to it, a directory, a FIFO', async () => {
  const zero = await refused(jailed, '/dev/zero', 'WASMESH_ERR_BAD_REQUEST', 'not-a-regular-file');
  expect(zero.message).toContain('it is a character device, not a regular file');
  await refused(jailed, path.join(jail, 'zero.wasm'), 'WASMESH_ERR_BAD_REQUEST', 'not-a-regular-file');
  const dir = await refused(jailed, path.join(jail, 'sub'), 'WASMESH_ERR_BAD_REQUEST', 'not-a-regular-file');
  expect(dir.message).toContain('it is a directory');
  const fifo = await refused(jailed, path.join(jail, 'fifo.wasm'), 'WASMESH_ERR_BAD_REQUEST', 'not-a-regular-file');
  expect(fifo.message).toContain('it is a FIFO');
});

test('a file over the size cap is refused, and a missing one inside is NOT_FOUND', async () => {
  const big = await refused(jailed, path.join(jail, 'big.wasm'), 'WASMESH_ERR_TOO_LARGE', 'file-too-large');
  expect(big.message).toContain(`limit of ${CAP} bytes`);
  await refused(jailed, path.join(jail, 'nope.wasm'), 'WASMESH_ERR_NOT_FOUND', 'no-such-file');
});

test('an update to a file outside is refused and the old module keeps serving', async () => {
  const started = Date.now();
  await expect(
    lat.client.control.updateActor({ hostId: jailed.hostId, actorId: 'echo', artifactRef: '/etc/passwd' }),
  ).rejects.toMatchObject({ code: 'WASMESH_ERR_PERMISSION_DENIED' });
  expect(Date.now() - started).toBeLessThan(QUICK_MS);
  expect(Buffer.from(await lat.client.invoke('echo', 'Echo', Buffer.from('still'))).toString()).toBe('still');
});

test('provider executables outside the allowed directories are never started', async () => {
  for (const ref of [
    path.join(outside, 'provider.mjs'),
    `${jail}/../outside/provider.mjs`,
    path.join(jail, 'provider-link.mjs'),
    path.join(jail, 'link-dir', 'provider.mjs'),
    pathToFileURL(path.join(outside, 'provider.mjs')).href,
  ]) {
    const started = Date.now();
    await expect(
      lat.client.control.startProvider({ hostId: jailed.hostId, providerId: 'intruder', artifactRef: ref }),
    ).rejects.toMatchObject({
      code: 'WASMESH_ERR_PERMISSION_DENIED',
      details: expect.objectContaining({ reason: 'outside-allowed-dirs' }),
    });
    expect(Date.now() - started).toBeLessThan(QUICK_MS);
  }
  await expect(
    lat.client.control.startProvider({ hostId: jailed.hostId, providerId: 'intruder', artifactRef: '/dev/zero' }),
  ).rejects.toMatchObject({ code: 'WASMESH_ERR_BAD_REQUEST' });
  // Give a started process time to have written its file: none was started.
  await new Promise((r) => setTimeout(r, 300));
  expect(existsSync(marker)).toBe(false);
  await stillServes(jailed);
});

test('a host without allowed directories reads no file, and runs pushed modules', async () => {
  for (const ref of [path.join(jail, 'echo.wasm'), '/dev/zero', 'relative/echo.wasm']) {
    const err = await refused(closed, ref, 'WASMESH_ERR_PERMISSION_DENIED', 'no-allowed-dirs');
    expect(err.message).toMatch(
      /started without --allow-dir\); push modules with `wasmesh push` and use their sha256: reference/,
    );
  }
  await expect(
    lat.client.control.startProvider({
      hostId: closed.hostId,
      providerId: 'intruder',
      artifactRef: path.join(outside, 'provider.mjs'),
    }),
  ).rejects.toMatchObject({ code: 'WASMESH_ERR_PERMISSION_DENIED' });
  const ref = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('echo')));
  await lat.client.control.startActor({ hostId: closed.hostId, actorId: 'pushed', artifactRef: ref });
  expect(Buffer.from(await lat.client.invoke('pushed', 'Echo', Buffer.from('by digest'))).toString()).toBe('by digest');
  expect(existsSync(marker)).toBe(false);
});
