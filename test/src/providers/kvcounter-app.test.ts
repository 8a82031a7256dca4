/**
 * The first application end to end, all real processes: two hosts run the `kvcounter` actor; one
 * host supervises the http-server provider, the other the keyvalue provider; a real nats-server
 * and a real redis-server. `GET /<backend>/counter/<name>` over HTTP increments a counter in
 * NATS KV or in Redis. Also: exact counts under 500 concurrent requests, providers killed with
 * SIGKILL coming back, links deleted and re-added under traffic, and a provider that never
 * answers an actor's call. All of it with the built-in providers in each mode: inside the host
 * processes (in-process: HTTP requests reach the actor on the HTTP host by local dispatch) and as
 * processes of their own (only there can a provider be SIGKILLed apart from its host).
 */
import { readFileSync } from 'node:fs';
import type { ControlClient, LinkState } from '@wasmesh/lattice';
import { actorPath, providerFixturePath } from '../fixtures.js';
import { RedisServer } from '../harness/redis-server.js';
import { isGone } from '../harness/processes.js';
import { until, type EventLog, type LatticeFixture } from '../lattice/fixture.js';
import { startHttpLattice, type HttpLattice } from './helpers.js';

describe.each(['in-process', 'process'] as const)('built-in providers %s', (mode) => {
  let lat: LatticeFixture;
  let redis: RedisServer;
  let state: LinkState;
  let control: ControlClient;
  let events: EventLog;
  let base: string;

  const KV = 'wasmesh:keyvalue';
  const HTTP = 'wasmesh:httpserver';

  beforeAll(async () => {
    let f: HttpLattice;
    [f, redis] = await Promise.all([
      startHttpLattice(mode, ['link_status', 'provider_started'], 30_000),
      RedisServer.start(),
    ]);
    ({ lat, state, control, events, base } = f);
    const [a, b] = f.hosts;
    await control.startProvider({ hostId: b.hostId, providerId: 'kv', artifactRef: 'builtin:keyvalue', mode });
    const inv = await lat.client.control.inventory(a.hostId);
    expect(inv.providers.find((p) => p.providerId === 'http')?.mode).toBe(mode);

    const ref = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('kvcounter')));
    for (const actorId of ['counter-nats', 'counter-redis'])
      for (const h of [a, b])
        await control.startActor({ hostId: h.hostId, actorId, artifactRef: ref, maxConcurrent: 64 });

    await state.putConfig('kv-nats', { backend: 'nats' });
    await state.putConfig('kv-redis', { backend: 'redis', url: redis.url });
    await state.putConfig('route-nats', { path: '/nats', strip_prefix: 'true' });
    await state.putConfig('route-redis', { path: '/redis', strip_prefix: 'true' });
    for (const backend of ['nats', 'redis']) {
      await link(`counter-${backend}`, 'kv', KV, [`kv-${backend}`]);
      await link(`counter-${backend}`, 'http', HTTP, [`route-${backend}`]);
    }
  }, 90_000);

  afterAll(async () => {
    events?.close();
    await lat?.[Symbol.asyncDispose]();
    await redis?.stop();
  });

  /** Puts a link and waits until the provider accepted it. */
  async function link(actor: string, provider: string, contract: string, config: string[]): Promise<void> {
    const from = events.events.length;
    await state.putLink({ sourceId: actor, contract, targetId: provider, config });
    const verdict = await events.find(
      (e) => e.type === 'link_status' && e.data.link?.sourceId === actor && e.data.link?.contract === contract,
      10_000,
      from,
    );
    expect(verdict.type === 'link_status' && verdict.data.ok).toBe(true);
  }

  /** GETs `path`; `timeoutMs` bounds the wait (a request in flight when its provider is killed waits for its deadline). */
  async function get(path: string, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  }

  describe.each(['nats', 'redis'])('kvcounter on %s', (backend) => {
    test('GET /counter/<name> counts up, per name', async () => {
      expect(await get(`/${backend}/counter/visits`)).toEqual({ status: 200, body: '1\n' });
      expect(await get(`/${backend}/counter/visits`)).toEqual({ status: 200, body: '2\n' });
      expect(await get(`/${backend}/counter/other`)).toEqual({ status: 200, body: '1\n' });
      expect(await get(`/${backend}/nothing`)).toEqual({ status: 404, body: 'try GET /counter/<name>\n' });
    });

    test('500 concurrent requests for one counter give exactly 500, each a different count', async () => {
      const answers = await Promise.all(Array.from({ length: 500 }, () => get(`/${backend}/counter/hot`)));
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
      const counts = answers.map((a) => Number(a.body));
      expect(new Set(counts).size).toBe(500);
      expect(Math.max(...counts)).toBe(500);
      expect(await get(`/${backend}/counter/hot`)).toEqual({ status: 200, body: '501\n' });
    }, 60_000);
  });

  test('the counters are shared by both hosts: requests are served by either', async () => {
    const served = new Set<string>();
    const sub = lat.client.events({ types: ['actor_started'] });
    sub.close();
    for (let i = 0; i < 40; i++) {
      const r = await lat.client.invokeDetailed('counter-nats', 'HttpServer.HandleRequest', new Uint8Array(), {
        timeoutMs: 5000,
      });
      served.add(r.hostId);
    }
    expect(served.size).toBe(2);
  });

  // Only a provider process can be SIGKILLed apart from its host (in-process faults: in-process.test.ts).
  if (mode === 'process') {
    test('a provider killed with SIGKILL is restarted by its host and serves again within seconds', async () => {
      for (const providerId of ['http', 'kv']) {
        const before = (await state.providers.get(providerId))!.instance!;
        process.kill(before, 'SIGKILL');
        await until(`${providerId} to die`, () => isGone(before));
        const down = Date.now();
        let last: unknown;
        await until(
          `${providerId} to serve again`,
          async () =>
            (last = await get('/nats/counter/restarts', 2000).catch((e: Error) => ({ status: 0, body: e.message })))
              .status === 200,
          15_000,
        ).catch((err: Error) => {
          const logs = lat.hosts.map((h) => h.logs().split('\n').slice(-40).join('\n')).join('\n----\n');
          throw new Error(`${err.message}; last answer ${JSON.stringify(last)}\n${logs}`);
        });
        // It registers right after it starts serving.
        await until(`a new ${providerId} process to register`, async () => {
          const pid = (await state.providers.get(providerId))?.instance;
          return pid !== undefined && pid !== before;
        });
        expect(Date.now() - down).toBeLessThan(10_000);
      }
    }, 40_000);
  }

  test('links deleted under traffic turn requests into clear errors; re-adding them restores service', async () => {
    const seen: { status: number; body: string }[] = [];
    let running = true;
    const traffic = (async () => {
      while (running)
        seen.push(await get('/nats/counter/traffic').catch((e: Error) => ({ status: 0, body: e.message })));
    })();
    await until('traffic to flow', () => seen.some((s) => s.status === 200));

    const cut = seen.length;
    await state.deleteLink('counter-nats', KV, 'default');
    await until('requests to fail without the kv link', () => seen.slice(cut).some((s) => s.status === 503));
    const noLink = seen.slice(cut).find((s) => s.status === 503)!;
    expect(noLink.body).toContain('WASMESH_ERR_NO_LINK');
    expect(noLink.body).toContain('counter-nats');
    await link('counter-nats', 'kv', KV, ['kv-nats']);
    const restored = seen.length;
    await until('requests to succeed again', () => seen.slice(restored).some((s) => s.status === 200));

    const cut2 = seen.length;
    await state.deleteLink('counter-nats', HTTP, 'default');
    await until('requests to get 404 without the http link', () => seen.slice(cut2).some((s) => s.status === 404));
    expect(seen.slice(cut2).find((s) => s.status === 404)!.body).toContain('no route for host');
    await link('counter-nats', 'http', HTTP, ['route-nats']);
    const restored2 = seen.length;
    await until('requests to succeed after re-linking', () => seen.slice(restored2).some((s) => s.status === 200));
    running = false;
    await traffic;
    // Nothing else went wrong: every answer was a success or one of the two clear errors.
    expect(seen.filter((s) => ![200, 503, 404].includes(s.status))).toEqual([]);
  }, 60_000);

  test('a provider that never answers an actor: the call fails at its deadline, naming the provider', async () => {
    const host = lat.hosts[0]!;
    await control.startProvider({
      hostId: host.hostId,
      providerId: 'hangs',
      artifactRef: providerFixturePath('echo-provider'),
    });
    const ref = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('testbed')));
    await control.startActor({ hostId: host.hostId, actorId: 'caller', artifactRef: ref, maxConcurrent: 4 });
    await link('caller', 'hangs', 'test:echo', []);
    const started = Date.now();
    const err = await lat.client
      .invoke('caller', 'CallContract', Buffer.from('test:echo/default/Hang/x'), { timeoutMs: 1500 })
      .then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
    expect(err?.code).toBe('WASMESH_ERR_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(4000);
    // The actor and the provider still work.
    const ok = await lat.client.invoke('caller', 'CallContract', Buffer.from('test:echo/default/Echo/still here'), {
      timeoutMs: 5000,
    });
    expect(Buffer.from(ok).toString()).toBe('still here');
  });
});
