/**
 * Components use the lattice's capabilities through WASI interfaces, on a real lattice in both
 * provider modes: the TypeScript kvcounter (wasi:http + wasi:keyvalue) counts exactly under 200
 * concurrent requests, as the AssemblyScript one does, and the two share a link's counters;
 * wasi:keyvalue's identifier names the link; wasi:config reads the actor's own config (a change
 * applies to the next call); outgoing wasi:http requests reach only what `allowed_outbound_hosts`
 * lists.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControlClient, LinkState } from '@wasmesh/lattice';
import { actorPath, TESTBED_KV_STEPS } from '../fixtures.js';
import { freePort } from '../harness/redis-server.js';
import type { EventLog, LatticeFixture } from '../lattice/fixture.js';
import { startHttpLattice } from './helpers.js';

describe.each(['in-process', 'process'] as const)('components on the lattice, providers %s', (mode) => {
  let lat: LatticeFixture;
  let state: LinkState;
  let control: ControlClient;
  let events: EventLog;
  let base: string;
  let allowed: Server;
  let allowedPort: number;

  /** Links `actorId` to `targetId` for `contract` and waits for the provider's verdict. */
  async function link(actorId: string, contract: string, targetId: string, config: string[], name?: string) {
    const from = events.events.length;
    await state.putLink({ sourceId: actorId, contract, targetId, config, ...(name ? { name } : {}) });
    const verdict = await events.find(
      (e) => e.type === 'link_status' && e.data.link?.sourceId === actorId && e.data.link?.contract === contract,
      15_000,
      from,
    );
    expect(verdict.type === 'link_status' && verdict.data.ok).toBe(true);
  }

  beforeAll(async () => {
    allowed = createServer((_req, res) => res.end('pong'));
    await new Promise<void>((resolve) => allowed.listen(0, '127.0.0.1', resolve));
    allowedPort = (allowed.address() as AddressInfo).port;

    const f = await startHttpLattice(mode, ['link_status'], 60_000);
    ({ lat, state, control, events, base } = f);
    const [a, b] = f.hosts;
    await control.startProvider({
      hostId: b.hostId,
      providerId: 'kv',
      artifactRef: 'builtin:keyvalue',
      config: [],
      mode,
    });
    await state.putConfig('kv-shared', { bucket: `counters_${mode.replace('-', '_')}` });
    await state.putConfig('testbed-own', { greeting: 'hi', allowed_outbound_hosts: `127.0.0.1:${allowedPort}` });

    const objects = await lat.client.objects();
    for (const [actorId, file] of [
      ['kvcounter-ts', 'kvcounter-ts'],
      ['kvcounter-as', 'kvcounter'],
      ['testbed-ts', 'testbed-ts'],
    ] as const) {
      const ref = await objects.pushArtifact(readFileSync(actorPath(file)));
      const config = actorId === 'testbed-ts' ? ['testbed-own'] : [];
      for (const h of [a, b]) {
        await control.startActor({ hostId: h.hostId, actorId, artifactRef: ref, maxConcurrent: 64, config });
      }
      await state.putConfig(`route-${actorId}`, { path: `/${actorId}`, strip_prefix: 'true' });
      await link(actorId, 'wasmesh:httpserver', 'http', [`route-${actorId}`]);
      if (actorId === 'testbed-ts') await link(actorId, 'wasmesh:keyvalue', 'kv', [], 'main');
      else await link(actorId, 'wasmesh:keyvalue', 'kv', ['kv-shared']);
    }
  }, 240_000);

  afterAll(async () => {
    events?.close();
    await lat?.[Symbol.asyncDispose]();
    await new Promise((resolve) => allowed?.close(resolve));
  });

  test.each(['kvcounter-ts', 'kvcounter-as'])('%s counts exactly under 200 concurrent requests', async (actor) => {
    const counts = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const r = await fetch(`${base}/${actor}/counter/busy-${actor}`);
        expect(r.status).toBe(200);
        return Number(await r.text());
      }),
    );
    expect(counts.sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  test('the TypeScript and AssemblyScript counters share the counters of one link config', async () => {
    const seen: string[] = [];
    for (const actor of ['kvcounter-ts', 'kvcounter-as', 'kvcounter-ts', 'kvcounter-as']) {
      const r = await fetch(`${base}/${actor}/counter/shared`);
      seen.push(`${r.status} ${await r.text()}`);
    }
    expect(seen).toEqual(['200 1\n', '200 2\n', '200 3\n', '200 4\n']);
    const wrong = await fetch(`${base}/kvcounter-ts/elsewhere`);
    expect({ status: wrong.status, body: await wrong.text() }).toEqual({
      status: 404,
      body: 'try GET /counter/<name>\n',
    });
  });

  test("wasi:keyvalue's identifier names the link: its store works, an unknown one is no-such-store", async () => {
    const r = await fetch(`${base}/testbed-ts/kv/main`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ steps: TESTBED_KV_STEPS });
    const missing = await fetch(`${base}/testbed-ts/kv/other`);
    expect({ status: missing.status, body: await missing.json() }).toEqual({
      status: 500,
      body: { steps: [], error: { tag: 'no-such-store' } },
    });
  });

  test("wasi:config reads the actor's own config, and a change applies to the next call", async () => {
    const first = await fetch(`${base}/testbed-ts/config/greeting`);
    expect(await first.json()).toMatchObject({ value: 'hi' });
    await state.putConfig('testbed-own', { greeting: 'hello', allowed_outbound_hosts: `127.0.0.1:${allowedPort}` });
    const next = await fetch(`${base}/testbed-ts/config/greeting`);
    expect(await next.json()).toEqual({
      value: 'hello',
      all: [
        ['allowed_outbound_hosts', `127.0.0.1:${allowedPort}`],
        ['greeting', 'hello'],
      ],
    });
  });

  test('outgoing wasi:http reaches what allowed_outbound_hosts lists, and nothing else', async () => {
    const ok = await fetch(`${base}/testbed-ts/fetch/127.0.0.1:${allowedPort}`);
    expect({ status: ok.status, body: await ok.text() }).toEqual({ status: 200, body: 'fetched: 200 pong' });
    const other = await freePort();
    const denied = await fetch(`${base}/testbed-ts/fetch/127.0.0.1:${other}`);
    expect(denied.status).toBe(502);
    expect(await denied.text()).toMatch(/fetch failed/);
  });
});
