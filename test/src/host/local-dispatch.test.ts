/**
 * Local dispatch on real host processes: an actor's call to an actor served by its own host skips
 * NATS (a plain subscription on the target's subject sees nothing), with the semantics of the bus —
 * results, guest errors, deadlines, payloads larger than a NATS message — and the rule that sends
 * a call to the bus: no local target, or a local target that is saturated (as many calls in flight
 * as its maximum concurrency) or stopped. A host started with WASMESH_LOCAL_DISPATCH=0 takes the
 * bus for every call. Under HTTP load through an in-process HTTP server (local dispatch to the
 * actor), an update of the actor drops no request.
 */
import type { Subscription } from '@nats-io/transport-node';
import { isWasmeshError } from '@wasmesh/lattice';
import { ContractId } from '@wasmesh/proto';
import { actorPath } from '../fixtures.js';
import type { HostProcess } from '../harness/host-process.js';
import { freePort } from '../harness/redis-server.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';

let lat: LatticeFixture;
let a: HostProcess;
let b: HostProcess;
const subs: Subscription[] = [];

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}, {}] });
  [a, b] = lat.hosts as [HostProcess, HostProcess];
  await lat.client.control.startActor({ hostId: a.hostId, actorId: 'relay', artifactRef: actorPath('testbed') });
}, 60_000);
afterAll(async () => {
  for (const s of subs) s.unsubscribe();
  await lat?.[Symbol.asyncDispose]();
});

/** Counts the invocations of `actorId` that cross NATS from now on (a plain, non-queue subscription). */
async function busCalls(actorId: string): Promise<() => Promise<number>> {
  let seen = 0;
  const sub = lat.client.nc.subscribe(lat.client.subjects.actor(actorId), {
    callback: () => {
      seen++;
    },
  });
  subs.push(sub);
  await lat.client.nc.flush();
  return async () => {
    await lat.client.nc.flush();
    return seen;
  };
}

/** The relay actor (on host a) calls `target` as `<actorId>/<operation>/<data>`; its answer as text. */
async function relay(target: string, timeoutMs = 10_000): Promise<string> {
  return Buffer.from(await lat.client.invoke('relay', 'Relay', Buffer.from(target), { timeoutMs })).toString();
}

async function start(host: HostProcess, actorId: string, actor: string, maxConcurrent?: number): Promise<void> {
  await lat.client.control.startActor({
    hostId: host.hostId,
    actorId,
    artifactRef: actorPath(actor),
    ...(maxConcurrent ? { maxConcurrent } : {}),
  });
}

test('a call to an actor on the caller’s host skips NATS; without a local target it takes the bus', async () => {
  await start(a, 'echo-local', 'echo');
  const local = await busCalls('echo-local');
  for (let i = 0; i < 20; i++) expect(await relay(`echo-local/Echo/m${i}`)).toBe(`m${i}`);
  expect(await local()).toBe(0);

  await start(b, 'echo-remote', 'echo');
  const remote = await busCalls('echo-remote');
  for (let i = 0; i < 20; i++) expect(await relay(`echo-remote/Echo/m${i}`)).toBe(`m${i}`);
  expect(await remote()).toBe(20);

  // Stopped on a (drained), the local target is gone: callers go to b over the bus.
  await start(b, 'echo-local', 'echo');
  await lat.client.control.stopActor({ hostId: a.hostId, actorId: 'echo-local' });
  expect(await relay('echo-local/Echo/after')).toBe('after');
  expect(await local()).toBe(1);
});

test('a saturated local target sends the call over the bus (the queue group of every replica)', async () => {
  await start(a, 'busy', 'testbed', 1);
  const bus = await busCalls('busy');
  expect(await relay('busy/Log/idle')).toBe('logged'); // local while it has room
  expect(await bus()).toBe(0);
  // Occupy its one slot on a: a call that spins until its deadline.
  const spinning = lat.client.invoke('busy', 'Spin', new Uint8Array(), { timeoutMs: 3000 }).catch((e: unknown) => e);
  await until('the spin to run on host a', async () => {
    const inv = await lat.client.control.inventory(a.hostId);
    return inv.actors.some((x) => x.actorId === 'busy' && x.inFlight === 1);
  });
  await start(b, 'busy', 'testbed', 1);
  const before = await bus();
  expect(await relay('busy/Log/busy')).toBe('logged');
  expect(await bus()).toBe(before + 1);
  expect(isWasmeshError(await spinning, 'WASMESH_ERR_TIMEOUT')).toBe(true);
});

test('guest errors, deadlines and large payloads are the same through local dispatch as over the bus', async () => {
  await start(a, 'tb-local', 'testbed');
  await start(b, 'tb-remote', 'testbed');
  const local = await busCalls('tb-local');
  for (const target of ['tb-local', 'tb-remote']) {
    // A guest error reaches the caller whole.
    expect(await relay(`${target}/Fail/x`).catch((e: Error) => e.message)).toMatch(
      /relay failed: .*failing on purpose: x/,
    );
    // A response larger than a NATS message (1 MiB here) arrives whole.
    const huge = await lat.client.invoke('relay', 'Relay', Buffer.from(`${target}/Huge/3000000`));
    expect(huge.length).toBe(3_000_000);
    // The caller's deadline bounds the nested call: a spinning target times out within it.
    const started = Date.now();
    const err = await relay(`${target}/Spin/`, 1500).catch((e: unknown) => e);
    expect(isWasmeshError(err, 'WASMESH_ERR_TIMEOUT') || /timed out|deadline|TIMEOUT/i.test(String(err))).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  }
  expect(await local()).toBe(0);
}, 60_000);

test('a host with WASMESH_LOCAL_DISPATCH=0 sends its actors’ calls over the bus', async () => {
  const c = await lat.addHost({ env: { WASMESH_LOCAL_DISPATCH: '0' } });
  await lat.client.control.startActor({ hostId: c.hostId, actorId: 'relay-c', artifactRef: actorPath('testbed') });
  await start(c, 'echo-c', 'echo');
  const bus = await busCalls('echo-c');
  const out = await lat.client.invoke('relay-c', 'Relay', Buffer.from('echo-c/Echo/hi'));
  expect(Buffer.from(out).toString()).toBe('hi');
  expect(await bus()).toBe(1);
});

test('an update under HTTP load through an in-process HTTP server drops no request', async () => {
  const state = await lat.client.state();
  const port = await freePort();
  await state.putConfig('http-load', { address: `127.0.0.1:${port}` });
  await lat.client.control.startProvider({
    hostId: a.hostId,
    providerId: 'http-load',
    artifactRef: 'builtin:http-server',
    config: ['http-load'],
  });
  await start(a, 'web', 'hello', 64);
  await state.putConfig('route-web', { path: '/hello' });
  await state.putLink({
    sourceId: 'web',
    contract: ContractId.HTTPSERVER,
    targetId: 'http-load',
    config: ['route-web'],
  });
  const url = `http://127.0.0.1:${port}/hello/load`;
  await until('the route to answer', async () => (await fetch(url).catch(() => undefined))?.status === 200);

  const answers: { status: number; body: string }[] = [];
  let running = true;
  const loops = Array.from({ length: 16 }, async () => {
    while (running) {
      const res = await fetch(url).catch((e: Error) => ({ status: 0, text: async () => e.message }));
      answers.push({ status: res.status, body: await res.text() });
    }
  });
  await until('traffic to flow', () => answers.length > 200);
  // The testbed actor answers HTTP too ("GET /hello/load?…"): the update is visible in the bodies.
  await lat.client.control.updateActor({ hostId: a.hostId, actorId: 'web', artifactRef: actorPath('testbed') });
  const after = answers.length;
  await until('the new module to answer', () => answers.slice(after).some((x) => x.body.startsWith('GET /hello/load')));
  await until('more traffic after the update', () => answers.length > after + 200);
  running = false;
  await Promise.all(loops);
  expect(answers.filter((x) => x.status !== 200)).toEqual([]);
  expect(answers.filter((x) => !/^Hello, load!|^GET \/hello\/load/.test(x.body))).toEqual([]);
}, 60_000);
