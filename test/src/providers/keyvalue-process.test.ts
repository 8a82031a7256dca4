/**
 * The keyvalue provider as its own process (`node providers/keyvalue/dist/main.js` with the
 * `WASMESH_*` environment), against a real nats-server and redis-server: it registers and
 * announces itself, answers health checks, serves linked actors, finishes in-flight calls on
 * SIGTERM and exits 0, stops when its host goes away (stdin EOF), and refuses to start without an
 * id.
 */
import { spawn } from 'node:child_process';
import { controlRequest, decode, LatticeClient, type LatticeEvent, type LinkState } from '@wasmesh/lattice';
import { lattice as pb } from '@wasmesh/proto';
import { NatsServer } from '../harness/nats-server.js';
import { keyValueProviderBin, ProviderProcess } from '../harness/provider-process.js';
import { RedisServer } from '../harness/redis-server.js';
import { uniqueLattice, waitForEvent } from '../lattice/fixture.js';
import { keyValueClient, rejection } from './helpers.js';

const CONTRACT = 'wasmesh:keyvalue';

let nats: NatsServer;
let redis: RedisServer;
let client: LatticeClient;
let state: LinkState;
let events: AsyncIterable<LatticeEvent> & { close(): void };
const children: ProviderProcess[] = [];

beforeAll(async () => {
  [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
  const lattice = uniqueLattice('kvproc');
  client = await LatticeClient.connect({ ...(await nats.access(lattice)), lattice, name: 'kvproc-test' });
  state = await client.state();
  events = client.events({ types: ['provider_started', 'provider_stopped', 'link_status'] });
  await state.putConfig('redis', { backend: 'redis', url: redis.url });
});

afterAll(async () => {
  events?.close();
  await Promise.all(children.map((c) => c.kill()));
  await client?.close();
  await redis?.stop();
  await nats?.[Symbol.asyncDispose]();
});

async function startProvider(providerId: string, hostId?: string): Promise<ProviderProcess> {
  const child = await ProviderProcess.start({
    ...(await nats.processAccess(client.lattice, 'provider', providerId)),
    lattice: client.lattice,
    providerId,
    ...(hostId ? { hostId } : {}),
  });
  children.push(child);
  return child;
}

test('a provider process registers, answers health checks, serves links, and drains on SIGTERM', async () => {
  const child = await startProvider('kv-proc');
  const started = await waitForEvent(
    events,
    (e) => e.type === 'provider_started' && e.data.provider?.providerId === 'kv-proc',
  );
  expect(started.type === 'provider_started' && started.data.provider).toMatchObject({
    contract: CONTRACT,
    instance: child.pid,
  });
  expect(await state.providers.get('kv-proc')).toMatchObject({ contract: CONTRACT, instance: child.pid });
  expect(JSON.parse(child.stdout())).toMatchObject({ providerId: 'kv-proc', contract: CONTRACT, pid: child.pid });

  const health = decode(
    pb.ProviderHealth,
    await controlRequest(client.nc, client.subjects.providerHealth('kv-proc'), new Uint8Array(), {
      timeoutMs: 5000,
      what: 'health check',
    }),
    'health',
  );
  expect(health).toMatchObject({ providerId: 'kv-proc', healthy: true });

  const linked = waitForEvent(events, (e) => e.type === 'link_status' && e.data.link?.sourceId === 'counter');
  await state.putLink({ sourceId: 'counter', contract: CONTRACT, targetId: 'kv-proc', config: ['redis'] });
  expect((await linked).type === 'link_status' && (await linked).data).toMatchObject({ ok: true });
  const kv = keyValueClient(client, 'kv-proc', 'counter');
  expect(await kv.increment('warm-up')).toBe(1);

  // Hold Redis writes, so the increments below are in flight when SIGTERM arrives.
  expect(await redis.command(['CLIENT', 'PAUSE', '1500', 'WRITE'])).toBe('+OK');
  const pending = Array.from({ length: 50 }, () => kv.increment('during-drain'));
  await client.nc.flush();
  await new Promise((r) => setTimeout(r, 300));
  const stoppedAt = Date.now();
  const code = child.stop('SIGTERM');
  const values = await Promise.all(pending);
  expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(await code).toBe(0);
  expect(Date.now() - stoppedAt).toBeGreaterThan(500); // it waited for the paused writes

  const stopped = await waitForEvent(events, (e) => e.type === 'provider_stopped' && e.data.providerId === 'kv-proc');
  expect(stopped.type === 'provider_stopped' && stopped.data.reason).toBe('signal SIGTERM');
  expect(await state.providers.get('kv-proc')).toBeUndefined();
  expect(await redis.command(['GET', 'during-drain'])).toBe('50');
  expect((await rejection(kv.get('x'))).code).toBe('WASMESH_ERR_NO_RESPONDERS');
  expect(child.logs()).toContain('provider draining');
});

test('a provider under a host stops when its stdin ends (the host is gone)', async () => {
  const child = await startProvider('kv-hosted', 'NHOSTFAKE');
  expect(await state.providers.get('kv-hosted')).toMatchObject({ hostId: 'NHOSTFAKE', instance: child.pid });
  child.closeStdin();
  expect(await child.exited).toBe(0);
  const stopped = await waitForEvent(events, (e) => e.type === 'provider_stopped' && e.data.providerId === 'kv-hosted');
  expect(stopped.type === 'provider_stopped' && stopped.data).toMatchObject({
    hostId: 'NHOSTFAKE',
    reason: expect.stringContaining('stdin'),
  });
  expect(await state.providers.get('kv-hosted')).toBeUndefined();
});

test('without WASMESH_PROVIDER_ID the process exits 2 with a one-line error', async () => {
  const { natsUrl, creds, tlsCa } = await nats.processAccess(client.lattice, 'provider');
  const child = spawn(process.execPath, [keyValueProviderBin], {
    env: {
      PATH: process.env.PATH ?? '',
      WASMESH_NATS_URL: natsUrl,
      WASMESH_NATS_CREDS: creds ?? '',
      WASMESH_NATS_CA: tlsCa ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(stderr).toMatch(/^wasmesh: WASMESH_ERR_CONFIG: no provider id: set WASMESH_PROVIDER_ID/m);
});
