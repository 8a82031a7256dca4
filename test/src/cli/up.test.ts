/**
 * `wasmesh up` and `wasmesh down` for real: a nats-server and a host start, a lattice command
 * reaches them, and stopping leaves no process and no state file behind; in the foreground and
 * with --detach. Missing nats-server, a taken port and a second `up` are one clear line each.
 * The lattice `up` makes is secured (TLS, credentials, roles); `--insecure` is the explicit opt-out.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findNatsServerBinary } from '../harness/nats-server.js';
import { isGone } from '../harness/processes.js';
import { freePort } from '../harness/redis-server.js';
import { until } from '../lattice/fixture.js';
import { collect, connectClients, grpc, stream, unary } from '../gateway/grpc-client.js';
import { writeLocalKvcounter } from './manifests.js';
import { upAccess as access, wasmesh, wasmeshBin, type UpTestState as UpState } from './run-cli.js';

const natsBin = findNatsServerBinary();

function home(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'wasmesh-up-'));
}

/** Starts `wasmesh up <args>` in the foreground, collecting what it prints. */
function startUp(args: string[]) {
  const child = spawn(process.execPath, [wasmeshBin, 'up', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const run = {
    child,
    out: '',
    err: '',
    exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))),
  };
  child.stdout.on('data', (d: Buffer) => (run.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.err += d.toString()));
  return run;
}

/** Runs `wasmesh up --detach` on `port` with its home in `dir`, plus `extra` flags. */
function upDetached(dir: string, port: number, ...extra: string[]) {
  return wasmesh(['up', '--detach', '--port', String(port), '--home', dir, '--nats-server-bin', natsBin, ...extra]);
}

test('up --detach starts NATS and a host in the background; down stops them all', async () => {
  const dir = home();
  const port = await freePort();
  const up = await upDetached(dir, port, '--json', '--label', 'zone=local');
  expect(up.stderr).toBe('');
  expect(up.code).toBe(0);
  const state = JSON.parse(up.stdout) as UpState;
  expect(state).toMatchObject({ status: 'ready', natsUrl: `tls://127.0.0.1:${port}`, secure: true });
  const hosts = await wasmesh(['get', 'hosts', '--json', ...access(state)]);
  expect(JSON.parse(hosts.stdout)).toEqual([
    expect.objectContaining({ hostId: state.hostId, labels: expect.objectContaining({ zone: 'local' }) }),
  ]);
  // <home>/env says where the lattice is and how to get in.
  expect(readFileSync(state.envFile, 'utf8')).toContain(`export WASMESH_NATS_CREDS=${state.creds}\n`);
  // Next to `up` (its home), a command without credentials finds them; elsewhere it is refused.
  const local = await wasmesh(['get', 'hosts', '--json', '--nats', `nats://127.0.0.1:${port}`], { WASMESH_HOME: dir });
  expect([local.code, JSON.parse(local.stdout).length]).toEqual([0, 1]);
  const stranger = await wasmesh(['get', 'hosts', '--nats', state.natsUrl, '--tls-ca', state.tlsCa], {
    WASMESH_HOME: home(),
  });
  expect([stranger.code, stranger.stderr]).toEqual([
    7,
    expect.stringMatching(/^wasmesh: WASMESH_ERR_PERMISSION_DENIED: /),
  ]);

  const again = await wasmesh(['up', '--port', String(port + 1), '--home', dir, '--nats-server-bin', natsBin]);
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(
    /^wasmesh: WASMESH_ERR_CONFLICT: wasmesh is already up \(pid \d+, .*\); stop it with `wasmesh down`\n$/,
  );

  const down = await wasmesh(['down', '--home', dir, '--json']);
  expect(down.code).toBe(0);
  expect(JSON.parse(down.stdout)).toEqual({ stopped: true, pid: state.pid });
  for (const pid of [state.pid, state.natsPid, state.hostPid]) await until(`pid ${pid} to exit`, () => isGone(pid));
  expect(existsSync(path.join(dir, 'up.json'))).toBe(false);
  expect(existsSync(path.join(dir, 'jetstream'))).toBe(true);

  const noop = await wasmesh(['down', '--home', dir]);
  expect([noop.code, noop.stderr]).toEqual([0, `wasmesh is not up (no running ${path.join(dir, 'up.json')})\n`]);
}, 60_000);

test('up in the foreground prints where things are (with the gRPC gateway); Ctrl-C stops everything', async () => {
  const dir = home();
  const port = await freePort();
  const up = startUp(['--port', String(port), '--home', dir, '--nats-server-bin', natsBin, '--gateway', '127.0.0.1:0']);
  await until('up to be ready', () => up.out.includes('Ctrl-C stops everything'), 30_000);
  expect(up.out).toContain(`NATS      tls://127.0.0.1:${port}`);
  expect(up.out).toContain(`security  TLS (CA ${path.join(dir, 'tls', 'ca.pem')}) and credentials`);
  expect(up.out).toContain(`source ${path.join(dir, 'env')}`);
  expect(up.out).toContain('wasmesh call hello SayHello --data you');
  expect(up.out).toMatch(/gRPC {6}127\.0\.0\.1:\d+ \(wasmesh\.lattice\.v1 Control, Lattice and Apps/);
  const state = readFileSync(path.join(dir, 'up.json'), 'utf8');
  const { natsPid, hostPid, hostId, gateway, gatewayClient } = JSON.parse(state) as UpState;
  // The gateway serves TLS; the admin client certificate up made (and printed) calls it.
  expect(gatewayClient).toEqual({
    ca: path.join(dir, 'tls', 'ca.pem'),
    cert: path.join(dir, 'creds', 'default-admin-client.pem'),
    key: path.join(dir, 'creds', 'default-admin-client-key.pem'),
  });
  expect(up.out).toContain(`admin client certificate ${gatewayClient!.cert}`);
  expect(up.out).toContain(
    `grpcurl -cacert ${gatewayClient!.ca} -cert ${gatewayClient!.cert} -key ${gatewayClient!.key} ${gateway} list`,
  );
  const [ca, cert, key] = [gatewayClient!.ca, gatewayClient!.cert, gatewayClient!.key].map((f) => readFileSync(f));
  const admin = connectClients(gateway, grpc.credentials.createSsl(ca!, key!, cert!));
  const plaintext = connectClients(gateway, grpc.credentials.createInsecure());
  try {
    const hosts = await collect<{ hostId: string }>(stream(admin.control, 'Ping', {}));
    expect(hosts.map((h) => h.hostId)).toEqual([hostId]);
    const refused = await unary(plaintext.health, 'Check', { service: '' }, 5000).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: grpc.status.UNAVAILABLE });
  } finally {
    admin.close();
    plaintext.close();
  }
  up.child.kill('SIGINT');
  expect(await up.exited).toBe(0);
  expect(isGone(natsPid) && isGone(hostPid)).toBe(true);
  expect(existsSync(path.join(dir, 'up.json'))).toBe(false);
}, 60_000);

test('up without nats-server, or on a taken port, says so in one line', async () => {
  const missing = await wasmesh(['up', '--home', home(), '--nats-server-bin', '/nonexistent/nats-server']);
  expect([missing.code, missing.stderr]).toEqual([
    6,
    'wasmesh: WASMESH_ERR_NOT_FOUND: --nats-server-bin /nonexistent/nats-server is not an executable file\n',
  ]);
  const notOnPath = await wasmesh(['up', '--home', home()], { PATH: '/nonexistent', WASMESH_BIN_DIR: '/nonexistent' });
  expect(notOnPath.code).toBe(6);
  expect(notOnPath.stderr).toMatch(
    /^wasmesh: WASMESH_ERR_NOT_FOUND: nats-server was not found on PATH: install it .*--nats-server-bin PATH\n$/,
  );

  const taken = (await import('node:net')).createServer().listen(0, '127.0.0.1');
  await new Promise((r) => taken.once('listening', r));
  const port = (taken.address() as { port: number }).port;
  const busy = await wasmesh(['up', '--home', home(), '--port', String(port), '--nats-server-bin', natsBin]);
  taken.close();
  expect([busy.code, busy.stderr]).toEqual([
    2,
    `wasmesh: WASMESH_ERR_CONFLICT: port ${port} is already in use (another NATS server?); pick another with --port\n`,
  ]);
});

test('up --manifest deploys an app through the reconciler and prints where to try it', async () => {
  const dir = home();
  const port = await freePort();
  const manifest = writeLocalKvcounter(dir);
  const up = startUp([
    '--json',
    '--port',
    String(port),
    '--home',
    dir,
    '--nats-server-bin',
    natsBin,
    '--manifest',
    manifest,
  ]);
  await until('up to deploy the app', () => up.out.includes('\n'), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${up.err}`);
  });
  const state = JSON.parse(up.out) as UpState & { urls: string[] };
  const { urls } = state;
  expect(urls).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/counter$/)]);
  const res = await fetch(`${urls[0]}/visits`);
  expect([res.status, await res.text()]).toEqual([200, '1\n']);
  const apps = await wasmesh(['app', 'status', 'kvcounter', '--json', ...access(state)]);
  expect(JSON.parse(apps.stdout)).toMatchObject({ state: 'deployed', deployedVersion: 'v0.1.0' });
  up.child.kill('SIGINT');
  expect(await up.exited).toBe(0);
}, 90_000);

test('up --detach --manifest returns once the app is deployed, with its URL; a bad manifest starts nothing', async () => {
  const dir = home();
  const port = await freePort();
  const manifest = writeLocalKvcounter(dir);
  const args = ['up', '--detach', '--json', '--port', String(port), '--home', dir, '--nats-server-bin', natsBin];
  const up = await wasmesh([...args, '--manifest', manifest]);
  expect([up.code, up.stderr]).toEqual([0, '']);
  const state = JSON.parse(up.stdout) as UpState & { urls: string[]; deploying: boolean };
  expect(state).toMatchObject({ status: 'ready', deploying: false });
  expect(await (await fetch(`${state.urls[0]}/detached`)).text()).toBe('1\n');
  expect((await wasmesh(['down', '--home', dir])).code).toBe(0);
  // Again on the same home: the app is already stored and was deployed; up waits for this run's
  // reconciler to place it (not for the status the last run left), and the count survived.
  const again = JSON.parse((await wasmesh([...args, '--manifest', manifest])).stdout) as { urls: string[] };
  expect(await (await fetch(`${again.urls[0]}/detached`)).text()).toBe('2\n');
  expect((await wasmesh(['down', '--home', dir])).code).toBe(0);

  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'kind: [');
  const refused = await wasmesh([...args, '--manifest', bad]);
  expect(refused.code).toBe(2);
  expect(JSON.parse(refused.stdout)).toMatchObject({
    ok: false,
    error: { code: 'WASMESH_ERR_INVALID_MANIFEST', message: expect.stringContaining('bad.yaml') },
  });
  expect(existsSync(path.join(dir, 'up.json'))).toBe(false);
}, 90_000);

test('credentials of each role: a reader reads and is denied changes; a new lattice works at once', async () => {
  const dir = home();
  const port = await freePort();
  const up = await upDetached(dir, port, '--json');
  expect(up.code).toBe(0);
  const state = JSON.parse(up.stdout) as UpState;
  try {
    const readerFile = path.join(dir, 'reader.creds');
    const made = await wasmesh(['creds', 'create', '--role', 'reader', '--home', dir, '--out', readerFile, '--json']);
    expect(JSON.parse(made.stdout)).toMatchObject({ role: 'reader', lattice: 'default', newLattice: false });
    const asReader = ['--nats', state.natsUrl, '--creds', readerFile, '--tls-ca', state.tlsCa];
    expect((await wasmesh(['get', 'hosts', ...asReader])).code).toBe(0);
    const denied = await wasmesh(['start', 'actor', path.resolve('actors/build/hello.wasm'), ...asReader]);
    expect([denied.code, denied.stderr]).toEqual([
      7,
      expect.stringMatching(/^wasmesh: WASMESH_ERR_PERMISSION_DENIED: .*actor\.auction\n$/),
    ]);
    const config = await wasmesh(['config', 'put', 'x', 'a=b', ...asReader]);
    expect([config.code, config.stderr]).toEqual([7, expect.stringMatching(/WASMESH_ERR_PERMISSION_DENIED.*_config/)]);
    const shown = JSON.parse((await wasmesh(['creds', 'show', readerFile, '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(shown).toMatchObject({ role: 'reader', name: 'reader', carriesSigningKeys: [] });

    // A lattice that had no account: the running server reloads and lets its admin in.
    const stagingFile = path.join(dir, 'staging.creds');
    const staging = await wasmesh([
      'creds',
      'create',
      '--role',
      'admin',
      '--lattice',
      'staging',
      '--home',
      dir,
      '--out',
      stagingFile,
      '--json',
    ]);
    expect(JSON.parse(staging.stdout)).toMatchObject({ newLattice: true, serverReloaded: true });
    await until('the new lattice to be usable', async () => {
      const r = await wasmesh(['get', 'links', '--lattice', 'staging', ...access(state, stagingFile)]);
      return r.code === 0;
    });
    // Its admin is no admin of the default lattice's account: it sees none of its hosts.
    const cross = await wasmesh(['get', 'hosts', '--json', ...access(state, stagingFile)]);
    expect(JSON.parse(cross.stdout)).toEqual([]);
    // Files are private.
    for (const f of [readerFile, state.creds, path.join(dir, 'auth', 'operator.nk')]) {
      expect((await import('node:fs')).statSync(f).mode & 0o077).toBe(0);
    }
  } finally {
    await wasmesh(['down', '--home', dir]);
  }
}, 90_000);

test('up --insecure runs the open mode, with a warning; its gateway is plaintext on loopback', async () => {
  const dir = home();
  const port = await freePort();
  const up = await upDetached(dir, port, '--insecure', '--gateway', '127.0.0.1:0');
  try {
    expect(up.code).toBe(0);
    expect(up.stderr).toMatch(/WARNING: --insecure: NATS runs without TLS or credentials/);
    expect(up.stdout).toContain('security  NONE (--insecure)');
    const hosts = await wasmesh(['get', 'hosts', '--json', '--nats', `nats://127.0.0.1:${port}`], {
      WASMESH_HOME: home(),
    });
    expect(JSON.parse(hosts.stdout)).toHaveLength(1);
    expect(up.stdout).toContain('plaintext without credentials (--insecure): loopback only');
    const { gateway, gatewayClient } = JSON.parse(readFileSync(path.join(dir, 'up.json'), 'utf8')) as UpState;
    expect(gatewayClient).toBeUndefined();
    const open = connectClients(gateway, grpc.credentials.createInsecure());
    try {
      expect(await unary(open.health, 'Check', { service: '' }, 5000)).toEqual({ status: 'SERVING' });
    } finally {
      open.close();
    }
  } finally {
    await wasmesh(['down', '--home', dir]);
  }
}, 60_000);
