/**
 * `wasmesh top` on a real lattice of two host processes: under traffic, one snapshot (`--json`)
 * shows each actor's calls/s, failures/s, p50/p99 and the hosts running it, computed from the
 * hosts' inventories alone, and each provider's health and restarts; the reader role may run it.
 * The numbers themselves (rates over an interval, quantiles from buckets) are checked exactly on
 * the pure model.
 */
import { actorPath } from '../fixtures.js';
import { startLattice, type LatticeFixture } from '../lattice/fixture.js';
import { natsFlags, wasmesh } from './run-cli.js';
import { quantile, snapshot, type Inventory } from '@wasmesh/cli';

let lat: LatticeFixture;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}, {}] });
  for (const h of lat.hosts) {
    await lat.client.control.startActor({ hostId: h.hostId, actorId: 'echo', artifactRef: actorPath('echo') });
  }
  await lat.client.control.startProvider({
    hostId: lat.hosts[0]!.hostId,
    providerId: 'kv',
    artifactRef: 'builtin:keyvalue',
  });
}, 60_000);

afterAll(async () => lat?.[Symbol.asyncDispose]());

test('one snapshot under traffic: rates, latency, failures and hosts of each actor, and the providers', async () => {
  let running = true;
  let failures = 0;
  const traffic = (async () => {
    for (let i = 0; running; i++) {
      // One call in ten fails (an unknown operation), the rest echo.
      if (i % 10 === 9) await lat.client.invoke('echo', 'Nope', Buffer.from('x')).catch(() => failures++);
      else await lat.client.invoke('echo', 'Echo', Buffer.from(`call ${i}`));
    }
  })();
  try {
    const r = await wasmesh([
      'top',
      '--json',
      '--interval-ms',
      '1500',
      ...(await natsFlags(lat.nats, lat.lattice, 'reader')),
      '--lattice',
      lat.lattice,
    ]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const s = JSON.parse(r.stdout) as ReturnType<typeof snapshot>;
    expect(s.hosts).toBe(2);
    const echo = s.actors.find((a) => a.actorId === 'echo')!;
    expect(echo).toMatchObject({ hosts: 2, inFlight: expect.any(Number) });
    expect(echo.callsPerS).toBeGreaterThan(10);
    expect(echo.errorsPerS).toBeGreaterThan(0);
    expect(echo.errorsPerS).toBeLessThan(echo.callsPerS);
    expect(echo.p50Ms).toBeGreaterThan(0);
    expect(echo.p99Ms!).toBeGreaterThanOrEqual(echo.p50Ms!);
    expect(echo.totalErrors).toBeGreaterThan(0);
    expect(s.providers).toEqual([
      expect.objectContaining({
        providerId: 'kv',
        hostId: lat.hosts[0]!.hostId,
        healthy: true,
        restarts: 0,
        state: 'running',
      }),
    ]);
  } finally {
    running = false;
    await traffic;
  }
  expect(failures).toBeGreaterThan(0);
}, 60_000);

test('the table: one line per actor and provider, with the columns named', async () => {
  const r = await wasmesh([
    'top',
    '--once',
    '--interval-ms',
    '500',
    ...(await natsFlags(lat.nats, lat.lattice)),
    '--lattice',
    lat.lattice,
  ]);
  expect(r.code).toBe(0);
  const lines = r.stdout.split('\n');
  expect(lines[0]).toMatch(/^wasmesh top — lattice ".*", 2 hosts,/);
  expect(lines).toContainEqual(
    expect.stringMatching(/^ACTOR\s+CALLS\/S\s+ERRORS\/S\s+P50 MS\s+P99 MS\s+IN FLIGHT\s+HOSTS\s+TOTAL$/),
  );
  expect(lines).toContainEqual(expect.stringMatching(/^echo\s+0\s+0\s+-\s+-\s+0\s+2\s+\d+/));
  expect(lines).toContainEqual(expect.stringMatching(/^kv\s+\S+\s+in-process\s+running\s+healthy\s+0$/));
  expect((await wasmesh(['top', '--help'])).stdout).toContain('Examples:');
}, 30_000);

test('the model: rates over the interval, a restarted actor counted from zero, quantiles within buckets', () => {
  const bounds = [0.001, 0.01, 0.1];
  const inv = (startedAtMs: number, calls: number, errors: number, counts: number[]): Inventory => ({
    host: { hostId: 'H1' },
    actors: [
      {
        actorId: 'a',
        startedAtMs,
        inFlight: 1,
        stats: { calls, errors, latencyBoundsS: bounds, latencyCounts: counts },
      },
    ],
  });
  const s = snapshot([inv(1, 100, 5, [50, 50, 0, 0])], [inv(1, 300, 25, [50, 150, 100, 0])], 2);
  expect(s.actors[0]).toEqual({
    actorId: 'a',
    hosts: 1,
    callsPerS: 100,
    errorsPerS: 10,
    // 200 calls in the interval: 100 in (1, 10] ms, 100 in (10, 100] ms.
    p50Ms: 10,
    p99Ms: 98.2,
    inFlight: 1,
    totalCalls: 300,
    totalErrors: 25,
  });
  // Started again (a new start time): its counts are all new.
  expect(snapshot([inv(1, 100, 5, [50, 50, 0, 0])], [inv(2, 10, 0, [10, 0, 0, 0])], 1).actors[0]!.callsPerS).toBe(10);
  expect(quantile(0.5, bounds, [0, 0, 0, 0])).toBeNull();
  expect(quantile(0.5, bounds, [0, 0, 0, 4])).toBe(0.1);
  expect(quantile(0.25, bounds, [4, 0, 0, 0])).toBeCloseTo(0.00025);
});
