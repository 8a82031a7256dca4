/**
 * `wasmesh up --metrics`: every service `up` starts serves Prometheus metrics on its own free
 * loopback port, and `up` lists the URLs (under `metrics` with --json, by service name), so an
 * operator finds what to scrape without reading logs.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findNatsServerBinary } from '../harness/nats-server.js';
import { freePort } from '../harness/redis-server.js';
import { wasmesh, type UpTestState } from './run-cli.js';

test('up --metrics: the host, reconciler and gateway each serve metrics, listed by name', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-up-metrics-'));
  const [port, gatewayPort] = [await freePort(), await freePort()];
  const up = await wasmesh([
    'up',
    '--detach',
    '--json',
    '--metrics',
    '--port',
    String(port),
    '--home',
    dir,
    '--gateway',
    `127.0.0.1:${gatewayPort}`,
    '--nats-server-bin',
    findNatsServerBinary(),
  ]);
  try {
    expect([up.code, up.stderr]).toEqual([0, '']);
    const state = JSON.parse(up.stdout) as UpTestState & { metrics?: Record<string, string> };
    expect(Object.keys(state.metrics ?? {}).sort()).toEqual(['gateway', 'host', 'reconciler']);
    const urls = Object.values(state.metrics!);
    expect(new Set(urls).size).toBe(3);
    for (const [name, url] of Object.entries(state.metrics!)) {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const text = await (await fetch(url)).text();
      expect(text).toMatch(new RegExp(`^target_info\\{[^}]*service_name="wasmesh-${name}"`, 'm'));
      expect(text).toMatch(/^wasmesh_nats_io_bytes_total\{/m);
    }
    expect(await (await fetch(state.metrics!.host!)).text()).toMatch(/^wasmesh_pool_slots_limit(\{[^}]*\})? \d+$/m);
  } finally {
    const down = await wasmesh(['down', '--home', dir]);
    expect(down.code).toBe(0);
  }
}, 90_000);
