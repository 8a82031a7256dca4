/**
 * Hosts survive a nats-server restart without restarting themselves; lattices on one NATS are
 * isolated; drain finishes in-flight calls; update swaps the artifact without dropping calls.
 */
import { LatticeClient } from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import { HostProcess } from '../harness/host-process.js';
import { startLattice, uniqueLattice, until, waitForEvent, type LatticeFixture } from './fixture.js';

let lat: LatticeFixture;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
}, 60_000);
afterAll(async () => lat?.[Symbol.asyncDispose]());

async function startActor(host: HostProcess, actorId: string, file: string, client = lat.client): Promise<void> {
  await client.control.startActor({ hostId: host.hostId, actorId, artifactRef: actorPath(file), maxConcurrent: 64 });
}

test('after nats-server restarts, hosts reconnect and serve again without a restart', async () => {
  const host = lat.hosts[0]!;
  await startActor(host, 'echo', 'echo');
  expect(Buffer.from(await lat.client.invoke('echo', 'Echo', Buffer.from('before'))).toString()).toBe('before');
  const pid = host.pid;
  await lat.nats.restart();
  const waitedMs = await until(
    'calls to succeed again',
    async () => {
      try {
        return (
          Buffer.from(await lat.client.invoke('echo', 'Echo', Buffer.from('after'), { timeoutMs: 500 })).toString() ===
          'after'
        );
      } catch {
        return false;
      }
    },
    15_000,
  );
  expect(waitedMs).toBeLessThan(15_000);
  expect(host.pid).toBe(pid);
  expect((await lat.client.control.ping()).map((h) => h.hostId)).toEqual([host.hostId]);
}, 60_000);

test('two lattices on one NATS never see each other’s hosts, actors or calls', async () => {
  const other = uniqueLattice('other');
  const otherHost = await HostProcess.start({
    ...(await lat.nats.processAccess(other)),
    lattice: other,
    heartbeatMs: 500,
  });
  const otherClient = await LatticeClient.connect({ ...(await lat.nats.access(other)), lattice: other });
  try {
    await startActor(otherHost, 'only-there', 'hello', otherClient);
    const seenHere = lat.client.events();
    const heartbeat = waitForEvent(seenHere, (e) => e.source === otherHost.hostId, 1500).then(
      () => 'seen',
      () => 'not seen',
    );
    expect((await lat.client.control.ping()).map((h) => h.hostId)).not.toContain(otherHost.hostId);
    expect((await otherClient.control.ping()).map((h) => h.hostId)).toEqual([otherHost.hostId]);
    await expect(lat.client.invoke('only-there', 'SayHello', Buffer.from('x'))).rejects.toMatchObject({
      code: 'WASMESH_ERR_NO_RESPONDERS',
    });
    expect(Buffer.from(await otherClient.invoke('only-there', 'SayHello', Buffer.from('x'))).toString()).toBe(
      'Hello, x!',
    );
    await expect(otherClient.invoke('echo', 'Echo', Buffer.from('x'))).rejects.toMatchObject({
      code: 'WASMESH_ERR_NO_RESPONDERS',
    });
    expect(await heartbeat).toBe('not seen');
    seenHere.close();
  } finally {
    await otherClient.close();
    await otherHost.kill();
  }
}, 60_000);

test('update swaps the artifact while calls are in flight, dropping none', async () => {
  const host = lat.hosts[0]!;
  await startActor(host, 'svc', 'fib');
  const slow = Array.from({ length: 6 }, () =>
    lat.client.invoke('svc', 'Fib', Buffer.from('35'), { timeoutMs: 20_000 }),
  );
  await new Promise((r) => setTimeout(r, 20));
  await lat.client.control.updateActor({ hostId: host.hostId, actorId: 'svc', artifactRef: actorPath('hello') });
  const results = await Promise.all(slow);
  expect(results.map((r) => Buffer.from(r).toString())).toEqual(Array(6).fill('9227465'));
  expect(Buffer.from(await lat.client.invoke('svc', 'SayHello', Buffer.from('new'))).toString()).toBe('Hello, new!');
  const inv = await lat.client.control.inventory(host.hostId);
  const svc = inv.actors.find((a) => a.actorId === 'svc')!;
  expect(svc.revision).toBe(2);
  expect(svc.artifactRef).toBe(actorPath('hello'));
}, 60_000);

test('drain (SIGTERM) finishes in-flight calls, announces host_stopped and exits 0', async () => {
  const host = await lat.addHost();
  await startActor(host, 'busy', 'fib');
  // Only this host runs `busy`, so every call lands on it.
  const calls = Array.from({ length: 8 }, () =>
    lat.client.invoke('busy', 'Fib', Buffer.from('36'), { timeoutMs: 30_000 }),
  );
  const events = lat.client.events({ types: ['host_stopped'] });
  const stoppedEvent = waitForEvent(events, (e) => e.source === host.hostId, 30_000);
  await new Promise((r) => setTimeout(r, 50));
  const exitCode = await host.stop();
  const results = await Promise.allSettled(calls);
  expect(results.map((r) => r.status)).toEqual(Array(8).fill('fulfilled'));
  expect(results.map((r) => (r.status === 'fulfilled' ? Buffer.from(r.value).toString() : ''))).toEqual(
    Array(8).fill('14930352'),
  );
  expect(exitCode).toBe(0);
  const stopped = await stoppedEvent;
  events.close();
  expect(stopped.type).toBe('host_stopped');
  await expect(lat.client.invoke('busy', 'Fib', Buffer.from('1'))).rejects.toMatchObject({
    code: 'WASMESH_ERR_NO_RESPONDERS',
  });
}, 60_000);
