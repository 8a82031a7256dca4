/**
 * The example applications' actors speak the contracts byte-compatibly with the protobuf
 * definitions (encoded here with protobufjs): kvcounter over wasmesh:httpserver and
 * wasmesh:keyvalue, responder over wasmesh:messaging. The key-value side is answered in-process
 * here; the end-to-end run with the real provider is in the provider tests.
 */
import { contracts } from '@wasmesh/proto';
import type { ActorRuntime, HostCallRequest } from '@wasmesh/host';
import { actorBytes, newRuntime } from './helpers.js';

let runtime: ActorRuntime;
beforeAll(() => {
  runtime = newRuntime();
});
afterAll(() => runtime.close());

function httpGet(path: string, method = 'GET'): Uint8Array {
  return contracts.HttpRequest.encode({
    method,
    path,
    query: '',
    headers: [{ name: 'host', value: 'x' }],
    body: new Uint8Array(),
  }).finish();
}

test('kvcounter increments the named counter through its keyvalue link and answers over HTTP', async () => {
  const counts = new Map<string, number>();
  const calls: HostCallRequest[] = [];
  const kv = await runtime.load(
    actorBytes('kvcounter'),
    { name: 'kvcounter' },
    {
      hostCall: async (call) => {
        calls.push(call);
        const req = contracts.IncrementRequest.decode(call.payload);
        const next = (counts.get(req.key) ?? 0) + Number(req.delta);
        counts.set(req.key, next);
        return contracts.IncrementResponse.encode({ value: next }).finish();
      },
    },
  );
  for (const expected of [1, 2, 3]) {
    const res = contracts.HttpResponse.decode(await kv.invoke('HttpServer.HandleRequest', httpGet('/counter/visits')));
    expect(res.status).toBe(200);
    expect(Buffer.from(res.body).toString()).toBe(`${expected}\n`);
    expect(res.headers).toContainEqual(expect.objectContaining({ name: 'content-type' }));
  }
  expect(calls[0]).toMatchObject({
    binding: 'default',
    namespace: 'wasmesh:keyvalue',
    operation: 'KeyValue.Increment',
  });
  expect(counts.get('counter:visits')).toBe(3);

  const notFound = contracts.HttpResponse.decode(await kv.invoke('HttpServer.HandleRequest', httpGet('/other')));
  expect(notFound.status).toBe(404);
  const post = contracts.HttpResponse.decode(
    await kv.invoke('HttpServer.HandleRequest', httpGet('/counter/x', 'POST')),
  );
  expect(post.status).toBe(405);
});

test('kvcounter answers 503 with the reason when the key-value store fails', async () => {
  const kv = await runtime.load(
    actorBytes('kvcounter'),
    { name: 'kvcounter-down' },
    {
      hostCall: async () => {
        throw new Error('WASMESH_ERR_NO_LINK: no link');
      },
    },
  );
  const res = contracts.HttpResponse.decode(await kv.invoke('HttpServer.HandleRequest', httpGet('/counter/a')));
  expect(res.status).toBe(503);
  expect(Buffer.from(res.body).toString()).toContain('WASMESH_ERR_NO_LINK');
});

test('responder answers a message with "re: <body>"', async () => {
  const r = await runtime.load(actorBytes('responder'), { name: 'responder' });
  const msg = contracts.Message.encode({ subject: 'greet', replyTo: '_INBOX.x', body: Buffer.from('hello') }).finish();
  const out = contracts.HandleMessageResponse.decode(await r.invoke('MessageHandler.HandleMessage', msg));
  expect(Buffer.from(out.reply).toString()).toBe('re: hello');
});
