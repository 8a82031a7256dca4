/**
 * Fuzzing the http-server provider: its pure edges (request target, Host header, error answers,
 * error codes from the lattice), then a real listener (provider in this process, the `testbed`
 * actor on a real host process) sent arbitrary but well-formed requests — each reaches the actor
 * whole (method, path, query, headers, body) or gets a clear 4xx — and raw garbage on a socket,
 * where every answer is a valid HTTP status line or a clean close, and a good request is served after.
 */
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { fromErrorInfo, type LatticeEvent, type LinkState } from '@wasmesh/lattice';
import {
  createHttpServerProvider,
  errorAnswer,
  hasDotSegment,
  hostOf,
  rawErrorAnswer,
  splitTarget,
  statusFor,
  type LinkRoute,
} from '@wasmesh/provider-http-server';
import type { Provider } from '@wasmesh/provider-sdk';
import { actorPath } from '../fixtures.js';
import { anyBytes, fc, fuzzBudget } from '../fuzz.js';
import { startLattice, waitForEvent, type LatticeFixture } from '../lattice/fixture.js';
import { testLogger } from './helpers.js';

const CONTRACT = 'wasmesh:httpserver';
const PROVIDER = 'http-fuzz';
/** The route's body limit. */
const MAX_BODY = 1024;

describe('pure edges', () => {
  test('splitTarget and hostOf take any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.webUrl(), fc.webPath()), (s) => {
        const t = splitTarget(s);
        if (t) expect(typeof t.path === 'string' && typeof t.query === 'string').toBe(true);
        expect(typeof hostOf(s)).toBe('string');
      }),
      fuzzBudget(1000, 2000),
    );
    expect(typeof hostOf(undefined)).toBe('string');
  });

  test('an error answer is a valid HTTP answer, whatever its status, code and message', () => {
    const status = fc.integer({ min: 100, max: 999 });
    fc.assert(
      fc.property(status, fc.string({ unit: 'binary' }), fc.boolean(), fc.boolean(), (s, message, json, details) => {
        const { headers, body } = errorAnswer(s, 'WASMESH_ERR_BAD_REQUEST', message, { json, details });
        for (const [k, v] of Object.entries(headers)) expect(() => http.validateHeaderValue(k, v)).not.toThrow();
        expect(Number(headers['content-length'])).toBe(Buffer.byteLength(body));
        if (json) expect(JSON.parse(body)).toMatchObject({ error: { code: 'WASMESH_ERR_BAD_REQUEST' } });
        const raw = rawErrorAnswer(s, 'WASMESH_ERR_BAD_REQUEST', message, details);
        expect(raw).toMatch(/^HTTP\/1\.1 \d{3} [^\r\n]*\r\n/);
      }),
      fuzzBudget(500, 2000),
    );
  });

  test('an error from the lattice, whatever code it carries, answers with a valid X-Wasmesh-Error header', () => {
    // Regression: a peer's error code with a line break would have made writeHead throw while failing.
    const info = fc.record({ code: fc.string({ unit: 'binary' }), message: fc.string({ unit: 'binary' }) });
    fc.assert(
      fc.property(info, (i) => {
        const [status, code] = statusFor(fromErrorInfo(i));
        const { headers } = errorAnswer(status, code, i.message, { json: false, details: true });
        expect(() => http.validateHeaderValue('x-wasmesh-error', headers['x-wasmesh-error']!)).not.toThrow();
      }),
      { ...fuzzBudget(500, 2000), examples: [[{ code: 'X\r\nSet-Cookie: a=b', message: 'm' }]] },
    );
  });
});

describe('a real listener', () => {
  let lat: LatticeFixture;
  let state: LinkState;
  let provider: Provider<LinkRoute>;
  let port: number;

  beforeAll(async () => {
    lat = await startLattice({ hosts: [{}] });
    const host = lat.hosts[0]!;
    state = await lat.client.state();
    const events = lat.client.events({ types: ['link_status'] });
    const objects = await lat.client.objects();
    const ref = await objects.pushArtifact(readFileSync(actorPath('testbed')));
    await lat.client.control.startActor({ hostId: host.hostId, actorId: 'web', artifactRef: ref, maxConcurrent: 64 });
    await state.putConfig('fuzz-main', {
      address: '127.0.0.1:0',
      max_body_bytes: String(MAX_BODY),
      headers_timeout_ms: '500',
      request_timeout_ms: '1500',
    });
    provider = createHttpServerProvider({
      ...(await lat.nats.processAccess(lat.lattice, 'provider', PROVIDER)),
      lattice: lat.lattice,
      providerId: PROVIDER,
      config: ['fuzz-main'],
      logger: testLogger(),
      drainTimeoutMs: 2000,
    });
    await provider.start();
    port = Number(new URL((await state.providers.get(PROVIDER))!.annotations!.url!).port);
    await state.putConfig('fuzz-api', { path: '/api' });
    const verdict = waitForEvent(
      events,
      (e: LatticeEvent) => e.type === 'link_status' && e.data.link?.sourceId === 'web',
    );
    await state.putLink({
      sourceId: 'web',
      contract: CONTRACT,
      name: 'default',
      targetId: PROVIDER,
      config: ['fuzz-api'],
    });
    expect((await verdict).type === 'link_status' && (await verdict).data).toMatchObject({ ok: true });
    events.close();
  }, 60_000);

  afterAll(async () => {
    await provider?.close();
    await lat?.[Symbol.asyncDispose]();
  });

  /**
   * Sends `raw` on a new connection and resolves with all bytes received until the server closes
   * it, or until `timeoutMs` (a connection kept alive after a complete answer stays open).
   * The client never half-closes: Node's server aborts the requests of a half-closed connection.
   */
  function exchange(raw: Buffer, timeoutMs = 4000): Promise<{ data: Buffer; closed: boolean }> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      const done = (closed: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ data: Buffer.concat(chunks), closed });
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      socket.on('data', (d) => chunks.push(d));
      socket.on('error', () => undefined);
      socket.on('close', () => done(true));
      socket.write(raw);
    });
  }

  /** One answer read off a connection. */
  interface Answer {
    status: number;
    headers: Record<string, string>;
    body: Buffer;
  }

  /** Every answer in `data`, one after the other (framed by Content-Length); each must start with a valid status line. */
  function answers(data: Buffer): Answer[] {
    const out: Answer[] = [];
    let at = 0;
    while (at < data.length) {
      const end = data.indexOf('\r\n\r\n', at);
      expect(end).toBeGreaterThan(at);
      const [statusLine, ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
      expect(statusLine).toMatch(/^HTTP\/1\.1 [1-5]\d\d [^\r\n]*$/);
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        // Optional whitespace is SP and HTAB only (trim() would also take 0xa0, a valid obs-text byte).
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      }
      const length = Number(headers['content-length'] ?? 0);
      out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: data.subarray(end + 4, end + 4 + length) });
      at = end + 4 + length;
    }
    return out;
  }

  /** The first answer in `data`. */
  function firstAnswer(data: Buffer): Answer {
    return answers(data)[0]!;
  }

  /** A good request is still served. */
  async function stillServing(): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${port}/api/alive?x=1`, { method: 'POST', body: 'ok' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('POST /api/alive?x=1\nok');
  }

  /** Methods Node's parser knows (others are a 400 from the parser); CONNECT is 501, tested apart. */
  const KNOWN_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL', 'SEARCH', 'PURGE'];
  const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/);
  /** Headers the framing owns or that change the exchange (upgrade, 100-continue): sent apart, not echoed. */
  const FRAMING =
    /^(content-length|transfer-encoding|host|connection|expect|upgrade|te|trailer|keep-alive|proxy-connection|traceparent|tracestate)$/i;
  // Visible ASCII and obs-text (bytes 0x80-0xff, which HTTP/1.1 still allows in values).
  const headerValue = fc.stringMatching(/^[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff]{0,40}[\x21-\x7e\x80-\xff])?$/);
  const request = fc.record({
    method: fc.oneof(fc.constantFrom(...KNOWN_METHODS), token),
    path: fc.oneof(
      fc.webPath().map((p) => `/api${p}`),
      fc.webPath().map((p) => `/${p.replace(/^\/+/, '')}`),
      // Bytes a URL should not hold raw (quotes, brackets, obs-text, a bad %-escape): the parser may refuse them.
      fc.stringMatching(/^[\x21-\x22\x24-\x3e\x40-\x7e\x80-\xff]{0,30}$/).map((p) => `/api/${p}`),
    ),
    query: fc.option(fc.webQueryParameters(), { nil: undefined }),
    headers: fc.uniqueArray(fc.tuple(token, headerValue), {
      maxLength: 6,
      selector: ([name]) => name.toLowerCase(),
    }),
    body: anyBytes(MAX_BODY + 300),
  });

  test('well-formed requests reach the actor whole, or get a clear 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        // The testbed actor fails on purpose for these paths.
        fc.pre(!/\/(spin|trap|fail|badheader)$|\/status\//.test(r.path));
        const headers = r.headers.filter(([n]) => !FRAMING.test(n));
        const target = r.query === undefined ? r.path : `${r.path}?${r.query}`;
        const head =
          `${r.method} ${target} HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n` +
          headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') +
          `Content-Length: ${r.body.length}\r\n\r\n`;
        const { data } = await exchange(Buffer.concat([Buffer.from(head, 'latin1'), r.body]));
        const answer = firstAnswer(data);
        const routed = r.path === '/api' || r.path.startsWith('/api/');
        const known =
          KNOWN_METHODS.includes(r.method) ||
          /^(HEAD|CONNECT|TRACE|COPY|LOCK|MOVE|UNLOCK|PROPPATCH|REPORT|MKACTIVITY|CHECKOUT|MERGE|M-SEARCH|NOTIFY|SUBSCRIBE|UNSUBSCRIBE|LINK|UNLINK|SOURCE|BIND|REBIND|UNBIND|ACL|MKCALENDAR|QUERY)$/.test(
            r.method,
          );
        const expected = !known
          ? 400
          : r.method === 'CONNECT'
            ? 501
            : hasDotSegment(r.path) // refused before routing: a `.`/`..` segment would be routed by its prefix
              ? 400
              : !routed
                ? 404
                : r.body.length > MAX_BODY
                  ? 413
                  : 200;
        // A path outside RFC 3986's characters may be refused by Node's parser (400), never worse.
        const odd = !/^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/.test(r.path);
        expect({ target, method: r.method, status: answer.status }).toEqual({
          target,
          method: r.method,
          status: odd && answer.status === 400 ? 400 : expected,
        });
        if (answer.status >= 400) expect(answer.headers['x-wasmesh-error']).toMatch(/^WASMESH_ERR_[A-Z_]+$/);
        if (answer.status === 200 && r.method !== 'HEAD') {
          // The actor echoes what it got: method, path, query, body and every header.
          const echoed = Buffer.concat([Buffer.from(`${r.method} ${r.path}?${r.query ?? ''}\n`), r.body]);
          expect(answer.body.equals(echoed)).toBe(true);
          for (const [n, v] of headers) expect([n, answer.headers[`x-echo-${n.toLowerCase()}`]]).toEqual([n, v]);
        }
      }),
      fuzzBudget(100, 10_000),
    );
    await stillServing();
  }, 60_000);

  /** Raw request heads: valid, nearly valid and garbage lines, odd line ends, chunked bodies with any sizes. */
  const rawRequest = fc
    .record({
      line: fc.oneof(
        fc
          .tuple(
            fc.oneof(fc.constantFrom('GET', 'POST', 'CONNECT', 'HEAD', 'PRI'), token),
            fc.oneof(
              fc.webPath().map((p) => `/api${p}`),
              fc.constantFrom('*', '', 'http://x/api', '//', '/api/../..'),
              fc.string({ maxLength: 30 }),
            ),
            fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 x', 'HTTP/9', 'http/1.1', ''),
          )
          .map((parts) => parts.join(' ')),
        fc.string({ maxLength: 80 }),
      ),
      headers: fc.array(
        fc.oneof(
          fc.tuple(token, headerValue).map(([n, v]) => `${n}: ${v}`),
          fc.constantFrom(
            'Host: x',
            'Transfer-Encoding: chunked',
            'Content-Length: 5',
            'Content-Length: -1',
            'Content-Length: 99999999999999999999',
            'Content-Length: 1, 2',
            'Expect: 100-continue',
            'Connection: upgrade',
            'Upgrade: websocket',
            ' folded continuation',
            'NoColon',
            ': empty name',
            'Bad Name: v',
          ),
          fc.string({ maxLength: 60 }),
          fc.integer({ min: 1, max: 20_000 }).map((n) => `X-Big: ${'a'.repeat(n)}`),
        ),
        { maxLength: 8 },
      ),
      eol: fc.constantFrom('\r\n', '\n', '\r'),
      end: fc.boolean(),
      body: fc.oneof(
        anyBytes(64).map((b) => Buffer.from(b)),
        fc
          .array(
            fc.tuple(
              fc.oneof(
                fc.nat({ max: 40 }).map((n) => n.toString(16)),
                fc.string({ maxLength: 20 }),
              ),
              anyBytes(40),
            ),
            {
              maxLength: 4,
            },
          )
          .map((chunks) =>
            Buffer.concat([
              ...chunks.flatMap(([size, data]) => [Buffer.from(`${size}\r\n`), Buffer.from(data), Buffer.from('\r\n')]),
              Buffer.from('0\r\n\r\n'),
            ]),
          ),
      ),
    })
    .map(({ line, headers, eol, end, body }) =>
      Buffer.concat([Buffer.from([line, ...headers].join(eol) + (end ? eol + eol : ''), 'latin1'), body]),
    );

  /** A good request, then whatever follows on the same connection (pipelined). */
  const good = Buffer.from('GET /api/first HTTP/1.1\r\nHost: x\r\n\r\n');
  const garbage = fc.oneof(
    { weight: 4, arbitrary: rawRequest },
    { weight: 1, arbitrary: anyBytes(300).map((b) => Buffer.from(b)) },
    { weight: 2, arbitrary: rawRequest.map((raw) => Buffer.concat([good, raw])) },
  );

  test('an HTTP/1.1 request without Host is a framed 400 that says why, and the connection closes', async () => {
    // Found by the property below (seed 1208434055): Node's own check answered a bare chunked 400.
    const { data, closed } = await exchange(Buffer.from('GET /api HTTP/1.1\r\n\r\nGET  HTTP/1.10\r\n\r\n'));
    expect(closed).toBe(true);
    const [only, ...rest] = answers(data);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ status: 400, headers: { 'x-wasmesh-error': 'WASMESH_ERR_BAD_REQUEST' } });
    expect(only!.body.toString()).toContain('must carry a Host header');
  });

  test('a good request pipelined before a malformed one keeps its answer; the refusal follows and the connection closes', async () => {
    const { data, closed } = await exchange(
      Buffer.from('GET /api/first HTTP/1.1\r\nHost: x\r\n\r\nGET /api/second HTTP/1.1\r\nBad Name: v\r\n\r\n'),
    );
    expect(closed).toBe(true);
    const [first, second, ...rest] = answers(data);
    expect(first).toMatchObject({ status: 200 });
    expect(first!.body.toString()).toBe('GET /api/first?\n');
    expect(second).toMatchObject({ status: 400, headers: { 'x-wasmesh-error': 'WASMESH_ERR_BAD_REQUEST' } });
    expect(rest).toEqual([]);
  });

  test('raw garbage on a socket: every answer is a valid status line or a clean close, and serving goes on', async () => {
    const seen = new Map<number | 'closed', number>();
    await fc.assert(
      fc.asyncProperty(fc.array(garbage, { minLength: 1, maxLength: 8 }), async (batch) => {
        // A batch goes in parallel: an incomplete request waits for the server's 408.
        for (const { data, closed } of await Promise.all(batch.map((raw) => exchange(raw, 3000)))) {
          if (data.length === 0) {
            // Nothing answered: the server must have closed the connection, not left it hanging.
            expect(closed).toBe(true);
            seen.set('closed', (seen.get('closed') ?? 0) + 1);
            continue;
          }
          // Every answer on the connection (pipelined ones too) is well framed and never a server
          // failure: 100 Continue, the actor's answers (200), refusals (4xx), 501 CONNECT, 505 other versions.
          for (const answer of answers(data)) {
            seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
            expect([100, 200, 400, 404, 408, 413, 431, 501, 505]).toContain(answer.status);
          }
        }
      }),
      fuzzBudget(30, 15_000),
    );
    expect(seen.size).toBeGreaterThan(1);
    await stillServing();
  }, 60_000);
});
