/**
 * testbed-ts: a component that misbehaves on request, for the runtime's tests of components (what
 * testbed is for waPC modules). Not an example to copy. The path chooses what it does:
 *
 *   /spin          loops forever (the deadline must stop it)
 *   /bomb          allocates until memory runs out (the memory cap must stop it)
 *   /log/<text>    writes <text> to stdout and stderr, then answers `logged`
 *   /fetch/<host>  makes an outgoing request to http://<host>/ and answers what became of it
 *   /calls         counts its calls in a module variable: a fresh instance per call answers 1
 *   /big/<n>       answers n bytes
 *   /echo          answers the request: method, path, query, headers and body
 *   /status/<n>    answers status n
 *   /kv/<store>    goes through wasi:keyvalue on the store (link) <store> and answers what each
 *                  step returned, as JSON (or the error a step threw)
 *   /config/<key>  answers wasi:config's value of <key> and all of the actor's config, as JSON
 *   /wasilog/<t>   logs <t> through wasi:logging at level error, context `testbed`
 */
import { open, type Error as StoreError } from 'wasi:keyvalue/store@0.2.0-draft';
import { increment } from 'wasi:keyvalue/atomics@0.2.0-draft';
import { getMany } from 'wasi:keyvalue/batch@0.2.0-draft';
import { get, getAll } from 'wasi:config/store@0.2.0-draft';
import { log } from 'wasi:logging/logging@0.1.0-draft';

let calls = 0;

const json = (value: unknown, status = 200): Response =>
  new Response(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    {
      status,
      headers: { 'content-type': 'application/json' },
    },
  );

/** Every operation of the store named `name`, in order, and what each returned. */
function keyvalueSteps(name: string): Response {
  const steps: [string, unknown][] = [];
  const text = new TextDecoder();
  try {
    const bucket = open(name);
    bucket.set('greeting', new TextEncoder().encode('hello'));
    const got = bucket.get('greeting');
    steps.push(['get', got === undefined ? null : text.decode(got)]);
    steps.push(['get-missing', bucket.get('missing') ?? null]);
    steps.push(['exists', bucket.exists('greeting')]);
    steps.push(['increment', increment(bucket, 'count', 5n)]);
    steps.push(['increment-0', increment(bucket, 'count', 0n)]);
    steps.push([
      'get-many',
      getMany(bucket, ['greeting', 'missing']).map((e) => (e ? [e[0], text.decode(e[1])] : null)),
    ]);
    steps.push(['list-keys', bucket.listKeys(undefined).keys]);
    bucket.delete('greeting');
    steps.push(['exists-after-delete', bucket.exists('greeting')]);
    return json({ steps });
  } catch (err) {
    return json({ steps, error: (err as { payload?: StoreError }).payload ?? String(err) }, 500);
  }
}

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const [what = '', arg = ''] = url.pathname.split('/').filter(Boolean);
  switch (what) {
    case 'spin': {
      let i = 0;
      for (;;) i = (i + 1) | 0;
    }
    case 'bomb': {
      const hoard: Uint8Array[] = [];
      for (;;) hoard.push(new Uint8Array(1 << 20).fill(1));
    }
    case 'log':
      // The guest's stdout and stderr are what this route tests.
      // eslint-disable-next-line no-console
      console.log(`testbed-ts says: ${decodeURIComponent(arg)}`);
      // eslint-disable-next-line no-console
      console.error(`testbed-ts warns: ${decodeURIComponent(arg)}`);
      return new Response('logged');
    case 'fetch':
      try {
        const r = await fetch(`http://${arg}/`);
        return new Response(`fetched: ${r.status} ${await r.text()}`);
      } catch (err) {
        return new Response(`fetch failed: ${String(err)}`, { status: 502 });
      }
    case 'calls':
      calls += 1;
      return new Response(String(calls));
    case 'big':
      return new Response('x'.repeat(Number(arg)));
    case 'echo':
      return new Response(
        JSON.stringify({
          method: request.method,
          path: url.pathname,
          query: url.search,
          host: url.host,
          headers: Object.fromEntries(request.headers),
          body: await request.text(),
        }),
        { headers: { 'content-type': 'application/json' } },
      );
    case 'status':
      return new Response(null, { status: Number(arg) });
    case 'kv':
      return keyvalueSteps(decodeURIComponent(arg));
    case 'config':
      return json({ value: get(decodeURIComponent(arg)) ?? null, all: getAll() });
    case 'wasilog':
      log('error', 'testbed', decodeURIComponent(arg));
      return new Response('logged');
    default:
      return new Response(`unknown testbed route ${url.pathname}`, { status: 404 });
  }
}

addEventListener('fetch', (event) => {
  const fetchEvent = event as FetchEvent;
  fetchEvent.respondWith(handle(fetchEvent.request));
});
