/**
 * `wasmesh up` supervises: a host, nats-server, reconciler or gateway killed with -9 is started
 * again (the host with the same id), said on stderr and counted in up.json, and `up` keeps
 * running; no process is orphaned whatever is killed — the `wasmesh host` wrapper (its
 * `wasmesh-host` child stops) or `up` itself (its host, reconciler and gateway stop by themselves;
 * `down` or the next `up` stops the nats-server it left).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findNatsServerBinary } from '../harness/nats-server.js';
import { isGone, killIfAlive } from '../harness/processes.js';
import { freePort } from '../harness/redis-server.js';
import { until } from '../lattice/fixture.js';
import { upAccess as access, wasmesh, wasmeshBin, type UpTestState as UpState } from './run-cli.js';

const natsBin = findNatsServerBinary();

/** A fresh home and port, and `up` flags for them. */
async function place(): Promise<{ dir: string; flags: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-up-supervise-'));
  return { dir, flags: ['--port', String(await freePort()), '--home', dir, '--nats-server-bin', natsBin] };
}

function readState(dir: string): UpState {
  return JSON.parse(readFileSync(path.join(dir, 'up.json'), 'utf8')) as UpState;
}

/** The host ids `get hosts` lists ([] when it fails). */
async function hostIds(state: UpState): Promise<string[]> {
  const r = await wasmesh(['get', 'hosts', '--json', ...access(state)]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { hostId: string }[]).map((h) => h.hostId) : [];
}

/** The command line of process `pid`, its arguments joined by spaces. */
function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

/** The pids of the children of `pid`. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim())
      .map(Number);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

test('a host or nats-server killed with -9 is restarted (same host id), said on stderr and in up.json', async () => {
  const { dir, flags } = await place();
  const up = spawn(process.execPath, [wasmeshBin, 'up', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  up.stdout.on('data', (d: Buffer) => (out += d.toString()));
  up.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
  try {
    await until('up to be ready', () => out.includes('Ctrl-C stops everything'), 30_000);
    const first = readState(dir);
    expect(first.parts).toMatchObject({ host: { status: 'running', restarts: 0 }, nats: { restarts: 0 } });

    process.kill(first.hostPid, 'SIGKILL');
    await until(
      'a new host process',
      () => readState(dir).hostPid !== first.hostPid && !isGone(readState(dir).hostPid),
    );
    const second = readState(dir);
    expect(second.hostId).toBe(first.hostId);
    expect(second.parts.host).toMatchObject({
      status: 'running',
      restarts: 1,
      lastExit: expect.stringContaining('SIGKILL'),
    });
    await until('get hosts to list the restarted host', async () => (await hostIds(second)).includes(first.hostId));
    expect(err).toMatch(
      /^wasmesh: the host exited \(SIGKILL\); see .*host\.log; restarting it in 0\.5 s \(restart 1\)$/m,
    );

    // Dying again soon after: the backoff doubles.
    process.kill(second.hostPid, 'SIGKILL');
    await until(
      'another host process',
      () => readState(dir).parts.host?.restarts === 2 && !isGone(readState(dir).hostPid),
    );
    expect(err).toMatch(/restarting it in 1 s \(restart 2\)$/m);
    expect(readState(dir).hostId).toBe(first.hostId);

    process.kill(second.natsPid, 'SIGKILL');
    await until(
      'a new nats-server',
      () => readState(dir).parts.nats?.restarts === 1 && readState(dir).natsPid !== second.natsPid,
    );
    expect(err).toMatch(/^wasmesh: nats-server exited \(SIGKILL\); see .*nats\.log; restarting it/m);
    // The host reconnects to it and is still the one host of the lattice.
    await until('get hosts to answer again', async () => (await hostIds(second)).join() === first.hostId, 15_000);
    const third = readState(dir);
    expect(up.exitCode).toBeNull();

    up.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(path.join(dir, 'up.json'))).toBe(false);
    expect([isGone(third.hostPid), isGone(third.natsPid)]).toEqual([true, true]);
  } finally {
    up.kill('SIGKILL');
  }
}, 90_000);

test('kill -9 of the `wasmesh host` wrapper stops its wasmesh-host child', async () => {
  const { dir, flags } = await place();
  const up = await wasmesh(['up', '--detach', '--json', ...flags]);
  expect(up.code).toBe(0);
  const state = JSON.parse(up.stdout) as UpState;
  let child: number | undefined;
  try {
    const creds = path.join(dir, 'by-hand.creds');
    const made = await wasmesh(['creds', 'create', '--role', 'host', '--home', dir, '--out', creds]);
    expect(made.code).toBe(0);
    const wrapper = spawn(process.execPath, [wasmeshBin, 'host', '--json', ...access({ ...state, creds })], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let out = '';
    wrapper.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until('the host by hand to join', () => out.includes('\n'), 30_000);
    const { hostId } = JSON.parse(out) as { hostId: string };
    expect((await hostIds(state)).sort()).toEqual([state.hostId, hostId].sort());
    [child] = childrenOf(wrapper.pid!);
    expect(child).toBeGreaterThan(0);

    wrapper.kill('SIGKILL');
    await until(`wasmesh-host (pid ${child}) to exit with its wrapper`, () => isGone(child!), 15_000);
    // It drained: the lattice no longer lists it.
    await until('get hosts without it', async () => (await hostIds(state)).join() === state.hostId);
  } finally {
    killIfAlive(child);
    await wasmesh(['down', '--home', dir]);
  }
}, 90_000);

test('the reconciler and the gateway are child processes of up, restarted when killed with -9', async () => {
  const { dir, flags } = await place();
  const up = await wasmesh(['up', '--detach', '--json', '--gateway', '127.0.0.1:0', ...flags]);
  expect(up.code).toBe(0);
  try {
    const first = readState(dir);
    const { reconciler, gateway } = first.parts;
    expect([reconciler, gateway]).toEqual([
      { status: 'running', restarts: 0, pid: expect.any(Number) },
      { status: 'running', restarts: 0, pid: expect.any(Number) },
    ]);
    // Their own bins, not the CLI: `wasmesh up` loads neither the reconciler nor gRPC.
    expect(childrenOf(first.pid)).toEqual(expect.arrayContaining([reconciler!.pid, gateway!.pid]));
    expect(commandLine(reconciler!.pid!)).toContain('wasmesh-reconciler');
    expect(commandLine(gateway!.pid!)).toContain('wasmesh-gateway');
    expect(readFileSync(path.join(dir, 'reconciler.log'), 'utf8')).toContain('"component":"reconciler"');

    for (const part of ['reconciler', 'gateway']) {
      const old = first.parts[part]!.pid!;
      process.kill(old, 'SIGKILL');
      await until(`a new ${part} process`, () => {
        const now = readState(dir).parts[part];
        return now?.status === 'running' && now.restarts === 1 && now.pid !== old && !isGone(now.pid!);
      });
      expect(readState(dir).parts[part]?.lastExit).toMatch(
        new RegExp(`the ${part} exited \\(SIGKILL\\); see .*${part}\\.log`),
      );
    }
    // The restarted gateway serves where the first one did.
    expect(readState(dir).gateway).toBe(first.gateway);

    // `wasmesh reconciler` next to up, given no credentials, finds the local lattice's (as every command does).
    const extra = spawn(process.execPath, [wasmeshBin, 'reconciler', '--json', '--nats', first.natsUrl], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', WASMESH_HOME: dir, WASMESH_NATS_CREDS: '', WASMESH_NATS_CA: '' },
    });
    let line = '';
    extra.stdout.on('data', (d: Buffer) => (line += d.toString()));
    const extraExited = new Promise<number | null>((r) => extra.once('exit', (code) => r(code)));
    await until('the extra reconciler to run', () => line.includes('\n'), 15_000);
    expect(JSON.parse(line)).toMatchObject({ id: expect.any(String), lattice: 'default' });
    extra.kill('SIGTERM');
    expect(await extraExited).toBe(0);
  } finally {
    await wasmesh(['down', '--home', dir]);
  }
}, 90_000);

test('kill -9 of up: its host, reconciler and gateway exit by themselves; down, or the next up, stops the nats-server it left', async () => {
  const { dir, flags } = await place();
  const first = JSON.parse(
    (await wasmesh(['up', '--detach', '--json', '--gateway', '127.0.0.1:0', ...flags])).stdout,
  ) as UpState;
  const services = [first.parts.reconciler?.pid, first.parts.gateway?.pid];
  expect(services).toEqual([expect.any(Number), expect.any(Number)]);
  process.kill(first.pid, 'SIGKILL');
  await until(`the host (pid ${first.hostPid}) to exit by itself`, () => isGone(first.hostPid), 15_000);
  await until(
    `the reconciler and the gateway (${services.join(', ')}) to exit by themselves`,
    () => services.every((p) => isGone(p!)),
    15_000,
  );
  expect(isGone(first.natsPid)).toBe(false);
  // The next up in the same home (same port) stops the leftover nats-server and starts afresh.
  const again = await wasmesh(['up', '--detach', '--json', ...flags]);
  expect([again.code, again.stderr]).toEqual([0, '']);
  expect(isGone(first.natsPid)).toBe(true);
  const second = JSON.parse(again.stdout) as UpState;
  process.kill(second.pid, 'SIGKILL');
  await until('the second host to exit by itself', () => isGone(second.hostPid), 15_000);
  const down = await wasmesh(['down', '--home', dir, '--json']);
  expect([down.code, JSON.parse(down.stdout)]).toEqual([0, { stopped: true, pid: second.pid }]);
  await until('the leftover nats-server to exit', () => isGone(second.natsPid));
  expect(existsSync(path.join(dir, 'up.json'))).toBe(false);
}, 90_000);
