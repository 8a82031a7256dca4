/**
 * Components of the Component Model run as actors: the TypeScript examples (componentize-js, a
 * 12 MB component embedding a JS engine) serve the HTTP server contract through
 * wasi:http/incoming-handler, with the limits, logs and errors a waPC actor has.
 */
import { contracts } from '@wasmesh/proto';
import { WasmeshError } from '@wasmesh/lattice';
import type { ActorRuntime, HostCallHandler } from '@wasmesh/host';
import { actorBytes, captureLogger, newRuntime } from './helpers.js';
import { TESTBED_KV_STEPS } from '../fixtures.js';

const HANDLE_REQUEST = 'HttpServer.HandleRequest';

let runtime: ActorRuntime;
beforeAll(() => {
  runtime = newRuntime();
});
afterAll(() => runtime.close());

/** The contract's request for `path` (with a `host` header, as the HTTP server provider sends it). */
function request(path: string, init: Partial<contracts.IHttpRequest> = {}): Buffer {
  const [p, query = ''] = path.split('?');
  return Buffer.from(
    contracts.HttpRequest.encode({
      method: 'GET',
      path: p,
      query,
      headers: [{ name: 'host', value: 'test.local' }],
      ...init,
    }).finish(),
  );
}

/** The response as status, headers (by name) and body text. */
function answer(bytes: Uint8Array): { status: number; headers: Record<string, string>; body: string } {
  const r = contracts.HttpResponse.decode(bytes);
  return {
    status: r.status,
    headers: Object.fromEntries(r.headers.map((h) => [h.name, h.value])),
    body: Buffer.from(r.body).toString(),
  };
}

test('inspect says hello-ts is a component actor and lists its interfaces', async () => {
  const info = await runtime.inspect(actorBytes('hello-ts'));
  expect(info).toMatchObject({ kind: 'component', validActor: true, problem: null });
  expect(info.size).toBeGreaterThan(10_000_000);
  expect(info.exports).toContainEqual({ name: 'wasi:http/incoming-handler@0.2.10', type: 'instance' });
  expect(info.imports).toContainEqual({ module: '', name: 'wasi:http/types@0.2.10', type: 'instance' });
});

test('hello-ts answers HandleRequest through wasi:http, like the AssemblyScript hello', async () => {
  const hello = await runtime.load(actorBytes('hello-ts'), { name: 'hello-ts' });
  const ts = answer(await hello.invoke(HANDLE_REQUEST, request('/hello/Ada')));
  expect(ts).toEqual({
    status: 200,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': '12' },
    body: 'Hello, Ada!\n',
  });
  const as = await runtime.load(actorBytes('hello'), { name: 'hello' });
  expect(answer(await as.invoke(HANDLE_REQUEST, request('/hello/Ada'))).body).toBe(ts.body);
});

test('the request reaches the component whole: method, path, query, headers and body', async () => {
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts' });
  const r = answer(
    await testbed.invoke(
      HANDLE_REQUEST,
      request('/echo?a=1&b=two', {
        method: 'POST',
        headers: [
          { name: 'host', value: 'shop.example:8080' },
          { name: 'x-trace', value: 'abc' },
        ],
        body: Buffer.from('{"n":1}'),
      }),
    ),
  );
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body)).toEqual({
    method: 'POST',
    path: '/echo',
    query: '?a=1&b=two',
    host: 'shop.example:8080',
    headers: expect.objectContaining({ 'x-trace': 'abc' }),
    body: '{"n":1}',
  });
  expect(answer(await testbed.invoke(HANDLE_REQUEST, request('/status/418'))).status).toBe(418);
});

test('every call gets a fresh instance', async () => {
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts' });
  for (let i = 0; i < 3; i++) expect(answer(await testbed.invoke(HANDLE_REQUEST, request('/calls'))).body).toBe('1');
});

test('an infinite loop is stopped by the deadline, and the actor goes on serving', async () => {
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts', timeoutMs: 300 });
  await expect(testbed.invoke(HANDLE_REQUEST, request('/spin'))).rejects.toMatchObject({
    code: 'WASMESH_ERR_TIMEOUT',
  });
  expect(answer(await testbed.invoke(HANDLE_REQUEST, request('/status/204'))).status).toBe(204);
});

test('a memory bomb is stopped at the memory cap', async () => {
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts', maxMemoryMb: 48 });
  await expect(testbed.invoke(HANDLE_REQUEST, request('/bomb'))).rejects.toMatchObject({
    code: 'WASMESH_ERR_MEMORY_LIMIT',
    details: expect.objectContaining({ limitBytes: 48 * 1024 * 1024 }),
  });
  expect(answer(await testbed.invoke(HANDLE_REQUEST, request('/calls'))).body).toBe('1');
});

test("a response over the actor's limit is refused", async () => {
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts', maxResponseBytes: 1000 });
  expect(answer(await testbed.invoke(HANDLE_REQUEST, request('/big/1000'))).body).toHaveLength(1000);
  await expect(testbed.invoke(HANDLE_REQUEST, request('/big/1001'))).rejects.toMatchObject({
    code: 'WASMESH_ERR_RESPONSE_TOO_LARGE',
  });
});

test('stdout and stderr go to the host log as the guest stream', async () => {
  const { logger, lines } = captureLogger();
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts' }, { logger });
  expect(answer(await testbed.invoke(HANDLE_REQUEST, request('/log/hi%20there'))).body).toBe('logged');
  expect(lines).toContainEqual(
    expect.objectContaining({ actor: 'testbed-ts', stream: 'guest', level: 30, msg: 'testbed-ts says: hi there' }),
  );
  expect(lines).toContainEqual(
    expect.objectContaining({ actor: 'testbed-ts', stream: 'guest', level: 40, msg: 'testbed-ts warns: hi there' }),
  );
});

test('an outgoing HTTP request the host does not allow is denied, and the host log says where and why', async () => {
  const { logger, lines } = captureLogger();
  const asked: string[] = [];
  const hostCall: HostCallHandler = async ({ namespace, operation, payload }) => {
    asked.push(`${namespace} ${operation}`);
    const { scheme, authority } = contracts.CheckOutgoingRequest.decode(payload);
    return contracts.CheckOutgoingResponse.encode({
      allowed: false,
      reason: `${scheme}://${authority} is not listed`,
    }).finish();
  };
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts' }, { logger, hostCall });
  const r = answer(await testbed.invoke(HANDLE_REQUEST, request('/fetch/api.example.com')));
  expect(r.status).toBe(502);
  expect(r.body).toMatch(/fetch failed/);
  expect(asked).toEqual(['wasmesh:config ActorConfig.CheckOutgoing']);
  expect(lines).toContainEqual(
    expect.objectContaining({
      msg: 'outgoing HTTP request to http://api.example.com denied: http://api.example.com is not listed',
    }),
  );
});

test('wasi:logging goes to the host log at its level, with its context', async () => {
  const { logger, lines } = captureLogger();
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts' }, { logger });
  expect(answer(await testbed.invoke(HANDLE_REQUEST, request('/wasilog/disk%20full'))).body).toBe('logged');
  expect(lines).toContainEqual(
    expect.objectContaining({ actor: 'testbed-ts', stream: 'guest', level: 50, msg: 'testbed: disk full' }),
  );
});

test('wasi:keyvalue and wasi:config calls are host calls of the keyvalue and config contracts', async () => {
  const calls: string[] = [];
  const store = new Map<string, Uint8Array>();
  const kv = contracts;
  const hostCall: HostCallHandler = async ({ binding, namespace, operation, payload }) => {
    calls.push(`${binding}|${namespace}|${operation}`);
    if (namespace === 'wasmesh:config') {
      return kv.GetAllConfigResponse.encode({ values: [{ key: 'greeting', value: 'hi' }] }).finish();
    }
    if (binding !== 'main') throw new WasmeshError('WASMESH_ERR_NO_LINK', `no link named "${binding}"`);
    switch (operation) {
      case 'KeyValue.Set': {
        const { key, value } = kv.SetRequest.decode(payload);
        store.set(key, value);
        return kv.SetResponse.encode({}).finish();
      }
      case 'KeyValue.Get': {
        const value = store.get(kv.GetRequest.decode(payload).key);
        return kv.GetResponse.encode({ found: value !== undefined, value: value ?? new Uint8Array() }).finish();
      }
      case 'KeyValue.Exists':
        return kv.ExistsResponse.encode({ exists: store.has(kv.ExistsRequest.decode(payload).key) }).finish();
      case 'KeyValue.Increment': {
        const { key, delta } = kv.IncrementRequest.decode(payload);
        const value = Number(new TextDecoder().decode(store.get(key) ?? new Uint8Array())) + Number(delta);
        store.set(key, new TextEncoder().encode(String(value)));
        return kv.IncrementResponse.encode({ value }).finish();
      }
      case 'KeyValue.Keys':
        return kv.KeysResponse.encode({ keys: [...store.keys()].sort() }).finish();
      case 'KeyValue.Delete':
        return kv.DeleteResponse.encode({ existed: store.delete(kv.DeleteRequest.decode(payload).key) }).finish();
      default:
        throw new Error(`unexpected ${operation}`);
    }
  };
  const testbed = await runtime.load(actorBytes('testbed-ts'), { name: 'testbed-ts' }, { hostCall });
  const r = answer(await testbed.invoke(HANDLE_REQUEST, request('/kv/main')));
  expect(JSON.parse(r.body)).toEqual({ steps: TESTBED_KV_STEPS });
  expect(calls[0]).toBe('main|wasmesh:keyvalue|KeyValue.Set');
  // No link of that name: the guest sees wasi:keyvalue's no-such-store.
  const missing = answer(await testbed.invoke(HANDLE_REQUEST, request('/kv/nope')));
  expect({ status: missing.status, body: JSON.parse(missing.body) }).toEqual({
    status: 500,
    body: { steps: [], error: { tag: 'no-such-store' } },
  });
  const config = answer(await testbed.invoke(HANDLE_REQUEST, request('/config/greeting')));
  expect(JSON.parse(config.body)).toEqual({ value: 'hi', all: [['greeting', 'hi']] });
});

test('an operation the component does not serve, and a malformed request, are typed errors', async () => {
  const hello = await runtime.load(actorBytes('hello-ts'), { name: 'hello-ts' });
  await expect(hello.invoke('Greeter.SayHello', Buffer.from('x'))).rejects.toMatchObject({
    code: 'WASMESH_ERR_UNKNOWN_OPERATION',
    message: expect.stringContaining('serves `HttpServer.HandleRequest` only'),
  });
  await expect(hello.invoke(HANDLE_REQUEST, Buffer.from([0x0a, 50, 0x41]))).rejects.toMatchObject({
    code: 'WASMESH_ERR_BAD_REQUEST',
    message: expect.stringContaining('not an HttpRequest'),
  });
  await expect(
    hello.invoke(HANDLE_REQUEST, request('/x', { headers: [{ name: 'bad header', value: 'v' }] })),
  ).rejects.toMatchObject({
    code: 'WASMESH_ERR_BAD_REQUEST',
    message: expect.stringContaining('not a valid HTTP request'),
  });
});
