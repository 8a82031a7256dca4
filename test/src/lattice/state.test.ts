/**
 * Lattice building blocks against a real nats-server: state buckets in JetStream KV with
 * watchers, subject validation, and the event codec.
 */
import { decodeEvent, encodeEvent, LatticeClient, openBucket, Subjects, type StateChange } from '@wasmesh/lattice';
import { lattice as pb } from '@wasmesh/proto';
import { NatsServer } from '../harness/nats-server.js';
import { uniqueLattice } from './fixture.js';

let nats: NatsServer;
let client: LatticeClient;

beforeAll(async () => {
  nats = await NatsServer.start();
  const lattice = uniqueLattice('state');
  client = await LatticeClient.connect({ ...(await nats.access(lattice)), lattice });
});
afterAll(async () => {
  await client?.close();
  await nats?.[Symbol.asyncDispose]();
});

test('a state bucket stores typed values per lattice, and watchers see every change', async () => {
  const bucket = await openBucket(client.nc, client.subjects, 'claims', pb.Claims);
  expect(bucket.name).toBe(`wasmesh_${client.lattice}_claims`);
  await bucket.put('before', { actorId: 'before', digest: 'sha256:0', claims: {} });
  const seen: StateChange<pb.IClaims>[] = [];
  const watching = (async () => {
    for await (const change of bucket.watch({ includeExisting: true })) {
      seen.push(change);
      if (seen.length === 3) return;
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  await bucket.put('echo', { actorId: 'echo', digest: 'sha256:1', claims: { name: 'echo' } });
  await bucket.delete('before');
  await watching;
  expect(seen.map((c) => [c.op, c.key])).toEqual([
    ['put', 'before'],
    ['put', 'echo'],
    ['del', 'before'],
  ]);
  const first = seen[1]!;
  expect(first.op === 'put' && first.value.claims).toEqual({ name: 'echo' });
  expect(await bucket.get('before')).toBeUndefined();
  expect([...(await bucket.entries()).keys()]).toEqual(['echo']);
  // Another lattice has its own bucket.
  const other = await openBucket(client.nc, new Subjects(uniqueLattice('other')), 'claims', pb.Claims);
  expect(await other.get('echo')).toBeUndefined();
});

test('names that would widen a subject are refused where subjects are built', () => {
  for (const bad of ['a.b', 'a b', '*', '>', '', 'x'.repeat(129)]) {
    expect(() => new Subjects(bad)).toThrow(expect.objectContaining({ code: 'WASMESH_ERR_INVALID_NAME' }));
    expect(() => new Subjects('ok').actor(bad)).toThrow(expect.objectContaining({ code: 'WASMESH_ERR_INVALID_NAME' }));
  }
  const s = new Subjects('prod');
  expect(s.actor('echo')).toBe('wasmesh.rpc.v1.prod.echo');
  expect(s.provider('echo')).toBe('wasmesh.rpc.v1.prod.provider.echo');
  expect(s.control('actor.start', 'NABC')).toBe('wasmesh.ctl.v1.prod.actor.start.NABC');
  expect(s.control('host.ping')).toBe('wasmesh.ctl.v1.prod.host.ping');
  expect(s.event('host_heartbeat', 'N1')).toBe('wasmesh.evt.v1.prod.host_heartbeat.N1');
  expect(s.eventsOf('host_heartbeat')).toBe('wasmesh.evt.v1.prod.host_heartbeat.*');
});

test('events round-trip through the codec, and malformed ones are refused', () => {
  const bytes = encodeEvent('labels_changed', 'NHOST', { hostId: 'NHOST', labels: { zone: 'a' } });
  const e = decodeEvent(bytes);
  expect(e).toMatchObject({ type: 'labels_changed', source: 'NHOST', data: { labels: { zone: 'a' } } });
  expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
  expect(() => decodeEvent(new Uint8Array([0x0a, 0x09, 0x41]))).toThrow(
    expect.objectContaining({ code: 'WASMESH_ERR_BAD_REQUEST' }),
  );
  expect(() => decodeEvent(pb.Event.encode({ id: 'x' }).finish())).toThrow(/no known body/);
});
