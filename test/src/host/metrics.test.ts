/**
 * A host's metrics as an operator reads them: a real host process started with `--metrics-listen`
 * is scraped by a real Prometheus, and a known number of calls shows as exactly that increase of
 * `wasmesh_actor_invocations_total`, split by outcome and error code; the endpoint also carries
 * durations, gauges and NATS traffic under Prometheus names. A provider process the host starts
 * serves its own endpoint, named in its record.
 */
import type { HostProcess } from '../harness/host-process.js';
import { PrometheusServer } from '../harness/prometheus.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import { actorPath } from '../fixtures.js';

let lat: LatticeFixture;
let host: HostProcess;
let prometheus: PrometheusServer;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{ args: ['--metrics-listen', '127.0.0.1:0'] }] });
  host = lat.hosts[0]!;
  expect(host.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  prometheus = await PrometheusServer.start([new URL(host.metricsUrl!).host]);
  await lat.client.control.startActor({ hostId: host.hostId, actorId: 'echo', artifactRef: actorPath('echo') });
}, 60_000);

afterAll(async () => {
  await prometheus?.[Symbol.asyncDispose]();
  await lat?.[Symbol.asyncDispose]();
});

/** The value Prometheus last scraped for `expr` (0 while it has none). */
async function scraped(expr: string): Promise<number> {
  return (await prometheus.query(expr))[0]?.value ?? 0;
}

/** Invokes echo `n` times, in parallel. */
async function echo(n: number, operation = 'Echo'): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) => lat.client.invoke('echo', operation, Buffer.from(`call ${i}`))),
  );
}

test('a known number of calls is exactly that increase of the invocation counter, by outcome and error code', async () => {
  const ok = 'wasmesh_actor_invocations_total{wasmesh_actor_id="echo",wasmesh_operation="Echo",wasmesh_outcome="ok"}';
  const failed =
    'wasmesh_actor_invocations_total{wasmesh_actor_id="echo",wasmesh_outcome="error",error_type="WASMESH_ERR_UNKNOWN_OPERATION"}';
  await echo(5);
  await until('prometheus to see the first 5 calls', async () => (await scraped(ok)) === 5, 20_000);
  const before = await scraped(ok);
  await echo(37);
  const unknown = await Promise.allSettled([1, 2, 3].map(() => echo(1, 'NoSuchOperation')));
  expect(unknown.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
  await until(
    'prometheus to see 37 more calls and 3 failures',
    async () => (await scraped(ok)) - before === 37 && (await scraped(failed)) === 3,
    20_000,
  );
  // The duration histogram counted every call once, in seconds.
  expect(await scraped('sum(wasmesh_actor_invocation_duration_seconds_count{wasmesh_actor_id="echo"})')).toBe(45);
  expect(await scraped('wasmesh_actor_invocations_in_flight{wasmesh_actor_id="echo"}')).toBe(0);
}, 60_000);

test('the endpoint carries gauges, NATS traffic and the target identity under Prometheus names', async () => {
  const text = await (await fetch(host.metricsUrl!)).text();
  expect(text).toMatch(/^wasmesh_actors_running(\{[^}]*\})? 1$/m);
  expect(text).toMatch(/^wasmesh_pool_slots_limit(\{[^}]*\})? [1-9]\d*$/m);
  expect(text).toMatch(/^wasmesh_nats_io_bytes_total\{[^}]*network_io_direction="transmit"[^}]*\} [1-9]\d*$/m);
  expect(text).toMatch(/^wasmesh_actor_invocation_duration_seconds_bucket\{[^}]*le="0.001"[^}]*\} \d+$/m);
  expect(text).toMatch(/^# TYPE wasmesh_actor_invocations_total counter$/m);
  const info = (await prometheus.query('target_info'))[0]?.metric;
  expect(info).toMatchObject({
    service_name: 'wasmesh-host',
    service_instance_id: host.hostId,
    wasmesh_lattice: lat.lattice,
  });
  // Anything but GET /metrics is refused plainly.
  expect((await fetch(new URL('/other', host.metricsUrl!))).status).toBe(404);
  expect((await fetch(host.metricsUrl!, { method: 'POST' })).status).toBe(405);
}, 30_000);

test('a provider process started by the host serves its own metrics, named in its record', async () => {
  await lat.client.control.startProvider({
    hostId: host.hostId,
    providerId: 'kv-metrics',
    artifactRef: 'builtin:keyvalue',
    mode: 'process',
  });
  const record = await (await lat.client.state()).providers.get('kv-metrics');
  const url = record?.annotations?.metrics_url;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  expect(url).not.toBe(host.metricsUrl);
  prometheus.setTargets([new URL(host.metricsUrl!).host, new URL(url!).host]);
  await until(
    'prometheus to scrape the provider',
    async () => (await scraped('target_info{service_name="wasmesh-provider-keyvalue"}')) === 1,
    20_000,
  );
  const info = (await prometheus.query('target_info{service_name="wasmesh-provider-keyvalue"}'))[0]!.metric;
  expect(info).toMatchObject({ service_instance_id: 'kv-metrics', wasmesh_host_id: host.hostId });
  expect(
    await scraped('wasmesh_provider_healthy{wasmesh_provider_id="kv-metrics",wasmesh_provider_mode="process"}'),
  ).toBe(1);
}, 60_000);
