/**
 * The reconciler's metrics as an operator reads them: the real `wasmesh-reconciler` bin, started
 * with `--metrics-listen 127.0.0.1:0` against a real lattice (TLS, admin credentials) with one host,
 * prints its scrape URL when running; once it deployed an app, the endpoint shows the rounds it ran,
 * the plan actions it did, the status transitions it wrote and the time the new version took to
 * converge, under Prometheus names, with its identity in `target_info`. An undeploy adds the stop
 * and the transition to `undeployed`. A second reconciler (metrics address from
 * WASMESH_METRICS_LISTEN, the human ready line) follows and runs no rounds; on SIGTERM it exits 0
 * and its endpoint is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AppStore, loadManifest } from '@wasmesh/apps';
import { actorApp } from '../app-manifests.js';
import { actorPath } from '../fixtures.js';
import { killOnExit } from '../harness/nats-server.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import { samples, valueOf } from '../harness/prometheus-text.js';

const reconcilerBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@wasmesh/apps/package.json')),
  'dist',
  'bin',
  'wasmesh-reconciler.js',
);

/** A reconciler bin in a child process, with what it printed. */
interface BinProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

let lat: LatticeFixture;
let store: AppStore;
let echoRef: string;
let natsArgs: string[];
const children: ChildProcess[] = [];
/** The leading reconciler, and what its ready line said. */
let leader: BinProcess;
let ready: { id: string; lattice: string; metricsUrl?: string };

/** Starts the reconciler bin with `args` (and the lattice and its admin credentials). */
function startBin(args: string[], env: Record<string, string> = {}): BinProcess {
  const child = spawn(process.execPath, [reconcilerBin, '--lattice', lat.lattice, ...natsArgs, ...args], {
    env: { ...process.env, NODE_OPTIONS: '', WASMESH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until `find` finds something in what `bin` printed; fails early when it exits. */
async function printed<T>(bin: BinProcess, what: string, find: () => T | undefined): Promise<T> {
  let found: T | undefined;
  let exited = false;
  void bin.exited.then(() => (exited = true));
  await until(
    what,
    () => {
      if (exited) throw new Error(`the reconciler exited before ${what}:\n${bin.stderr()}`);
      return (found = find()) !== undefined;
    },
    20_000,
  );
  return found!;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  return res.text();
}

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
  store = await AppStore.open(lat.client.nc, lat.client.subjects);
  echoRef = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('echo')));
  const { servers, creds, tlsCa } = await lat.nats.access(lat.lattice);
  // Secure by default: the reconciler reaches the lattice over TLS with admin credentials.
  expect(creds && tlsCa).toBeTruthy();
  natsArgs = ['--nats', servers, '--creds', creds!, '--tls-ca', tlsCa!];
  leader = startBin([
    '--json',
    '--id',
    'rec-metrics',
    '--interval-ms',
    '300',
    '--lease-ms',
    '1000',
    '--metrics-listen',
    '127.0.0.1:0',
  ]);
  ready = await printed(leader, 'its ready line', () => {
    const line = leader
      .stdout()
      .split('\n')
      .find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as typeof ready) : undefined;
  });
}, 60_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await lat?.[Symbol.asyncDispose]();
});

test('the ready line names the scrape URL', () => {
  expect(ready).toEqual({ id: 'rec-metrics', lattice: lat.lattice, metricsUrl: expect.any(String) });
  expect(ready.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics$/);
});

test('a deployed app shows as rounds, plan actions, status transitions and a converge time', async () => {
  const manifest = loadManifest(actorApp({ name: 'metered', image: echoRef, id: 'metered-echo' }), { source: 'test' });
  await store.put(manifest);
  await store.deploy(manifest.name, manifest.version);
  await until('the app to be deployed', async () => (await store.status('metered'))?.state === 'deployed', 20_000);

  const url = ready.metricsUrl!;
  let text = '';
  await until(
    'the converge time to be recorded',
    async () => valueOf((text = await scrape(url)), 'wasmesh_app_converge_duration_seconds_count') >= 1,
    10_000,
  );
  expect(text).toMatch(/^# TYPE wasmesh_reconciler_rounds_total counter$/m);
  expect(valueOf(text, 'wasmesh_reconciler_rounds_total', { wasmesh_outcome: 'ok' })).toBeGreaterThan(0);
  expect(valueOf(text, 'wasmesh_reconciler_rounds_total', { wasmesh_outcome: 'error' })).toBe(0);
  expect(
    valueOf(text, 'wasmesh_reconciler_actions_total', { wasmesh_action: 'start_actor', wasmesh_outcome: 'ok' }),
  ).toBeGreaterThan(0);
  expect(valueOf(text, 'wasmesh_reconciler_actions_total', { wasmesh_outcome: 'error' })).toBe(0);
  // A new app: no status, then reconciling while its actor starts, then deployed.
  const transitions = 'wasmesh_app_status_transitions_total';
  expect(valueOf(text, transitions, { wasmesh_app_status_from: 'none', wasmesh_app_status_to: 'reconciling' })).toBe(1);
  expect(
    valueOf(text, transitions, { wasmesh_app_status_from: 'reconciling', wasmesh_app_status_to: 'deployed' }),
  ).toBe(1);
  // One version converged, in seconds: a positive time, below the largest bound.
  expect(valueOf(text, 'wasmesh_app_converge_duration_seconds_count')).toBe(1);
  expect(valueOf(text, 'wasmesh_app_converge_duration_seconds_sum')).toBeGreaterThan(0);
  expect(valueOf(text, 'wasmesh_app_converge_duration_seconds_bucket', { le: '300' })).toBe(1);
  expect(text).toMatch(/^# TYPE wasmesh_app_converge_duration_seconds histogram$/m);
  // Who is speaking: the resource, as Prometheus' target_info.
  expect(samples(text, 'target_info')[0]?.labels).toMatchObject({
    service_name: 'wasmesh-reconciler',
    service_instance_id: 'rec-metrics',
    wasmesh_lattice: lat.lattice,
  });

  // Undeploying stops the actor and ends at `undeployed`; no new converge time.
  await store.undeploy('metered');
  await until('the app to be undeployed', async () => (await store.status('metered'))?.state === 'undeployed', 20_000);
  await until(
    'the stop and the transition to be counted',
    async () => {
      text = await scrape(url);
      return (
        valueOf(text, 'wasmesh_reconciler_actions_total', { wasmesh_action: 'stop_actor', wasmesh_outcome: 'ok' }) >=
          1 && valueOf(text, transitions, { wasmesh_app_status_to: 'undeployed' }) === 1
      );
    },
    10_000,
  );
  expect(valueOf(text, 'wasmesh_app_converge_duration_seconds_count')).toBe(1);
}, 60_000);

test('a follower (metrics address from the environment, human ready line) runs no rounds and exits 0 on SIGTERM', async () => {
  const follower = startBin(['--id', 'rec-follower', '--interval-ms', '300', '--lease-ms', '1000'], {
    WASMESH_METRICS_LISTEN: '127.0.0.1:0',
  });
  const url = await printed(
    follower,
    'its ready line',
    () =>
      /^reconciler rec-follower running in lattice "[^"]+"; metrics at (http:\/\/\S+) \(Ctrl-C to stop\)$/m.exec(
        follower.stderr(),
      )?.[1],
  );
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics$/);
  expect(url).not.toBe(ready.metricsUrl);
  // Give it a few intervals: only the leader runs rounds.
  await new Promise((r) => setTimeout(r, 1000));
  const text = await scrape(url);
  expect(samples(text, 'target_info')[0]?.labels).toMatchObject({ service_instance_id: 'rec-follower' });
  expect(samples(text, 'wasmesh_reconciler_rounds_total')).toEqual([]);

  follower.child.kill('SIGTERM');
  expect(await follower.exited).toBe(0);
  await expect(fetch(url, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
}, 60_000);
