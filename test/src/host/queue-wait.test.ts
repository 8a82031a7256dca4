/**
 * The runtime's queue waits as a host exports them: `wasmesh.actor.invocation.queue_wait`, a
 * histogram in seconds by actor, on a real host process's metrics endpoint. Calls that reach an
 * actor with `maxConcurrent: 1` together queue in the runtime, and their waits add up to most of
 * the time the calls ahead of them ran.
 */
import { DURATION_BUCKETS_S } from '@wasmesh/lattice';
import type { HostProcess } from '../harness/host-process.js';
import { startLattice, type LatticeFixture } from '../lattice/fixture.js';
import { actorPath } from '../fixtures.js';

let lat: LatticeFixture;
let host: HostProcess;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{ args: ['--metrics-listen', '127.0.0.1:0'] }] });
  host = lat.hosts[0]!;
  await lat.client.control.startActor({
    hostId: host.hostId,
    actorId: 'fib1',
    artifactRef: actorPath('fib'),
    maxConcurrent: 1,
  });
}, 60_000);

afterAll(async () => {
  await lat?.[Symbol.asyncDispose]();
});

/** The value of the sample `name{...}` with every one of `labels` on the host's endpoint (undefined when absent). */
async function sample(name: string, ...labels: string[]): Promise<number | undefined> {
  const text = await (await fetch(host.metricsUrl!)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !labels.every((l) => line.includes(l))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('calls queued behind each other on maxConcurrent 1 show as their waits, by actor', async () => {
  const fib = (): Promise<number> => {
    const started = performance.now();
    return lat.client.invoke('fib1', 'Fib', Buffer.from('31')).then(() => (performance.now() - started) / 1000);
  };
  // One at a time: no wait. The quickest round trip bounds a run from above.
  let aloneS = Infinity;
  for (let i = 0; i < 3; i++) aloneS = Math.min(aloneS, await fib());
  const id = 'wasmesh_actor_id="fib1"';
  expect(await sample('wasmesh_actor_invocation_queue_wait_seconds_count', id)).toBe(3);
  expect(await sample('wasmesh_actor_invocation_queue_wait_seconds_bucket', id, 'le="0.001"')).toBe(3);
  for (const le of DURATION_BUCKETS_S) {
    expect(await sample('wasmesh_actor_invocation_queue_wait_seconds_bucket', `le="${le}"`)).toBeDefined();
  }

  // Four at once run one after the other: the waits add up to about 0 + 1 + 2 + 3 runs.
  await Promise.all([fib(), fib(), fib(), fib()]);
  expect(await sample('wasmesh_actor_invocation_queue_wait_seconds_count', id)).toBe(7);
  const sum = (await sample('wasmesh_actor_invocation_queue_wait_seconds_sum', id))!;
  // A round trip is a run plus the bus: a quarter of the ideal is a generous lower bound.
  expect(sum).toBeGreaterThan(1.5 * aloneS);
}, 60_000);
