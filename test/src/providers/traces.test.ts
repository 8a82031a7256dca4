/**
 * One trace per HTTP request, across every process, as an operator sees it in Jaeger: a real host
 * exporting over OTLP to a real Jaeger serves kvcounter with the built-in http-server and keyvalue
 * providers, in-process and as processes of their own. One request with a `traceparent` gives one
 * trace whose spans run in one unbroken parent chain from the client's span: the http-server's
 * server span, the call to the actor, the host serving it, the actor's host call, the keyvalue
 * provider serving it and its NATS KV operation. A guest's log line carries its invocation and
 * trace ids and is an event of the invocation's span.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { enableContextManager } from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import { JaegerServer, type JaegerSpan, type JaegerTrace } from '../harness/jaeger.js';
import { freePort } from '../harness/redis-server.js';
import { EventLog, startLattice, until, type LatticeFixture } from '../lattice/fixture.js';

let jaeger: JaegerServer;

beforeAll(async () => {
  jaeger = await JaegerServer.start();
}, 60_000);

afterAll(async () => {
  await jaeger?.[Symbol.asyncDispose]();
});

describe.each(['in-process', 'process'] as const)('built-in providers %s', (mode) => {
  let lat: LatticeFixture;
  let base: string;

  beforeAll(async () => {
    lat = await startLattice({ hosts: [{ env: jaeger.exportEnv() }] });
    const host = lat.hosts[0]!;
    const state = await lat.client.state();
    const events = new EventLog(lat.client, ['link_status']);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await state.putConfig('http-main', { address: `127.0.0.1:${port}` });
    const { control } = lat.client;
    await control.startProvider({
      hostId: host.hostId,
      providerId: 'http',
      artifactRef: 'builtin:http-server',
      config: ['http-main'],
      mode,
    });
    await control.startProvider({ hostId: host.hostId, providerId: 'kv', artifactRef: 'builtin:keyvalue', mode });
    const ref = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('kvcounter')));
    await control.startActor({ hostId: host.hostId, actorId: 'counter', artifactRef: ref });
    await control.startActor({ hostId: host.hostId, actorId: 'testbed', artifactRef: actorPath('testbed') });
    await state.putConfig('kv-nats', { backend: 'nats' });
    await state.putConfig('route', { path: '/c', strip_prefix: 'true' });
    for (const [contract, targetId, config] of [
      ['wasmesh:keyvalue', 'kv', 'kv-nats'],
      ['wasmesh:httpserver', 'http', 'route'],
    ] as const) {
      const from = events.events.length;
      await state.putLink({ sourceId: 'counter', contract, targetId, config: [config] });
      const verdict = await events.find(
        (e) => e.type === 'link_status' && e.data.link?.contract === contract,
        10_000,
        from,
      );
      expect(verdict.type === 'link_status' && verdict.data.ok).toBe(true);
    }
    events.close();
  }, 90_000);

  afterAll(async () => {
    await lat?.[Symbol.asyncDispose]();
  });

  /** The value of tag `key` of `span`. */
  const tag = (span: JaegerSpan, key: string): unknown => span.tags.find((t) => t.key === key)?.value;

  test('one request with a traceparent is one trace, in one unbroken chain from the client through every process', async () => {
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const res = await fetch(`${base}/c/counter/traced`, { headers: { traceparent: `00-${traceId}-${clientSpan}-01` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('1\n');

    const names = (t: JaegerTrace | undefined): string[] => t?.spans.map((s) => s.operationName) ?? [];
    let trace: JaegerTrace | undefined;
    await until(
      'jaeger to hold the whole trace',
      async () => {
        trace = await jaeger.trace(traceId);
        const n = names(trace);
        return n.includes('GET /c') && n.some((x) => x.startsWith('nats_kv '));
      },
      20_000,
    );
    // Spans still in a batch may arrive a little later: wait until the count settles.
    let count = 0;
    await until('the trace to stop growing', async () => {
      const before = count;
      count = (trace = await jaeger.trace(traceId))!.spans.length;
      return count === before;
    });
    const spans = trace!.spans;
    const byId = new Map(spans.map((s) => [s.spanID, s]));
    const parentOf = (s: JaegerSpan): string | undefined => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    // Every span but the root has its parent in the trace; the root's parent is the client's span.
    const roots = spans.filter((s) => !byId.has(parentOf(s) ?? ''));
    expect(roots.map((s) => [s.operationName, parentOf(s)])).toEqual([['GET /c', clientSpan]]);
    expect(spans.every((s) => s.traceID === traceId)).toBe(true);

    // The chain from the KV operation up to the root, with the process kind of each span.
    const service = (s: JaegerSpan): string => trace!.processes[s.processID]!.serviceName;
    const chain: string[] = [];
    for (let s: JaegerSpan | undefined = spans.find((x) => x.operationName.startsWith('nats_kv ')); s;) {
      chain.unshift(`${service(s)}: ${s.operationName}`);
      s = byId.get(parentOf(s) ?? '');
    }
    const [http, kv] =
      mode === 'process'
        ? ['wasmesh-provider-http-server', 'wasmesh-provider-keyvalue']
        : ['wasmesh-host', 'wasmesh-host'];
    expect(chain).toEqual([
      `${http}: GET /c`,
      `${http}: invoke counter.HttpServer.HandleRequest`,
      'wasmesh-host: serve counter',
      'wasmesh-host: invoke kv.KeyValue.Increment',
      `${kv}: serve kv`,
      `${kv}: nats_kv Increment`,
    ]);
    const server = spans.find((s) => s.operationName === 'GET /c')!;
    expect({
      kind: tag(server, 'span.kind'),
      method: tag(server, 'http.request.method'),
      route: tag(server, 'http.route'),
      status: tag(server, 'http.response.status_code'),
    }).toEqual({ kind: 'server', method: 'GET', route: '/c', status: 200 });
  }, 60_000);

  test("a guest's log line names its invocation and trace, and is an event of the invocation's span", async () => {
    // The client continues the active trace: it needs the active-context manager.
    enableContextManager();
    const traceId = randomBytes(16).toString('hex');
    const parent = propagation.extract(ROOT_CONTEXT, {
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    });
    await context.with(parent, () => lat.client.invoke('testbed', 'Log', Buffer.from(`hello ${mode}`)));
    const host = lat.hosts[0]!;
    let line: Record<string, unknown> | undefined;
    await until('the host to log the guest line', () => {
      line = host
        .logs()
        .split('\n')
        .filter((l) => l.includes(`testbed says: hello ${mode}`))
        .map((l) => JSON.parse(l) as Record<string, unknown>)[0];
      return line !== undefined;
    });
    expect(line).toMatchObject({ actor: 'testbed', stream: 'guest', trace_id: traceId });
    expect(line!.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(line!.invocation_id).toEqual(expect.any(String));
    let served: JaegerSpan | undefined;
    await until(
      'jaeger to hold the serving span',
      async () => (served = (await jaeger.trace(traceId))?.spans.find((s) => s.spanID === line!.span_id)) !== undefined,
      20_000,
    );
    expect(served!.operationName).toBe('serve testbed');
    const fields = served!.logs.map((l) => Object.fromEntries(l.fields.map((f) => [f.key, f.value])));
    expect(fields).toContainEqual(
      expect.objectContaining({ event: 'guest log', 'log.message': `testbed says: hello ${mode}` }),
    );
  }, 60_000);
});
