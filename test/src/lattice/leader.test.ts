/**
 * Leader election on JetStream KV against a real nats-server: one leader among contenders; a
 * leader that closes hands over at once; a leader whose process dies (its connection cut without
 * goodbye) is replaced once its lease expires and, cut off, stops leading by itself; a stolen
 * lease demotes the holder.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, LeaderElection, openBucket, Subjects } from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import { NatsServer } from '../harness/nats-server.js';
import { uniqueLattice, until } from './fixture.js';

const LEASE_MS = 600;

let nats: NatsServer;
const connections: NatsConnection[] = [];
const elections: LeaderElection[] = [];

beforeAll(async () => {
  nats = await NatsServer.start();
});

afterAll(async () => {
  await Promise.all(elections.map((e) => e.close().catch(() => undefined)));
  await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
  await nats?.[Symbol.asyncDispose]();
});

/** `n` candidates for one role, each on its own connection (as separate processes would be). */
async function candidates(n: number, role = 'reconciler') {
  const subjects = new Subjects(uniqueLattice('leader'));
  const access = await nats.access(subjects.lattice);
  const log: string[] = [];
  const list: { election: LeaderElection; nc: NatsConnection }[] = [];
  for (let i = 0; i < n; i++) {
    const nc = await connectNats({ ...access, name: `candidate c${i}`, reconnect: false });
    connections.push(nc);
    const election = new LeaderElection(nc, subjects, {
      role,
      candidateId: `c${i}`,
      leaseMs: LEASE_MS,
      onElected: (term) => log.push(`c${i} elected ${term}`),
      onDemoted: (why) => log.push(`c${i} demoted: ${why}`),
    });
    elections.push(election);
    list.push({ election, nc });
  }
  await Promise.all(list.map((c) => c.election.start()));
  return { subjects, log, list };
}

const leaders = <T extends { election: LeaderElection }>(list: T[]): T[] => list.filter((c) => c.election.isLeader);

test('exactly one of several candidates leads, and keeps leading', async () => {
  const { list, log } = await candidates(3);
  await until('a leader', () => leaders(list).length === 1);
  const first = leaders(list)[0]!;
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, LEASE_MS / 4));
    expect(leaders(list)).toEqual([first]);
  }
  expect(log.filter((l) => l.includes('elected'))).toHaveLength(1);
  expect(await first.election.holder()).toMatchObject({ term: 1 });
});

test('a leader that closes hands over within one check interval', async () => {
  const { list } = await candidates(2);
  await until('a leader', () => leaders(list).length === 1);
  const old = leaders(list)[0]!;
  const closed = Date.now();
  await old.election.close();
  expect(old.election.state).toBe('stopped');
  const took = await until('another leader', () => leaders(list).length === 1 && leaders(list)[0] !== old);
  expect(Date.now() - closed).toBeLessThan(LEASE_MS);
  expect(took).toBeLessThan(LEASE_MS);
  expect(await leaders(list)[0]!.election.holder()).toMatchObject({ term: 2 });
});

test('a leader that dies is replaced after its lease expires; cut off, it stops leading by itself', async () => {
  const { list, log } = await candidates(2);
  await until('a leader', () => leaders(list).length === 1);
  const old = leaders(list)[0]!;
  const other = list.find((c) => c !== old)!;
  const cut = Date.now();
  await old.nc.close(); // no goodbye: the lease stays until it expires
  await until('the other to lead', () => other.election.isLeader, 5 * LEASE_MS);
  const takeover = Date.now() - cut;
  expect(takeover).toBeGreaterThan(LEASE_MS / 2);
  expect(takeover).toBeLessThan(LEASE_MS * 2 + 500);
  await until('the cut-off leader to step down', () => !old.election.isLeader, 2 * LEASE_MS);
  expect(leaders(list)).toEqual([other]);
  expect(log.some((l) => l.startsWith(`${old.election === list[0]!.election ? 'c0' : 'c1'} demoted`))).toBe(true);
});

test('a leader that finds someone else holding the lease is demoted at once', async () => {
  const { list, subjects } = await candidates(1, 'stolen');
  const [only] = list;
  await until('it leads', () => only!.election.isLeader);
  const bucket = await openBucket(only!.nc, subjects, 'leases', lattice.Lease);
  await bucket.put('stolen', {
    holderId: 'thief',
    expiresAtMs: Date.now() + 60_000,
    term: 99,
    acquiredAtMs: Date.now(),
  });
  await until('it steps down', () => !only!.election.isLeader, 2 * LEASE_MS);
  expect(only!.election.state).toBe('following');
  expect(await only!.election.holder()).toMatchObject({ holderId: 'thief' });
});

test('bad options are refused', () => {
  const fake = {} as NatsConnection;
  expect(() => new LeaderElection(fake, new Subjects('x'), { role: 'r', candidateId: 'c', leaseMs: 5 })).toThrow(
    'leaseMs must be a whole number of at least 100, got 5',
  );
  expect(() => new LeaderElection(fake, new Subjects('x'), { role: 'a.b', candidateId: 'c' })).toThrow('role');
});
