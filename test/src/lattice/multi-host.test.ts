/**
 * Three host processes in one lattice: an actor started on two of them receives calls on both;
 * when one is killed with SIGKILL mid-load, calls keep succeeding on the other once the calls that
 * were in flight on it have passed their deadline, and the lost host leaves `get hosts` promptly.
 */
import { actorPath } from '../fixtures.js';
import { startLattice, until, waitForEvent, type LatticeFixture } from './fixture.js';

let lat: LatticeFixture;
const HEARTBEAT_MS = 500;

beforeAll(async () => {
  lat = await startLattice({
    hosts: [{ labels: { zone: 'a' } }, { labels: { zone: 'b' } }, { labels: { zone: 'c' } }],
  });
}, 60_000);
afterAll(async () => lat?.[Symbol.asyncDispose]());

test('hosts answer ping with their identity and labels', async () => {
  const hosts = await lat.client.control.ping();
  expect(hosts.map((h) => h.hostId).sort()).toEqual(lat.hosts.map((h) => h.hostId).sort());
  for (const h of hosts) {
    expect(h.hostId).toMatch(/^N[A-Z0-9]{55}$/);
    expect(h.friendlyName).toMatch(/^[a-z]+-[a-z]+-\d{4}$/);
    expect(h.labels['hostcore.os']).toBe(process.platform);
    expect(h.lattice).toBe(lat.lattice);
  }
  expect(hosts.map((h) => h.labels.zone).sort()).toEqual(['a', 'b', 'c']);
});

test('an actor on two hosts serves calls on both, and a SIGKILLed host is survived', async () => {
  const [a, b] = lat.hosts as [(typeof lat.hosts)[0], (typeof lat.hosts)[0]];
  const ref = await (
    await lat.client.objects()
  ).pushArtifact(await import('node:fs').then((fs) => fs.readFileSync(actorPath('echo'))));
  const events = lat.client.events({ types: ['actor_started'] });
  for (const h of [a, b])
    await lat.client.control.startActor({ hostId: h.hostId, actorId: 'echo', artifactRef: ref, maxConcurrent: 32 });
  events.close();

  const servedBy = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const r = await lat.client.invokeDetailed('echo', 'Echo', Buffer.from(`m${i}`), { timeoutMs: 2000 });
    expect(Buffer.from(r.payload).toString()).toBe(`m${i}`);
    servedBy.set(r.hostId, (servedBy.get(r.hostId) ?? 0) + 1);
  }
  expect([...servedBy.keys()].sort()).toEqual([a.hostId, b.hostId].sort());

  // Load with 8 calls in flight; kill -9 host b in the middle.
  const deadlineMs = 1500;
  const failures: { at: number; code: string }[] = [];
  let ok = 0;
  let killedAt = Number.POSITIVE_INFINITY;
  const stopAt = Date.now() + 4000;
  const worker = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      const started = Date.now();
      try {
        await lat.client.invoke('echo', 'Echo', Buffer.from('x'), { timeoutMs: deadlineMs });
        ok++;
      } catch (err) {
        failures.push({ at: started, code: (err as { code: string }).code });
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, worker));
  await new Promise((r) => setTimeout(r, 800));
  killedAt = Date.now();
  await b.kill();
  // The lost host leaves `get hosts` (a live ping) within 3 heartbeat intervals of its death.
  await until('the killed host to leave ping', async () => {
    const ids = (await lat.client.control.ping(300)).map((h) => h.hostId);
    return !ids.includes(b.hostId);
  });
  expect(Date.now() - killedAt).toBeLessThan(3 * HEARTBEAT_MS);
  await load;
  // Only calls already in flight when b died may fail (at most one per worker), and none that
  // started after it died plus the deadline.
  expect(failures.length).toBeLessThanOrEqual(8);
  for (const f of failures) expect(f.at).toBeLessThan(killedAt + deadlineMs);
  expect(ok).toBeGreaterThan(100);
  const after = await lat.client.invokeDetailed('echo', 'Echo', Buffer.from('after'));
  expect(after.hostId).toBe(a.hostId);
}, 60_000);

test('heartbeats carry the inventory at the configured interval', async () => {
  const events = lat.client.events({ types: ['host_heartbeat'] });
  const a = lat.hosts[0]!;
  const first = await waitForEvent(events, (e) => e.type === 'host_heartbeat' && e.source === a.hostId);
  const second = await waitForEvent(events, (e) => e.type === 'host_heartbeat' && e.source === a.hostId);
  events.close();
  expect(second.timeMs - first.timeMs).toBeGreaterThan(HEARTBEAT_MS * 0.5);
  expect(second.timeMs - first.timeMs).toBeLessThan(HEARTBEAT_MS * 3);
  if (first.type !== 'host_heartbeat') throw new Error('unreachable');
  expect(first.data.intervalMs).toBe(HEARTBEAT_MS);
  expect(first.data.inventory?.actors?.map((x) => x.actorId)).toContain('echo');
});

test('auction offers only hosts whose labels match and that do not run the actor yet', async () => {
  const offers = await lat.client.control.auction({ actorId: 'echo', artifactRef: 'x', constraints: {} });
  const running = new Set(
    (
      await Promise.all(
        lat.hosts
          .filter((h) => h.pid)
          .map(async (h) => {
            try {
              const inv = await lat.client.control.inventory(h.hostId);
              return inv.actors.some((x) => x.actorId === 'echo') ? h.hostId : '';
            } catch {
              return '';
            }
          }),
      )
    ).filter(Boolean),
  );
  for (const o of offers) expect(running.has(o.hostId)).toBe(false);
  const zoneC = await lat.client.control.auction({ actorId: 'other', artifactRef: 'x', constraints: { zone: 'c' } });
  expect(zoneC.map((o) => o.labels.zone)).toEqual(['c']);
  expect(
    await lat.client.control.auction({ actorId: 'other', artifactRef: 'x', constraints: { zone: 'nowhere' } }),
  ).toEqual([]);
});
