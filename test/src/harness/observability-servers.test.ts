/**
 * The observability servers of the harness are real and work as the tests of issue 13 need them:
 * Jaeger stores what arrives on its OTLP/HTTP receiver and answers for it on its query API, and
 * Prometheus scrapes targets named after it started and answers PromQL with what it scraped.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JaegerServer } from './jaeger.js';
import { PrometheusServer } from './prometheus.js';
import { until } from '../lattice/fixture.js';

test('jaeger: a span exported over OTLP/HTTP comes back from the query API, with its service and parent', async () => {
  await using jaeger = await JaegerServer.start();
  const traceId = randomBytes(16).toString('hex');
  const [parentId, childId] = [randomBytes(8).toString('hex'), randomBytes(8).toString('hex')];
  const now = BigInt(Date.now()) * 1_000_000n;
  const span = (spanId: string, name: string, parentSpanId = '') => ({
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: 2,
    startTimeUnixNano: String(now),
    endTimeUnixNano: String(now + 1_000_000n),
  });
  const res = await fetch(`${jaeger.otlpEndpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'harness-check' } }] },
          scopeSpans: [{ spans: [span(parentId, 'outer'), span(childId, 'inner', parentId)] }],
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  let trace = await jaeger.trace(traceId);
  await until('jaeger to store the trace', async () => (trace = await jaeger.trace(traceId))?.spans.length === 2);
  const inner = trace!.spans.find((s) => s.operationName === 'inner')!;
  expect(inner.references).toEqual([{ refType: 'CHILD_OF', traceID: traceId, spanID: parentId }]);
  expect(trace!.processes[inner.processID]?.serviceName).toBe('harness-check');
  expect(await jaeger.services()).toContain('harness-check');
});

test('prometheus: scrapes a target named after it started and answers PromQL with the scraped values', async () => {
  let count = 7;
  const target = http.createServer((req, res) => {
    res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE demo_requests_total counter\ndemo_requests_total{route="/a"} ${count}\n`);
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  try {
    await using prometheus = await PrometheusServer.start();
    prometheus.setTargets([`127.0.0.1:${(target.address() as AddressInfo).port}`]);
    const value = async (): Promise<number | undefined> =>
      (await prometheus.query('demo_requests_total{route="/a"}'))[0]?.value;
    await until('prometheus to scrape 7', async () => (await value()) === 7, 20_000);
    count = 12;
    await until('prometheus to scrape 12', async () => (await value()) === 12, 20_000);
    expect((await prometheus.targets())[0]).toMatchObject({ health: 'up', lastError: '' });
  } finally {
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  }
}, 60_000);
