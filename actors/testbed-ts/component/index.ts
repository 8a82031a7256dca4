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
 */

let calls = 0;

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
        return new Response(`fetched: ${r.status}`);
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
    default:
      return new Response(`unknown testbed route ${url.pathname}`, { status: 404 });
  }
}

addEventListener('fetch', (event) => {
  const fetchEvent = event as FetchEvent;
  fetchEvent.respondWith(handle(fetchEvent.request));
});
