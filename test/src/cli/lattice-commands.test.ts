/**
 * The lattice commands of `wasmesh` (get, push, start/scale/stop/update actor, call) as a user
 * drives them: a real NATS server, two real hosts (zone=a, zone=b), and the real `wasmesh` binary.
 * Tests run in order and share the lattice; each one leaves it as it found it unless said otherwise.
 */
import path from 'node:path';
import { ExitCode } from '@wasmesh/lattice';
import { actorPath, fixturePath } from '../fixtures.js';
import { HostProcess } from '../harness/host-process.js';
import { NatsServer } from '../harness/nats-server.js';
import { natsFlags, wasmesh, type CliResult } from './run-cli.js';

/** The CLI's statuses beyond lattice's ExitCode (to move there: UNAVAILABLE 5, NOT_FOUND 6). */
const EXIT = { ...ExitCode, UNAVAILABLE: 5, NOT_FOUND: 6 } as const;

const LATTICE = `cli_${process.pid}`;
let nats: NatsServer;
let hostA: HostProcess;
let hostB: HostProcess;
let echoRef: string;
let helloRef: string;
/** `--nats`, `--creds` and `--tls-ca` of the lattice's admin. */
let flags: string[];

/** `wasmesh <args> --nats <url> --creds <admin> --tls-ca <ca> --lattice <this file's lattice>`. */
function cli(...args: string[]): Promise<CliResult> {
  return wasmesh([...args, ...flags, '--lattice', LATTICE]);
}

/** Runs a command with --json and parses its stdout. */
async function cliJson<T = Record<string, unknown>>(...args: string[]): Promise<{ r: CliResult; out: T }> {
  const r = await cli(...args, '--json');
  let out: T;
  try {
    out = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { r, out };
}

/** Fails with the command's output when it did not exit 0. */
function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

interface Inventory {
  host: { hostId: string };
  actors: { actorId: string; digest: string; artifactRef: string; maxConcurrent: number }[];
}

/** Host ids running `actorId`, sorted. */
async function hostsRunning(actorId: string): Promise<string[]> {
  const { r, out } = await cliJson<Inventory[]>('get', 'inventory');
  ok(r);
  return out
    .filter((inv) => inv.actors.some((a) => a.actorId === actorId))
    .map((inv) => inv.host.hostId)
    .sort();
}

beforeAll(async () => {
  nats = await NatsServer.start();
  flags = await natsFlags(nats, LATTICE);
  [hostA, hostB] = (await Promise.all(
    ['a', 'b'].map(async (zone) =>
      HostProcess.start({
        ...(await nats.processAccess(LATTICE)),
        lattice: LATTICE,
        labels: { zone },
        heartbeatMs: 500,
      }),
    ),
  )) as [HostProcess, HostProcess];
}, 30_000);

afterAll(async () => {
  await hostA?.[Symbol.asyncDispose]();
  await hostB?.[Symbol.asyncDispose]();
  await nats?.[Symbol.asyncDispose]();
});

test('get hosts lists both hosts as a table and as JSON', async () => {
  const text = ok(await cli('get', 'hosts'));
  expect(text.stdout.split('\n')[0]).toMatch(/^HOST ID +NAME +LABELS +UPTIME +VERSION$/);
  expect(text.stdout).toContain(hostA.hostId);
  expect(text.stdout).toContain(hostB.hostId);
  expect(text.stdout).toMatch(/zone=a/);

  const { r, out } = await cliJson<Record<string, unknown>[]>('get', 'hosts');
  ok(r);
  expect(out).toHaveLength(2);
  const a = out.find((h) => h.hostId === hostA.hostId);
  expect(a).toMatchObject({
    friendlyName: hostA.friendlyName,
    labels: expect.objectContaining({ zone: 'a' }),
    lattice: LATTICE,
    version: expect.any(String),
    uptimeMs: expect.any(Number),
    startedAtMs: expect.any(Number),
  });
  expect(out.find((h) => h.hostId === hostB.hostId)).toMatchObject({ labels: expect.objectContaining({ zone: 'b' }) });
});

test('push prints the sha256 reference; --json gives {ref, size}', async () => {
  const r = ok(await cli('push', actorPath('echo')));
  expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  echoRef = r.stdout.trim();
  const { out } = await cliJson('push', actorPath('echo'));
  expect(out).toMatchObject({ ok: true, ref: echoRef, size: expect.any(Number) });
});

test('push refuses a file that is not wasm (exit 3, INVALID_MODULE) and an unreadable file (exit 2)', async () => {
  const notWasm = await cli('push', path.join(path.dirname(actorPath('echo')), '..', 'package.json'));
  expect(notWasm.code).toBe(EXIT.ACTOR);
  expect(notWasm.stderr).toMatch(/^wasmesh: WASMESH_ERR_INVALID_MODULE: ".*package\.json" is not a WebAssembly module/);
  expect(notWasm.stdout).toBe('');
  const missing = await cli('push', '/no/such/actor.wasm');
  expect(missing.code).toBe(EXIT.USAGE);
  expect(missing.stderr).toMatch(/WASMESH_ERR_USAGE: cannot read module "\/no\/such\/actor\.wasm": ENOENT/);
});

test('start actor from a pushed ref with --constraint zone=b lands on the zone-b host', async () => {
  const { r, out } = await cliJson('start', 'actor', echoRef, '--id', 'svc', '--constraint', 'zone=b');
  ok(r);
  expect(out).toMatchObject({
    ok: true,
    actor: 'svc',
    host: { hostId: hostB.hostId, friendlyName: hostB.friendlyName },
    digest: echoRef,
    artifactRef: echoRef,
  });
  expect(await hostsRunning('svc')).toEqual([hostB.hostId]);
});

test('call returns the response bytes; --json describes the call', async () => {
  expect(ok(await cli('call', 'svc', 'Echo', '--data', 'hi there'))).toMatchObject({ stdout: 'hi there' });
  const { r, out } = await cliJson('call', 'svc', 'Echo', '--data', 'json me');
  ok(r);
  expect(out).toEqual({
    ok: true,
    actor: 'svc',
    operation: 'Echo',
    durationMs: expect.any(Number),
    response: { encoding: 'utf8', data: 'json me' },
  });
});

test('call of an actor nobody runs exits 5 with NO_RESPONDERS naming the actor', async () => {
  const r = await cli('call', 'ghost', 'Echo', '--data', 'x');
  expect(r.code).toBe(EXIT.UNAVAILABLE);
  expect(r.stderr.trim()).toMatch(/^wasmesh: WASMESH_ERR_NO_RESPONDERS: .*"ghost"/);
  const { r: j, out } = await cliJson('call', 'ghost', 'Echo');
  expect(j.code).toBe(EXIT.UNAVAILABLE);
  expect(out).toMatchObject({ ok: false, error: { code: 'WASMESH_ERR_NO_RESPONDERS', actor: 'ghost' } });
});

test('call of an unknown operation exits 3', async () => {
  const r = await cli('call', 'svc', 'Nope');
  expect(r.code).toBe(EXIT.ACTOR);
  expect(r.stderr).toMatch(/^wasmesh: WASMESH_ERR_UNKNOWN_OPERATION: /);
});

test('get inventory shows the actor, for all hosts and for one', async () => {
  const text = ok(await cli('get', 'inventory'));
  expect(text.stdout).toContain(`HOST ${hostB.friendlyName} (${hostB.hostId})`);
  expect(text.stdout).toMatch(/ACTOR +DIGEST +MAX CONCURRENT +IN FLIGHT +REF/);
  expect(text.stdout).toMatch(new RegExp(`svc +${echoRef.slice(0, 19)} +\\d+ +0 +${echoRef}`));
  expect(text.stdout).toContain('(no actors)');

  const { out } = await cliJson<Inventory>('get', 'inventory', hostB.hostId);
  expect(out.host.hostId).toBe(hostB.hostId);
  expect(out.actors).toEqual([expect.objectContaining({ actorId: 'svc', digest: echoRef, artifactRef: echoRef })]);
  const { out: a } = await cliJson<Inventory>('get', 'inventory', hostA.hostId);
  expect(a.actors).toEqual([]);
});

test('scale actor to 2 puts it on both hosts, to 1 removes one', async () => {
  const { r, out } = await cliJson('scale', 'actor', 'svc', '2');
  ok(r);
  expect(out).toMatchObject({ ok: true, actor: 'svc', replicas: 2, started: [hostA.hostId], stopped: [] });
  expect(await hostsRunning('svc')).toEqual([hostA.hostId, hostB.hostId].sort());

  const down = ok(await cli('scale', 'actor', 'svc', '1'));
  expect(down.stdout).toMatch(/^actor svc: 1 replica \(started on 0 hosts, stopped on 1 host\)/);
  expect(await hostsRunning('svc')).toHaveLength(1);
  expect(ok(await cli('call', 'svc', 'Echo', '--data', 'still here')).stdout).toBe('still here');
});

test('update actor moves it to another artifact: the echo id now greets', async () => {
  helloRef = ok(await cli('push', actorPath('hello'))).stdout.trim();
  const [where] = await hostsRunning('svc');
  const { r, out } = await cliJson('update', 'actor', 'svc', helloRef);
  ok(r);
  expect(out).toMatchObject({
    ok: true,
    actor: 'svc',
    artifactRef: helloRef,
    hosts: [{ hostId: where, digest: helloRef, previousDigest: echoRef }],
  });
  expect(ok(await cli('call', 'svc', 'SayHello', '--data', 'Ada')).stdout).toBe('Hello, Ada!');
});

test('scale reuses the running artifact for new replicas, and 0 stops it everywhere', async () => {
  const { out } = await cliJson<{ hosts: { digest: string }[] }>('scale', 'actor', 'svc', '2');
  expect(out.hosts.map((h) => h.digest)).toEqual([helloRef, helloRef]);
  expect(await hostsRunning('svc')).toHaveLength(2);
  expect(ok(await cli('call', 'svc', 'SayHello', '--data', 'Bob')).stdout).toBe('Hello, Bob!');

  const zero = await cliJson('scale', 'actor', 'svc', '0');
  expect(zero.out).toMatchObject({ ok: true, replicas: 0, hosts: [] });
  expect(await hostsRunning('svc')).toEqual([]);
  expect((await cli('call', 'svc', 'SayHello')).code).toBe(EXIT.UNAVAILABLE);
});

test('scale refuses a bad count (exit 2) and an actor that runs nowhere (exit 6)', async () => {
  for (const n of ['-1', '1.5', 'two']) {
    const r = await cli('scale', 'actor', 'svc', n);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(`WASMESH_ERR_USAGE: the replica count must be an integer in 0..10000, got "${n}"`);
  }
  const r = await cli('scale', 'actor', 'svc', '1');
  expect(r.code).toBe(EXIT.NOT_FOUND);
  expect(r.stderr).toMatch(/WASMESH_ERR_NOT_FOUND: .*scale needs a running replica; use start actor/);
});

test('start from a file path names the actor after the file; stop actor stops it, then NOT_FOUND', async () => {
  const started = ok(await cli('start', 'actor', actorPath('echo'), '--constraint', 'zone=a'));
  expect(started.stdout).toMatch(new RegExp(`^started actor echo on host ${hostA.friendlyName} \\(${hostA.hostId}\\)`));
  expect(ok(await cli('call', 'echo', 'Echo', '--data', 'file ref')).stdout).toBe('file ref');

  const { r, out } = await cliJson('stop', 'actor', 'echo');
  ok(r);
  expect(out).toEqual({ ok: true, actor: 'echo', hosts: [{ hostId: hostA.hostId, friendlyName: hostA.friendlyName }] });
  expect(await hostsRunning('echo')).toEqual([]);

  const again = await cli('stop', 'actor', 'echo');
  expect(again.code).toBe(EXIT.NOT_FOUND);
  expect(again.stderr).toMatch(/^wasmesh: WASMESH_ERR_NOT_FOUND: actor "echo" is not running on any host/);
});

test('start on an unknown --host, or with constraints no host matches, is NOT_FOUND (exit 6)', async () => {
  const r = await cli('start', 'actor', echoRef, '--id', 'x', '--host', 'NBOGUSHOST');
  expect(r.code).toBe(EXIT.NOT_FOUND);
  expect(r.stderr.trim()).toBe(`wasmesh: WASMESH_ERR_NOT_FOUND: no host "NBOGUSHOST" in lattice "${LATTICE}"`);
  const none = await cli('start', 'actor', echoRef, '--id', 'x', '--constraint', 'zone=mars');
  expect(none.code).toBe(EXIT.NOT_FOUND);
  expect(none.stderr).toMatch(/WASMESH_ERR_NOT_FOUND: no host in lattice .* matches the constraints zone=mars/);
  expect(await hostsRunning('x')).toEqual([]);
});

test('start of a module that is not an actor exits 3 with MISSING_EXPORT, and the host keeps running', async () => {
  const ref = ok(await cli('push', fixturePath('no-guest-call'))).stdout.trim();
  const r = await cli('start', 'actor', ref, '--id', 'broken', '--host', hostA.hostId);
  expect(r.code).toBe(EXIT.ACTOR);
  expect(r.stderr).toMatch(/^wasmesh: WASMESH_ERR_MISSING_EXPORT: cannot start actor broken on host .*__guest_call/);
  const { out } = await cliJson('start', 'actor', ref, '--id', 'broken');
  expect(out).toMatchObject({ ok: false, error: { code: 'WASMESH_ERR_MISSING_EXPORT', actor: 'broken' } });
  const { out: hosts } = await cliJson<{ hostId: string }[]>('get', 'hosts');
  expect(hosts.map((h) => h.hostId).sort()).toEqual([hostA.hostId, hostB.hostId].sort());
  expect(await hostsRunning('broken')).toEqual([]);
});

test('start needs --id for a sha256 ref, and a valid one (exit 2)', async () => {
  const noId = await cli('start', 'actor', echoRef);
  expect(noId.code).toBe(EXIT.USAGE);
  expect(noId.stderr).toMatch(/WASMESH_ERR_USAGE: --id is required/);
  const badId = await cli('start', 'actor', echoRef, '--id', 'a.b');
  expect(badId.code).toBe(EXIT.USAGE);
  expect(badId.stderr).toMatch(/WASMESH_ERR_INVALID_NAME: invalid actor id "a\.b"/);
});

test('every lattice command has --help with examples', async () => {
  const commands = [
    ['get'],
    ['get', 'hosts'],
    ['get', 'inventory'],
    ['push'],
    ['start'],
    ['start', 'actor'],
    ['scale', 'actor'],
    ['stop', 'actor'],
    ['update', 'actor'],
    ['call'],
  ];
  const results = await Promise.all(commands.map((c) => wasmesh([...c, '--help'])));
  results.forEach((r, i) => {
    expect({ command: commands[i], code: r.code }).toEqual({ command: commands[i], code: 0 });
    expect(r.stdout).toContain('Examples:');
  });
  expect((await wasmesh(['--help'])).stdout).toMatch(/wasmesh start actor/);
});

test('a NATS URL where nothing listens exits 5 with NOT_CONNECTED, quickly', async () => {
  const started = Date.now();
  const r = await wasmesh(['get', 'hosts', '--nats', 'nats://127.0.0.1:1']);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(r.code).toBe(EXIT.UNAVAILABLE);
  expect(r.stderr).toMatch(/^wasmesh: WASMESH_ERR_NOT_CONNECTED: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
  const j = await wasmesh(['call', 'svc', 'Echo', '--nats', 'nats://127.0.0.1:1', '--json']);
  expect(j.code).toBe(EXIT.UNAVAILABLE);
  expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'WASMESH_ERR_NOT_CONNECTED' } });
});
