/**
 * The gateway's metrics as an operator reads them: a gateway on a real secured lattice (TLS with
 * client certificates, real host process), its process telemetry set up with a scrape endpoint
 * before it is made, as the wasmesh-gateway bin does. A known number of calls, passed, refused by
 * the authorizer and failed by a handler, shows as exactly those counts of
 * `wasmesh_gateway_requests_total` by service, method and gRPC status code (with the wasmesh error
 * code as `error_type`), and the duration histogram counts every call once. A server stream counts
 * once, when it ends: a client cancelling it is CANCELLED, timed as long as it was open.
 */
import { setupTelemetry, type Telemetry } from '@wasmesh/lattice';
import { Gateway } from '@wasmesh/gateway';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import {
  collect,
  connectClients,
  gatewayPki,
  grpc,
  stream,
  unary,
  wasmeshCode,
  type GatewayClients,
  type GatewayPki,
} from './grpc-client.js';
import { samples, valueOf, type Sample } from '../harness/prometheus-text.js';

const REQUESTS = 'wasmesh_gateway_requests_total';
const DURATION = 'wasmesh_gateway_request_duration_seconds';
const CONTROL = 'wasmesh.lattice.v1.Control';
const LATTICE = 'wasmesh.lattice.v1.Lattice';

let lat: LatticeFixture;
let pki: GatewayPki;
let telemetry: Telemetry;
let gateway: Gateway;
let admin: GatewayClients;
let reader: GatewayClients;
let metricsUrl: string;

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  return res.text();
}

/** The labels of a call of `service`/`method` that ended with `code` (and, failed, `errorType`). */
function call(service: string, method: string, code: grpc.status, errorType?: string): Record<string, string> {
  return {
    rpc_service: service,
    rpc_method: method,
    rpc_grpc_status_code: String(code),
    wasmesh_outcome: errorType === undefined ? 'ok' : 'error',
    ...(errorType === undefined ? {} : { error_type: errorType }),
  };
}

/** `labels` as a sorting key. */
const keyOf = (labels: Record<string, string>): string =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
  const { servers: natsUrl, creds: natsCreds, tlsCa: natsCa } = await lat.nats.access(lat.lattice);
  // Secure by default: the gateway reaches the lattice over TLS with credentials, and serves TLS.
  expect(natsCreds && natsCa).toBeTruthy();
  pki = await gatewayPki();
  // Before the gateway exists, as the bin does: its instruments come from the meter set up here.
  telemetry = await setupTelemetry({
    serviceName: 'wasmesh-gateway',
    metricsListen: '127.0.0.1:0',
    attributes: { 'wasmesh.lattice': lat.lattice },
  });
  expect(telemetry.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics$/);
  metricsUrl = telemetry.metricsUrl!;
  gateway = new Gateway({ listen: '127.0.0.1:0', tls: pki.tls, natsUrl, natsCreds, natsCa, lattice: lat.lattice });
  await gateway.start();
  admin = connectClients(gateway.address, await pki.client('admin'));
  reader = connectClients(gateway.address, await pki.client('reader'));
}, 60_000);

afterAll(async () => {
  admin?.close();
  reader?.close();
  await gateway?.close();
  await telemetry?.shutdown();
  await lat?.[Symbol.asyncDispose]();
  pki?.remove();
});

test('before any call the endpoint names the gateway and has no request samples', async () => {
  const text = await scrape();
  expect(samples(text, REQUESTS)).toEqual([]);
  expect(samples(text, `${DURATION}_count`)).toEqual([]);
  expect(samples(text, 'target_info')[0]?.labels).toMatchObject({
    service_name: 'wasmesh-gateway',
    wasmesh_lattice: lat.lattice,
  });
});

test('passed, refused and failed calls are exactly those counts by method and status, each timed once', async () => {
  // 3 reads an admin may make.
  for (let i = 0; i < 3; i++) expect(await unary(admin.lattice, 'ListLinks', {}, 5000)).toEqual({ links: [] });
  // 2 writes the authorizer refuses a reader.
  for (let i = 0; i < 2; i++) {
    const err = await unary(reader.lattice, 'PutConfig', { config: { name: 'c', values: { k: 'v' } } }, 5000).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(wasmeshCode(err)).toBe('WASMESH_ERR_PERMISSION_DENIED');
  }
  // 1 read that passes authorization and fails in its handler.
  const missing = await unary(admin.lattice, 'GetConfig', { name: 'no-such-config' }, 5000).catch((e: unknown) => e);
  expect(missing).toMatchObject({ code: grpc.status.NOT_FOUND });
  expect(wasmeshCode(missing)).toBe('WASMESH_ERR_NOT_FOUND');
  // 1 server stream a reader may open, which ends by itself: counted once, when it ends.
  const hosts = await collect<{ hostId: string }>(stream(reader.control, 'Ping', {}, 10_000));
  expect(hosts.map((h) => h.hostId)).toEqual([lat.hosts[0]!.hostId]);

  const text = await scrape();
  expect(text).toMatch(new RegExp(`^# TYPE ${REQUESTS} counter$`, 'm'));
  expect(text).toMatch(new RegExp(`^# TYPE ${DURATION} histogram$`, 'm'));
  const expected = [
    { labels: call(LATTICE, 'ListLinks', grpc.status.OK), value: 3 },
    { labels: call(LATTICE, 'PutConfig', grpc.status.PERMISSION_DENIED, 'WASMESH_ERR_PERMISSION_DENIED'), value: 2 },
    { labels: call(LATTICE, 'GetConfig', grpc.status.NOT_FOUND, 'WASMESH_ERR_NOT_FOUND'), value: 1 },
    { labels: call(CONTROL, 'Ping', grpc.status.OK), value: 1 },
  ];
  const byLabels = (a: Sample, b: Sample): number => keyOf(a.labels).localeCompare(keyOf(b.labels));
  // Exactly these series: nothing counted twice, nothing else counted.
  expect(samples(text, REQUESTS).sort(byLabels)).toEqual([...expected].sort(byLabels));
  expect(samples(text, `${DURATION}_count`).sort(byLabels)).toEqual([...expected].sort(byLabels));
  for (const { labels, value } of expected) {
    // Every call falls in some bucket, and took a positive time well below the largest bound.
    expect({ labels, inf: valueOf(text, `${DURATION}_bucket`, { ...labels, le: '+Inf' }) }).toEqual({
      labels,
      inf: value,
    });
    expect({ labels, le10: valueOf(text, `${DURATION}_bucket`, { ...labels, le: '10' }) }).toEqual({
      labels,
      le10: value,
    });
    expect(valueOf(text, `${DURATION}_sum`, labels)).toBeGreaterThan(0);
  }
}, 30_000);

test('a stream the client cancels counts once as CANCELLED, timed as long as it was open', async () => {
  const before = await scrape();
  const watch = stream(admin.lattice, 'WatchEvents', { types: ['config_set'] });
  const seen: string[] = [];
  watch.on('data', (e: { configSet?: { name: string } }) => e.configSet && seen.push(e.configSet.name));
  watch.on('error', () => undefined);
  // The stream is live (its handler runs) once a probe's config_set comes through it.
  let probes = 0;
  await until(
    'the event stream to be live',
    async () => {
      probes++;
      await unary(admin.lattice, 'PutConfig', { config: { name: 'probe', values: { n: String(probes) } } }, 5000);
      return seen.includes('probe');
    },
    10_000,
  );
  const OPEN_MS = 600;
  await new Promise((r) => setTimeout(r, OPEN_MS));
  watch.cancel();

  const cancelled = call(LATTICE, 'WatchEvents', grpc.status.CANCELLED, 'CANCELLED');
  let text = '';
  await until(
    'the cancelled stream to be counted',
    async () => valueOf((text = await scrape()), REQUESTS, cancelled) > 0,
  );
  expect(valueOf(text, REQUESTS, cancelled)).toBe(1);
  expect(valueOf(text, `${DURATION}_count`, cancelled)).toBe(1);
  expect(valueOf(text, `${DURATION}_sum`, cancelled)).toBeGreaterThanOrEqual(OPEN_MS / 1000);
  // The probes passed; the only new series are theirs and the stream's.
  const putConfig = call(LATTICE, 'PutConfig', grpc.status.OK);
  expect(valueOf(before, REQUESTS, putConfig)).toBe(0);
  expect(valueOf(text, REQUESTS, putConfig)).toBe(probes);
  expect(valueOf(text, REQUESTS) - valueOf(before, REQUESTS)).toBe(probes + 1);
  expect(valueOf(text, `${DURATION}_count`) - valueOf(before, `${DURATION}_count`)).toBe(probes + 1);
  // Once counted, never again: the server's end of the cancelled call records nothing more.
  await new Promise((r) => setTimeout(r, 300));
  expect(valueOf(await scrape(), REQUESTS, cancelled)).toBe(1);
}, 30_000);
