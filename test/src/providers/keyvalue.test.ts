/**
 * The keyvalue provider (run in this process) against a real nats-server and a real
 * redis-server: every operation on both backends, atomic increments under contention, keys by
 * prefix, compare-and-set, TTLs, missing links, refused config and live config changes.
 */
import { Kvm } from '@nats-io/kv';
import { controlRequest, decode, LatticeClient, type LatticeEvent, type LinkState } from '@wasmesh/lattice';
import { lattice as pb } from '@wasmesh/proto';
import { createKeyValueProvider, type KeyValueBackend } from '@wasmesh/provider-keyvalue';
import type { Provider } from '@wasmesh/provider-sdk';
import { freePort, RedisServer } from '../harness/redis-server.js';
import { NatsServer } from '../harness/nats-server.js';
import { uniqueLattice, until, waitForEvent } from '../lattice/fixture.js';
import { keyValueClient, rejection, testLogger } from './helpers.js';

const CONTRACT = 'wasmesh:keyvalue';
const PROVIDER = 'kv-provider';

let nats: NatsServer;
let redis: RedisServer;
let client: LatticeClient;
let state: LinkState;
let provider: Provider<KeyValueBackend>;
let events: AsyncIterable<LatticeEvent> & { close(): void };

beforeAll(async () => {
  [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
  const lattice = uniqueLattice('kv');
  client = await LatticeClient.connect({ ...(await nats.access(lattice)), lattice, name: 'kv-test' });
  state = await client.state();
  events = client.events({ types: ['link_status'] });
  provider = createKeyValueProvider({
    ...(await nats.processAccess(lattice, 'provider', PROVIDER)),
    lattice,
    providerId: PROVIDER,
    logger: testLogger(),
    drainTimeoutMs: 2000,
  });
  await provider.start();
  await state.putConfig('kv-nats', { backend: 'nats' });
  await state.putConfig('kv-redis', { backend: 'redis', url: redis.url });
});

afterAll(async () => {
  events?.close();
  await provider?.close();
  await client?.close();
  await redis?.stop();
  await nats?.[Symbol.asyncDispose]();
});

/** Links `actor` (link `name`) to the provider with `config`, and waits for the provider's verdict. */
async function link(
  actor: string,
  config: string[],
  name = 'default',
): Promise<Extract<LatticeEvent, { type: 'link_status' }>> {
  const verdict = waitForEvent(
    events,
    (e) => e.type === 'link_status' && e.data.link?.sourceId === actor && (e.data.link?.name ?? '') === name,
  );
  await state.putLink({ sourceId: actor, contract: CONTRACT, name, targetId: PROVIDER, config });
  return (await verdict) as Extract<LatticeEvent, { type: 'link_status' }>;
}

describe.each([
  ['nats', 'kv-nats'],
  ['redis', 'kv-redis'],
])('the %s backend', (backend, config) => {
  const actor = `app-${backend}`;
  let kv: ReturnType<typeof keyValueClient>;

  beforeAll(async () => {
    const status = await link(actor, [config]);
    expect(status.data.ok).toBe(true);
    kv = keyValueClient(client, PROVIDER, actor);
  });

  test('get, set, exists and delete, with binary values and keys of any text', async () => {
    const key = 'user:42 ü/x.y*=[z]';
    expect(await kv.get(key)).toBeUndefined();
    expect(await kv.exists(key)).toBe(false);
    const bytes = Uint8Array.from([0, 1, 2, 255, 254, 10, 13]);
    await kv.set(key, bytes);
    expect(await kv.get(key)).toEqual(Buffer.from(bytes));
    expect(await kv.exists(key)).toBe(true);
    await kv.set(key, 'replaced');
    expect(await kv.getText(key)).toBe('replaced');
    await kv.set('empty', new Uint8Array());
    expect(await kv.getText('empty')).toBe('');
    expect(await kv.delete(key)).toBe(true);
    expect(await kv.delete(key)).toBe(false);
    expect(await kv.get(key)).toBeUndefined();
    expect(await kv.exists(key)).toBe(false);
    const bad = await rejection(kv.get(''));
    expect(bad.code).toBe('WASMESH_ERR_BAD_REQUEST');
  });

  test('increment: absent is 0, delta 0 counts as 1, negative deltas, and only integers', async () => {
    expect(await kv.increment('inc', 0)).toBe(1);
    expect(await kv.increment('inc', 41)).toBe(42);
    expect(await kv.increment('inc', -50)).toBe(-8);
    expect(await kv.getText('inc')).toBe('-8');
    await kv.set('text', 'hello');
    const err = await rejection(kv.increment('text'));
    expect(err.code).toBe('WASMESH_ERR_CONFLICT');
    expect(err.message).toContain('not an integer');
  });

  test('500 concurrent increments of one key give exactly 500, each caller its own value', async () => {
    const values = await Promise.all(Array.from({ length: 500 }, () => kv.increment('hot')));
    expect(await kv.getText('hot')).toBe('500');
    expect(new Set(values).size).toBe(500);
    expect(Math.max(...values)).toBe(500);
    expect(Math.min(...values)).toBe(1);
  });

  test('an increment after a set or a delete of its key counts from the value now stored', async () => {
    expect(await kv.increment('mixed')).toBe(1);
    expect(await kv.increment('mixed')).toBe(2);
    await kv.set('mixed', '100');
    expect(await kv.increment('mixed')).toBe(101);
    await kv.delete('mixed');
    expect(await kv.increment('mixed')).toBe(1);
  });

  test('keys by prefix, sorted, with a limit', async () => {
    await Promise.all(['p:c', 'p:a', 'p:b', 'p:*', 'q:a', 'pz'].map((k) => kv.set(k, 'v')));
    expect(await kv.keys('p:')).toEqual(['p:*', 'p:a', 'p:b', 'p:c']);
    expect(await kv.keys('p:', 2)).toEqual(['p:*', 'p:a']);
    expect(await kv.keys('p:*')).toEqual(['p:*']);
    expect(await kv.keys('none:')).toEqual([]);
    await kv.delete('p:b');
    expect(await kv.keys('p:')).toEqual(['p:*', 'p:a', 'p:c']);
  });

  test('compare-and-set: absent, equal, different, and only one of racing writers wins', async () => {
    expect(await kv.compareAndSet('cas', null, 'one')).toBe(true);
    expect(await kv.compareAndSet('cas', null, 'again')).toBe(false);
    expect(await kv.compareAndSet('cas', 'other', 'two')).toBe(false);
    expect(await kv.compareAndSet('cas', 'one', 'two')).toBe(true);
    expect(await kv.getText('cas')).toBe('two');
    await kv.delete('cas');
    expect(await kv.compareAndSet('cas', 'two', 'three')).toBe(false);
    const winners = await Promise.all(Array.from({ length: 20 }, (_, i) => kv.compareAndSet('race', null, `w${i}`)));
    expect(winners.filter(Boolean)).toHaveLength(1);
    const winner = winners.indexOf(true);
    expect(await kv.getText('race')).toBe(`w${winner}`);
  });

  test('a key set with a TTL expires', async () => {
    const supported = backend === 'redis' || /^2\.(1[1-9]|[2-9]\d)\./.test(client.nc.info?.version ?? '');
    if (!supported) {
      expect((await rejection(kv.set('ttl', 'x', 1))).code).toBe('WASMESH_ERR_UNAVAILABLE');
      return;
    }
    await kv.set('ttl', 'short-lived', 1);
    await kv.set('kept', 'forever');
    expect(await kv.getText('ttl')).toBe('short-lived');
    await until('the key to expire', async () => (await kv.get('ttl')) === undefined, 10_000);
    expect(await kv.exists('ttl')).toBe(false);
    expect(await kv.keys('ttl')).toEqual([]);
    expect(await kv.getText('kept')).toBe('forever');
  });
});

test('the nats backend keeps each actor in its own bucket by default', async () => {
  const buckets = await Promise.all(
    provider.links().map(async (l) => (l.resource?.kind === 'nats' ? l.resource.description : undefined)),
  );
  expect(buckets).toContain(`JetStream KV bucket wasmesh_${client.lattice}_kv_app-nats`);
});

test('a call from an actor without a link is WASMESH_ERR_NO_LINK naming actor, contract and link', async () => {
  const err = await rejection(keyValueClient(client, PROVIDER, 'stranger', 'cache').get('k'));
  expect(err.code).toBe('WASMESH_ERR_NO_LINK');
  expect(err.message).toContain('"stranger"');
  expect(err.message).toContain(CONTRACT);
  expect(err.message).toContain('"cache"');
  // (details.actor is the invoked provider: the caller's context overrides the remote details.)
  expect(err.details).toMatchObject({ contract: CONTRACT, link: 'cache', provider: PROVIDER });
});

test('an operation outside the contract is WASMESH_ERR_UNKNOWN_OPERATION; a malformed request is BAD_REQUEST', async () => {
  await link('ops-actor', ['kv-nats']);
  const call = (op: string, payload: Uint8Array) =>
    client.invoke({ provider: PROVIDER }, op, payload, { source: 'ops-actor', timeoutMs: 5000 });
  const unknown = await rejection(call('KeyValue.Frobnicate', new Uint8Array()));
  expect(unknown.code).toBe('WASMESH_ERR_UNKNOWN_OPERATION');
  expect(unknown.message).toContain('KeyValue.Frobnicate');
  const malformed = await rejection(call('KeyValue.Get', Uint8Array.from([0x0a, 0x10, 0x41])));
  expect(malformed.code).toBe('WASMESH_ERR_BAD_REQUEST');
  // A malformed envelope gets an error reply too, not silence.
  const msg = await client.nc.request(client.subjects.provider(PROVIDER), Uint8Array.from([0xff, 0xff, 0xff]), {
    timeout: 5000,
  });
  expect(decode(pb.InvocationResult, msg.data, 'reply').error?.code).toBe('WASMESH_ERR_BAD_REQUEST');
});

test('config the provider refuses reaches the user as a failed link_status, and fixing the config heals the link', async () => {
  await state.putConfig('bad-backend', { backend: 'cassandra' });
  const refused = await link('refused-actor', ['bad-backend']);
  expect(refused.data.ok).toBe(false);
  expect(refused.data.providerId).toBe(PROVIDER);
  expect(refused.data.error?.code).toBe('WASMESH_ERR_CONFIG');
  expect(refused.data.error?.message).toContain('"cassandra"');
  // Calls on the refused link say why.
  const err = await rejection(keyValueClient(client, PROVIDER, 'refused-actor').get('k'));
  expect(err.code).toBe('WASMESH_ERR_CONFIG');
  expect(err.message).toContain('cassandra');

  const healed = waitForEvent(events, (e) => e.type === 'link_status' && e.data.link?.sourceId === 'refused-actor');
  await state.putConfig('bad-backend', { backend: 'nats' });
  expect(((await healed) as Extract<LatticeEvent, { type: 'link_status' }>).data.ok).toBe(true);
  expect(await keyValueClient(client, PROVIDER, 'refused-actor').increment('k')).toBe(1);
});

test('a Redis that cannot be reached, a bad URL, and a key for the other backend are refused with the reason', async () => {
  const port = await freePort();
  await state.putConfig('redis-down', { backend: 'redis', url: `redis://127.0.0.1:${port}` });
  const down = await link('down-actor', ['redis-down']);
  expect(down.data.ok).toBe(false);
  expect(down.data.error?.code).toBe('WASMESH_ERR_CONFIG');
  expect(down.data.error?.message).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);

  await state.putConfig('redis-bad-url', { backend: 'redis', url: 'http://127.0.0.1:6379' });
  const badUrl = await link('bad-url-actor', ['redis-bad-url']);
  expect(badUrl.data.error?.message).toContain('redis://');

  await state.putConfig('url-without-backend', { url: redis.url });
  const misplaced = await link('misplaced-actor', ['url-without-backend']);
  expect(misplaced.data.ok).toBe(false);
  expect(misplaced.data.error?.message).toContain('set backend=redis');
});

test('nats: increments count from what another writer put in the bucket meanwhile', async () => {
  await state.putConfig('shared-nats', { bucket: 'shared_counters' });
  await link('shared-actor', ['shared-nats']);
  const viaProvider = keyValueClient(client, PROVIDER, 'shared-actor');
  const bucket = await new Kvm(client.nc).open('shared_counters');
  expect(await viaProvider.increment('c')).toBe(1);
  expect(await viaProvider.increment('c')).toBe(2);
  await bucket.put('c', '40');
  expect(await viaProvider.increment('c')).toBe(41);
  await bucket.delete('c');
  expect(await viaProvider.increment('c')).toBe(1);
  await bucket.put('c', 'not a number');
  expect((await rejection(viaProvider.increment('c'))).code).toBe('WASMESH_ERR_CONFLICT');
});

test('changing the config a link uses switches its bucket or prefix without a restart', async () => {
  await state.putConfig('switch-nats', { bucket: 'switch_a' });
  await state.putConfig('switch-redis', { backend: 'redis', url: redis.url, prefix: 'a:' });
  await link('switch-actor', ['switch-nats'], 'nats');
  await link('switch-actor', ['switch-redis'], 'redis');
  const viaNats = keyValueClient(client, PROVIDER, 'switch-actor', 'nats');
  const viaRedis = keyValueClient(client, PROVIDER, 'switch-actor', 'redis');
  expect(await viaNats.increment('n')).toBe(1);
  expect(await viaNats.increment('n')).toBe(2);
  expect(await viaRedis.increment('n')).toBe(1);
  expect(await viaRedis.increment('n')).toBe(2);

  const applied = (name: string) =>
    waitForEvent(
      events,
      (e) => e.type === 'link_status' && e.data.link?.sourceId === 'switch-actor' && e.data.link.name === name,
    );
  let next = applied('nats');
  await state.putConfig('switch-nats', { bucket: 'switch_b' });
  expect(((await next) as Extract<LatticeEvent, { type: 'link_status' }>).data.ok).toBe(true);
  next = applied('redis');
  await state.putConfig('switch-redis', { backend: 'redis', url: redis.url, prefix: 'b:' });
  expect(((await next) as Extract<LatticeEvent, { type: 'link_status' }>).data.ok).toBe(true);

  expect(await viaNats.increment('n')).toBe(1);
  expect(await viaRedis.increment('n')).toBe(1);
  expect(await redis.command(['GET', 'a:n'])).toBe('2');
  expect(await redis.command(['GET', 'b:n'])).toBe('1');
  // Back to the first bucket: its data is still there.
  next = applied('nats');
  await state.putConfig('switch-nats', { bucket: 'switch_a' });
  await next;
  expect(await viaNats.increment('n')).toBe(3);
});

test('a deleted link stops serving its actor', async () => {
  await link('gone-actor', ['kv-nats']);
  const kv = keyValueClient(client, PROVIDER, 'gone-actor');
  await kv.set('k', 'v');
  await state.deleteLink('gone-actor', CONTRACT);
  // The provider learns of the delete from its watcher, a moment later.
  await until('the provider to drop the link', () => !provider.links().some((l) => l.link.sourceId === 'gone-actor'));
  expect((await rejection(kv.get('k'))).code).toBe('WASMESH_ERR_NO_LINK');
});

test('health checks answer healthy', async () => {
  const body = await controlRequest(client.nc, client.subjects.providerHealth(PROVIDER), new Uint8Array(), {
    timeoutMs: 5000,
    what: 'health check',
  });
  const health = decode(pb.ProviderHealth, body, 'health');
  expect(health.providerId).toBe(PROVIDER);
  expect(health.healthy).toBe(true);
});
