/**
 * The http-server provider (run in this process) in front of a real host process running the
 * `testbed` and `hello` actors, on a real nats-server: routing by path prefix and Host, per-link
 * listeners, live route changes, and every way a request can go wrong: no route, oversize bodies,
 * failing, slow or absent actors, invalid answers, malformed HTTP and slowloris clients.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { type LatticeEvent, type LinkState } from '@wasmesh/lattice';
import {
  createHttpServerProvider,
  isLoopback,
  RouteTable,
  parseRouteConfig,
  parseServerConfig,
  type LinkRoute,
} from '@wasmesh/provider-http-server';
import type { Provider } from '@wasmesh/provider-sdk';
import { actorPath } from '../fixtures.js';
import { freePort } from '../harness/redis-server.js';
import { startLattice, until, waitForEvent, type LatticeFixture } from '../lattice/fixture.js';
import { testLogger } from './helpers.js';

const CONTRACT = 'wasmesh:httpserver';
const PROVIDER = 'http';

let lat: LatticeFixture;
let state: LinkState;
let provider: Provider<LinkRoute>;
let events: AsyncIterable<LatticeEvent> & { close(): void };
let base: string;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
  const host = lat.hosts[0]!;
  state = await lat.client.state();
  events = lat.client.events({ types: ['link_status'] });
  const objects = await lat.client.objects();
  for (const [actorId, name] of [
    ['web', 'testbed'],
    ['hello', 'hello'],
  ] as const) {
    const ref = await objects.pushArtifact(readFileSync(actorPath(name)));
    await lat.client.control.startActor({ hostId: host.hostId, actorId, artifactRef: ref, maxConcurrent: 64 });
  }
  await state.putConfig('http-main', {
    address: '127.0.0.1:0',
    max_body_bytes: '1024',
    headers_timeout_ms: '500',
    request_timeout_ms: '1500',
  });
  provider = createHttpServerProvider({
    ...(await lat.nats.processAccess(lat.lattice, 'provider', PROVIDER)),
    lattice: lat.lattice,
    providerId: PROVIDER,
    config: ['http-main'],
    logger: testLogger(),
    drainTimeoutMs: 2000,
  });
  await provider.start();
  base = (await state.providers.get(PROVIDER))!.annotations!.url!;
  expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await state.putConfig('web-api', { path: '/api' });
  await state.putConfig('hello-root', { path: '/' });
  expect((await link('web', ['web-api'])).data.ok).toBe(true);
  expect((await link('hello', ['hello-root'])).data.ok).toBe(true);
}, 60_000);

afterAll(async () => {
  events?.close();
  await provider?.close();
  await lat?.[Symbol.asyncDispose]();
});

/** Puts a link from `actor` to the provider and waits for the provider's verdict. */
async function link(actor: string, config: string[], name = 'default') {
  const verdict = waitForEvent(
    events,
    (e) => e.type === 'link_status' && e.data.link?.sourceId === actor && (e.data.link?.name || 'default') === name,
  );
  await state.putLink({ sourceId: actor, contract: CONTRACT, name, targetId: PROVIDER, config });
  return (await verdict) as Extract<LatticeEvent, { type: 'link_status' }>;
}

/** Sends `raw` bytes on a new connection and resolves with everything received until it closes. */
function rawExchange(port: number, raw: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${timeoutMs} ms; got ${JSON.stringify(got)}`));
    }, timeoutMs);
    socket.on('data', (d) => (got += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.write(raw);
  });
}

const port = (): number => Number(new URL(base).port);

describe('routing', () => {
  test('by path prefix: the request reaches the actor whole (method, path, query, headers, body)', async () => {
    const res = await fetch(`${base}/api/echo?x=1&y=%20`, {
      method: 'POST',
      headers: { 'X-Custom': 'Value', 'content-type': 'text/plain' },
      body: 'payload',
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('POST /api/echo?x=1&y=%20\npayload');
    expect(res.headers.get('x-echo-x-custom')).toBe('Value');
    expect(res.headers.get('x-echo-content-length')).toBe('7');
    const hello = await fetch(`${base}/hello/Ada`);
    expect(await hello.text()).toBe('Hello, Ada!\n');
    expect(hello.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  test('a response body reaches the client byte for byte (every byte value)', async () => {
    const body = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const res = await fetch(`${base}/api/echo`, { method: 'POST', body });
    const got = Buffer.from(await res.arrayBuffer());
    expect(got.subarray(got.indexOf(0x0a) + 1).equals(body)).toBe(true);
    expect(res.headers.get('content-length')).toBe(String(got.length));
  });

  test('prefixes match whole segments, the longest wins, and exact hosts beat wildcards beat any host', async () => {
    expect(await (await fetch(`${base}/apix`)).text()).toBe('Hello, apix!\n');
    expect(await (await fetch(`${base}/api`)).text()).toBe('GET /api?\n');
    await state.putConfig('web-vhost', { host: '*.example.com', path: '/' });
    expect((await link('web', ['web-vhost'], 'vhost')).data.ok).toBe(true);
    const viaHost = (host: string, path = '/hello/x') =>
      rawExchange(port(), `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(await viaHost('shop.example.com:8080')).toContain('GET /hello/x?');
    expect(await viaHost('example.com')).toContain('Hello, x!');
    expect(await viaHost('other.org')).toContain('Hello, x!');
    await state.deleteLink('web', CONTRACT, 'vhost');
    await until('the vhost route to go', async () => (await viaHost('shop.example.com')).includes('Hello, x!'));
  });

  test('strip_prefix hands the actor the path below the prefix', async () => {
    await state.putConfig('web-api', { path: '/api', strip_prefix: 'true' });
    await until(
      'the route to strip its prefix',
      async () => (await (await fetch(`${base}/api/a/b`)).text()) === 'GET /a/b?\n',
    );
    expect(await (await fetch(`${base}/api`)).text()).toBe('GET /?\n');
    await state.putConfig('web-api', { path: '/api' });
    await until('the prefix to stay', async () => (await (await fetch(`${base}/api/a`)).text()) === 'GET /api/a?\n');
  });

  test('a config change moves a route live, without a restart of the provider', async () => {
    const pidBefore = (await state.providers.get(PROVIDER))?.startedAtMs;
    await state.putConfig('web-api', { path: '/v2' });
    await until('the route to move', async () => (await fetch(`${base}/v2/echo`)).headers.has('x-echo-host'));
    expect(await (await fetch(`${base}/api/echo`)).text()).toBe('Hello, echo!\n'); // falls to hello's '/'
    await state.putConfig('web-api', { path: '/api' });
    await until('the route to move back', async () => (await fetch(`${base}/api/echo`)).headers.has('x-echo-host'));
    expect((await state.providers.get(PROVIDER))?.startedAtMs).toBe(pidBefore);
  });

  test('a link with its own address gets its own listener, closed with the link', async () => {
    const own = await freePort();
    await state.putConfig('hello-own', { address: `127.0.0.1:${own}` });
    expect((await link('hello', ['hello-own'], 'own')).data.ok).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${own}/hello/Own`)).text()).toBe('Hello, Own!\n');
    await state.deleteLink('hello', CONTRACT, 'own');
    await until('the listener to close', () =>
      fetch(`http://127.0.0.1:${own}/`).then(
        () => false,
        () => true,
      ),
    );
  });

  test('keep-alive: one connection serves several requests', async () => {
    const answers = await new Promise<string>((resolve) => {
      const socket = net.connect(port(), '127.0.0.1');
      let got = '';
      socket.on('data', (d) => {
        got += d.toString();
        if ((got.match(/Hello, /g) ?? []).length === 3) {
          socket.destroy();
          resolve(got);
        }
      });
      const req = (name: string) => `GET /hello/${name} HTTP/1.1\r\nHost: x\r\n\r\n`;
      socket.write(req('one') + req('two'));
      setTimeout(() => socket.write(req('three')), 100);
    });
    expect(answers.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3);
    expect(answers).toMatch(/Hello, one![\s\S]*Hello, two![\s\S]*Hello, three!/);
    expect(answers.toLowerCase()).toContain('connection: keep-alive');
  });
});

describe('errors', () => {
  test('no route: 404 naming host and path, as text or JSON', async () => {
    await state.deleteLink('hello', CONTRACT, 'default');
    await until('the root route to go', async () => (await fetch(`${base}/nowhere`)).status === 404);
    const text = await rawExchange(port(), 'GET /nowhere?q=1 HTTP/1.1\r\nHost: H.test:80\r\nConnection: close\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(text.toLowerCase()).toContain('x-wasmesh-error: wasmesh_err_not_found');
    expect(text).toContain(
      '\r\n\r\n404 Not Found: no route for host "h.test" and path "/nowhere": no actor is linked for it (wasmesh get links)\n',
    );
    const json = await fetch(`${base}/nowhere`, { headers: { accept: 'application/json' } });
    expect(await json.json()).toEqual({
      error: { code: 'WASMESH_ERR_NOT_FOUND', message: expect.stringContaining('no route for host') },
    });
    expect((await link('hello', ['hello-root'])).data.ok).toBe(true);
  });

  test('bodies over the limit: 413 from Content-Length before reading, and from a chunked body while reading', async () => {
    const big = await fetch(`${base}/api/echo`, { method: 'POST', body: 'x'.repeat(1025) });
    expect(big.status).toBe(413);
    expect(await big.text()).toContain("larger than this route's limit of 1024 bytes");
    const chunked = await rawExchange(
      port(),
      `POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'y'.repeat(1024)}\r\n1\r\nz\r\n0\r\n\r\n`,
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
    expect(chunked.toLowerCase()).toContain('x-wasmesh-error: wasmesh_err_payload_too_large');
    const exact = await fetch(`${base}/api/echo`, { method: 'POST', body: 'x'.repeat(1024) });
    expect(exact.status).toBe(200);
  });

  test('a failing actor: 502 with the reason; an invalid answer: 502 naming what was wrong', async () => {
    const trap = await fetch(`${base}/api/trap`);
    expect(trap.status).toBe(502);
    expect(trap.headers.get('x-wasmesh-error')).toBe('WASMESH_ERR_TRAP');
    expect(await trap.text()).toContain('actor "web"');
    const fail = await fetch(`${base}/api/fail`);
    expect([fail.status, await fail.text()]).toEqual([502, expect.stringContaining('testbed refuses /api/fail')]);
    const status = await fetch(`${base}/api/status/99`);
    expect([status.status, await status.text()]).toEqual([502, expect.stringContaining('answered with status 99')]);
    expect((await fetch(`${base}/api/status/418`)).status).toBe(418);
    const header = await fetch(`${base}/api/badheader`);
    expect([header.status, await header.text()]).toEqual([502, expect.stringContaining('invalid header')]);
    // The actor must handle the contract's operation: echo has no HttpServer.HandleRequest.
  });

  test('an actor that does not answer in time: 504; an actor that runs nowhere: 503', async () => {
    await state.putConfig('web-slow', { path: '/slow', timeout_ms: '300' });
    expect((await link('web', ['web-slow'], 'slow')).data.ok).toBe(true);
    const started = Date.now();
    const slow = await fetch(`${base}/slow/spin`);
    expect(slow.status).toBe(504);
    expect(slow.headers.get('x-wasmesh-error')).toBe('WASMESH_ERR_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    await state.putConfig('ghost-route', { path: '/ghost' });
    expect((await link('ghost', ['ghost-route'])).data.ok).toBe(true);
    const ghost = await fetch(`${base}/ghost`);
    expect(ghost.status).toBe(503);
    expect(ghost.headers.get('x-wasmesh-error')).toBe('WASMESH_ERR_NO_RESPONDERS');
    expect(await ghost.text()).toContain('actor "ghost"');
    // The host is unharmed.
    expect((await fetch(`${base}/api/echo`)).status).toBe(200);
  });

  test('conflicting or invalid route config is refused, and the reason reaches the link put', async () => {
    await state.putConfig('hello-api', { path: '/api/' });
    const clash = await link('hello', ['hello-api'], 'clash');
    expect(clash.data.ok).toBe(false);
    expect(clash.data.error?.message).toContain('already taken by actor "web"');
    await state.putConfig('bad-path', { path: 'api', timeout_ms: '5' });
    const bad = await link('hello', ['bad-path'], 'bad');
    expect(bad.data.error).toMatchObject({
      code: 'WASMESH_ERR_CONFIG',
      message: expect.stringContaining('"path" is "api"'),
    });
    await state.putConfig('bad-host', { host: 'exa mple.com' });
    expect((await link('hello', ['bad-host'], 'bad')).data.error?.message).toContain('not a host name');
    await state.putConfig('bad-addr', { address: 'localhost:99999' });
    expect((await link('hello', ['bad-addr'], 'bad')).data.error?.message).toContain('not a listen address');
    const taken = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    await state.putConfig('busy-addr', { address: `127.0.0.1:${(taken.address() as net.AddressInfo).port}` });
    expect((await link('hello', ['busy-addr'], 'bad')).data.error?.message).toContain('already in use');
    taken.close();
    expect((await fetch(`${base}/api/echo`)).status).toBe(200);
  });

  test('malformed HTTP: 400 naming the problem; a huge head: 431; the server keeps serving', async () => {
    const garbage = await rawExchange(port(), 'THIS IS NOT HTTP\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(garbage).toContain('malformed HTTP request (HPE_');
    const badHeader = await rawExchange(port(), 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
    expect(badHeader).toMatch(/^HTTP\/1\.1 400 /);
    const huge = await rawExchange(port(), `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    const star = await rawExchange(port(), 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(star).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${base}/hello/again`)).status).toBe(200);
  });

  test('no HTTP version: 400; HTTP/2.0 over HTTP/1: 505; the connection closes, nothing reaches an actor', async () => {
    const v09 = await rawExchange(port(), 'GET /api/echo\r\n\r\n');
    expect(v09).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(v09.toLowerCase()).toContain('x-wasmesh-error: wasmesh_err_bad_request');
    expect(v09.toLowerCase()).toContain('connection: close');
    expect(v09).toContain('400 Bad Request: the request line has no HTTP version (HTTP/0.9 is not served)');
    expect(v09).not.toContain('x-echo');
    const v2 = await rawExchange(port(), 'GET /api/echo HTTP/2.0\r\nHost: x\r\n\r\n');
    expect(v2).toMatch(/^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
    expect(v2).toContain('HTTP/2.0 is not supported here; use HTTP/1.1');
    expect((await fetch(`${base}/hello/again`)).status).toBe(200);
  });

  test('dot segments, raw or percent-encoded: 400, never routed by prefix', async () => {
    for (const path of ['/api/../hello', '/api/./echo', '/api/%2e%2E/hello', '/api/.%2e', '/..']) {
      const answer = await rawExchange(port(), `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect({ path, status: answer.split('\r\n')[0] }).toEqual({ path, status: 'HTTP/1.1 400 Bad Request' });
      expect(answer).toContain(`the path "${path}" has a "." or ".." segment`);
      expect(answer).not.toContain('x-echo');
    }
    // Dots inside a segment are ordinary names.
    expect((await fetch(`${base}/api/echo/a..b/.well-known`)).status).toBe(200);
  });

  test('a chunk-size overflow: 400 naming it, though the request was already being served', async () => {
    const overflow = await rawExchange(
      port(),
      'POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n',
    );
    expect(overflow).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(overflow).toContain('malformed HTTP request (HPE_INVALID_CHUNK_SIZE');
    expect(overflow.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    const first = await rawExchange(
      port(),
      'POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n',
    );
    expect(first).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${base}/api/echo`)).status).toBe(200);
  });

  test('CONNECT: 501 Not Implemented (no proxy here), then the connection closes', async () => {
    const connect = await rawExchange(port(), 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(connect).toMatch(/^HTTP\/1\.1 501 Not Implemented\r\n/);
    expect(connect.toLowerCase()).toContain('x-wasmesh-error: wasmesh_err_bad_request');
    expect(connect).toContain('CONNECT is not served here');
    expect((await fetch(`${base}/hello/again`)).status).toBe(200);
  });

  test('a listener on a non-loopback address gives no details by default: no actor id, no lattice, no parser text', async () => {
    const open = await freePort();
    await state.putConfig('phantom-public', { address: `0.0.0.0:${open}` });
    expect((await link('phantom', ['phantom-public'], 'public')).data.ok).toBe(true);
    const text = await rawExchange(open, 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(text.toLowerCase()).toContain('x-wasmesh-error: wasmesh_err_no_responders');
    expect(text.endsWith('\r\n\r\n503 Service Unavailable: Service Unavailable\n')).toBe(true);
    expect(text).not.toContain('phantom');
    expect(text).not.toContain(lat.lattice);
    const json = await fetch(`http://127.0.0.1:${open}/x`, { headers: { accept: 'application/json' } });
    expect(await json.json()).toEqual({ error: { code: 'WASMESH_ERR_NO_RESPONDERS', message: 'Service Unavailable' } });
    const garbage = await rawExchange(open, 'THIS IS NOT HTTP\r\n\r\n');
    expect(garbage.endsWith('\r\n\r\n400 Bad Request: Bad Request\n')).toBe(true);
    // The loopback listener of the same provider still says why.
    expect(await (await fetch(`${base}/ghost`)).text()).toContain('actor "ghost"');
    await state.deleteLink('phantom', CONTRACT, 'public');
  });

  test('slowloris: a client trickling its head is answered 408 and cut off; others are served meanwhile', async () => {
    const socket = net.connect(port(), '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    const started = Date.now();
    socket.write('GET /hello/slow HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('X-A: b\r\n'), 100);
    expect((await fetch(`${base}/hello/fast`)).status).toBe(200);
    const end = await closed;
    clearInterval(trickle);
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
    expect(end - started).toBeLessThan(2500); // headers_timeout_ms 500, checked every 500 ms
    // A connection that sends nothing at all is cut off too.
    const silent = await rawExchange(port(), '', 5000);
    expect(silent === '' || silent.startsWith('HTTP/1.1 408')).toBe(true);
  });
});

describe('route table and config (no network)', () => {
  const server = parseServerConfig({});
  const route = (linkKey: string, actorId: string, config: Record<string, string>) => ({
    linkKey,
    actorId,
    linkName: 'default',
    config: parseRouteConfig(config, server),
  });

  test('the most specific route wins and prefixes match whole segments', () => {
    const table = new RouteTable();
    table.add(route('a', 'root', {}));
    table.add(route('b', 'api', { path: '/api/' }));
    table.add(route('c', 'apiv2', { path: '/api/v2', strip_prefix: 'true' }));
    table.add(route('d', 'wild', { host: '*.Example.com', path: '/api' }));
    table.add(route('e', 'exact', { host: 'www.example.com' }));
    const who = (host: string, path: string) => table.match(host, path)?.route.actorId;
    expect(who('', '/api/x')).toBe('api');
    expect(who('', '/apix')).toBe('root');
    expect(who('', '/api/v2/users')).toBe('apiv2');
    expect(table.match('', '/api/v2/users')?.path).toBe('/users');
    expect(table.match('', '/api/v2')?.path).toBe('/');
    expect(who('shop.example.com', '/api/x')).toBe('wild');
    expect(who('example.com', '/api/x')).toBe('api');
    expect(who('www.example.com', '/api/x')).toBe('exact');
    table.remove(table.match('www.example.com', '/')!.route);
    expect(who('www.example.com', '/api/x')).toBe('wild');
  });

  test('defaults and limits of the server config', () => {
    expect(server).toMatchObject({
      address: { host: '0.0.0.0', port: 8080 },
      maxBodyBytes: 10485760,
      timeoutMs: 30000,
    });
    expect(parseServerConfig({ address: ':9000' }).address).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseServerConfig({ address: '[::1]:9000' }).address).toEqual({ host: '::1', port: 9000 });
    expect(() => parseServerConfig({ timeout_ms: '-1' })).toThrow(
      '"timeout_ms" is "-1": expected a whole number from 1',
    );
    expect(() => parseServerConfig({ error_details: 'maybe' })).toThrow('expected true or false');
    expect(server.errorDetails).toBeUndefined(); // by the listener's address
    expect(parseServerConfig({ error_details: 'true' }).errorDetails).toBe(true);
    expect(parseServerConfig({ error_details: 'false' }).errorDetails).toBe(false);
  });

  test('loopback addresses: error details are on by default only there', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) {
      expect([host, isLoopback(host)]).toEqual([host, true]);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1', '::ffff:10.0.0.1']) {
      expect([host, isLoopback(host)]).toEqual([host, false]);
    }
  });
});
