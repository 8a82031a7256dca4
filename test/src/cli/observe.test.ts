/**
 * `wasmesh events` and `wasmesh spy` against a real lattice (nats-server and a host process): the
 * events of an actor start arrive; the spy shows a call into an actor, the contract call it makes
 * to a provider and both answers, decoded — also when that call never crosses NATS (the provider
 * runs in the host process: its host mirrors the local call for the spy); bad arguments are usage
 * errors.
 */
import { readFileSync } from 'node:fs';
import { type LinkState } from '@wasmesh/lattice';
import { actorPath, providerFixturePath } from '../fixtures.js';
import { EventLog, startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import { natsEnv, wasmesh } from './run-cli.js';

let lat: LatticeFixture;
let state: LinkState;
/** Watching changes nothing: the CLI runs with the lattice's read-only `reader` credentials. */
let env: Record<string, string>;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
  state = await lat.client.state();
  env = await natsEnv(lat.nats, lat.lattice, 'reader');
}, 60_000);

afterAll(async () => {
  await lat?.[Symbol.asyncDispose]();
});

test('events: prints the events of an actor start, as JSON lines, and exits after --count', async () => {
  const run = wasmesh(['events', '--type', 'actor_started', '--count', '1', '--json'], env);
  // The CLI subscribes within a moment; keep starting until it has seen one.
  const ref = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('echo')));
  const host = lat.hosts[0]!;
  let n = 0;
  const started = (async () => {
    for (;;) {
      const id = `echo-ev${n++}`;
      await lat.client.control.startActor({ hostId: host.hostId, actorId: id, artifactRef: ref, maxConcurrent: 1 });
      const done = await Promise.race([run.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))]);
      if (done) return;
    }
  })();
  const result = await run;
  await started;
  expect(result.code).toBe(0);
  const event = JSON.parse(result.stdout.trim().split('\n')[0]!);
  expect(event).toMatchObject({
    type: 'actor_started',
    data: { actor: { actorId: expect.stringMatching(/^echo-ev/) } },
  });
});

test('events: an unknown --type is a usage error naming the known types', async () => {
  const r = await wasmesh(['events', '--type', 'actor_exploded'], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('unknown event type "actor_exploded" for --type; known: host_started');
});

/**
 * A testbed actor `actorId` linked to `providerId` (started from `provider` in `mode`) for
 * `contract`, then `wasmesh spy actorId` until it printed `count` lines while the actor calls
 * `callPayload` (CallContract); the lines, parsed.
 */
async function spyOnContractCall(
  actorId: string,
  provider: { providerId: string; fixture: string; mode?: string },
  contract: string,
  callPayload: string,
  count = 4,
): Promise<Record<string, unknown>[]> {
  const host = lat.hosts[0]!;
  await lat.client.control.startProvider({
    hostId: host.hostId,
    providerId: provider.providerId,
    artifactRef: providerFixturePath(provider.fixture),
    ...(provider.mode ? { mode: provider.mode } : {}),
  });
  const ref = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('testbed')));
  await lat.client.control.startActor({ hostId: host.hostId, actorId, artifactRef: ref, maxConcurrent: 4 });
  const events = new EventLog(lat.client, ['link_status']);
  await state.putLink({ sourceId: actorId, contract, targetId: provider.providerId });
  await events.find((e) => e.type === 'link_status' && e.data.link?.sourceId === actorId);
  events.close();

  const spy = wasmesh(['spy', actorId, '--json', '--count', String(count)], env);
  // Call until the spy has its subscriptions (it then prints `count` lines and exits).
  let finished = false;
  void spy.then(() => (finished = true));
  await until(
    'the spy to see a call',
    async () => {
      if (finished) return true;
      await lat.client.invoke(actorId, 'CallContract', Buffer.from(callPayload), { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 200));
      return finished;
    },
    20_000,
  );
  const r = await spy;
  expect(r.code).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('spy: shows the call into the actor, its call to a provider, and both answers, decoded', async () => {
  const lines = await spyOnContractCall(
    'tb',
    { providerId: 'echo-prov', fixture: 'echo-provider' },
    'test:echo',
    'test:echo/default/Echo/peek-a-boo',
    8,
  );
  // The spy may start in the middle of a call (it subscribes while the test calls): the lines of
  // one whole call, in order, follow.
  const shape = lines.map((l) => [l.kind, l.direction, l.operation].join(' '));
  const whole = ['call in CallContract', 'call out Echo', 'answer out Echo', 'answer in CallContract'];
  const at = shape.findIndex((_, i) => whole.every((w, k) => shape[i + k] === w));
  expect({ at: at >= 0, shape }).toEqual({ at: true, shape });
  expect(lines[at]).toMatchObject({ target: 'tb', payload: 'test:echo/default/Echo/peek-a-boo' });
  expect(lines[at + 1]).toMatchObject({ source: 'tb', target: 'echo-prov', payload: 'peek-a-boo' });
  expect(lines[at + 3]).toMatchObject({ ok: true, payload: 'peek-a-boo' });
});

test('spy: a call delivered by local dispatch (an in-process provider) is mirrored by its host and shown', async () => {
  const lines = await spyOnContractCall(
    'tb-local',
    { providerId: 'faulty', fixture: 'faulty-provider', mode: 'in-process' },
    'test:faulty',
    'test:faulty/default/Echo/in-process',
  );
  const local = lines.filter((l) => l.local === true);
  expect(local.map((l) => [l.kind, l.direction, l.operation])).toEqual([
    ['call', 'out', 'Echo'],
    ['answer', 'out', 'Echo'],
  ]);
  expect(local[0]).toMatchObject({ source: 'tb-local', target: 'faulty', payload: 'in-process' });
  expect(local[1]).toMatchObject({ ok: true, payload: 'in-process', hostId: 'faulty' });
  // The call into the actor came over the bus, as before.
  expect(lines.find((l) => l.kind === 'call' && l.direction === 'in')).toMatchObject({ target: 'tb-local' });
});

test('spy: an invalid actor id is a usage error', async () => {
  const r = await wasmesh(['spy', 'not valid'], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('actor id');
});

test('events: heartbeats are left out unless asked for', async () => {
  const ref = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('echo')));
  const host = lat.hosts[0]!;
  const quiet = wasmesh(['events', '--count', '1', '--json'], env);
  // Heartbeats arrive every 500 ms meanwhile; the first event printed must be the actor start.
  await new Promise((r) => setTimeout(r, 1500));
  await lat.client.control.startActor({
    hostId: host.hostId,
    actorId: 'echo-quiet',
    artifactRef: ref,
    maxConcurrent: 1,
  });
  const first = JSON.parse((await quiet).stdout.trim().split('\n')[0]!);
  expect(first).toMatchObject({ type: 'actor_started' });
  const beats = await wasmesh(['events', '--heartbeats', '--count', '1'], env);
  expect(beats.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}host_heartbeat {4}hostId=N\w+ actors=\d+ providers=\d+\n$/);
});
