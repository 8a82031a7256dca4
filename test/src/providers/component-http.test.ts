/**
 * A component actor served over HTTP on a real lattice, like a waPC one: the TypeScript hello
 * (a componentize-js component speaking wasi:http), the Rust hello (a component built by Rust's
 * wasm32-wasip2 target with the WASI project's bindings: a toolchain that knows nothing of wasmesh)
 * and the AssemblyScript hello, started on two hosts and linked to one HTTP server provider under
 * their own routes, answer the same requests,
 * under 200 concurrent requests, in both provider modes. A component fails the way a waPC actor
 * does: its deadline becomes the HTTP server's 504.
 */
import { readFileSync } from 'node:fs';
import type { ControlClient, LinkState } from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import type { EventLog, LatticeFixture } from '../lattice/fixture.js';
import { startHttpLattice } from './helpers.js';

describe.each(['in-process', 'process'] as const)('component actors over HTTP, providers %s', (mode) => {
  let lat: LatticeFixture;
  let state: LinkState;
  let control: ControlClient;
  let events: EventLog;
  let base: string;

  beforeAll(async () => {
    const f = await startHttpLattice(mode, ['link_status'], 60_000);
    ({ lat, state, control, events, base } = f);
    const [a, b] = f.hosts;
    const objects = await lat.client.objects();
    for (const [actorId, file] of [
      ['hello-ts', 'hello-ts'],
      ['hello-as', 'hello'],
      ['hello-rs', 'hello-rs'],
      ['testbed-ts', 'testbed-ts'],
    ] as const) {
      const ref = await objects.pushArtifact(readFileSync(actorPath(file)));
      for (const h of [a, b]) {
        await control.startActor({ hostId: h.hostId, actorId, artifactRef: ref, maxConcurrent: 64 });
      }
      await state.putConfig(`route-${actorId}`, {
        path: `/${actorId}`,
        strip_prefix: 'true',
        ...(actorId === 'testbed-ts' ? { timeout_ms: '500' } : {}),
      });
      const from = events.events.length;
      await state.putLink({
        sourceId: actorId,
        contract: 'wasmesh:httpserver',
        targetId: 'http',
        config: [`route-${actorId}`],
      });
      const verdict = await events.find(
        (e) => e.type === 'link_status' && e.data.link?.sourceId === actorId,
        10_000,
        from,
      );
      expect(verdict.type === 'link_status' && verdict.data.ok).toBe(true);
    }
  }, 240_000);

  afterAll(async () => {
    events?.close();
    await lat?.[Symbol.asyncDispose]();
  });

  test('the TypeScript and Rust components answer as the AssemblyScript actor does', async () => {
    for (const actor of ['hello-ts', 'hello-rs', 'hello-as']) {
      const r = await fetch(`${base}/${actor}/hello/Ada`);
      expect({ actor, status: r.status, body: await r.text() }).toEqual({ actor, status: 200, body: 'Hello, Ada!\n' });
    }
    const ts = await fetch(`${base}/hello-ts/x`);
    expect(ts.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  test('200 concurrent requests to the component all succeed', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const r = await fetch(`${base}/hello-ts/hello/n${i}`);
        return `${r.status} ${await r.text()}`;
      }),
    );
    expect(answers).toEqual(Array.from({ length: 200 }, (_, i) => `200 Hello, n${i}!\n`));
  });

  test("a component past its deadline is the HTTP server's 504, and it goes on serving", async () => {
    const r = await fetch(`${base}/testbed-ts/spin`);
    expect(r.status).toBe(504);
    // The route's 500 ms: as the caller's wait ("no reply within 500 ms") or as the host's deadline,
    // less the few ms the request took to reach it, whichever ends first.
    expect(await r.text()).toMatch(/^504 Gateway Timeout: actor "testbed-ts": .*(within|deadline of) (49\d|500) ms/);
    const ok = await fetch(`${base}/testbed-ts/echo?q=1`, { method: 'POST', body: 'payload' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ method: 'POST', path: '/echo', query: '?q=1', body: 'payload' });
  });
});
