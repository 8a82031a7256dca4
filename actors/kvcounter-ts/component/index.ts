/**
 * The kvcounter example in TypeScript: a WebAssembly component serving wasi:http that answers
 * `GET /counter/<name>` as the AssemblyScript kvcounter does, by incrementing `counter:<name>` in
 * the key-value store of its `default` keyvalue link (through wasi:keyvalue) and returning the new
 * count. Both store the counter the same way, so they can share a link's counters.
 */
import { open, type Error as StoreError } from 'wasi:keyvalue/store@0.2.0-draft';
import { increment } from 'wasi:keyvalue/atomics@0.2.0-draft';
import { log } from 'wasi:logging/logging@0.1.0-draft';

const PREFIX = '/counter/';

function text(status: number, body: string): Response {
  return new Response(`${body}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/** What a failed store call threw, in words. */
function describe(err: unknown): string {
  const payload = (err as { payload?: StoreError }).payload;
  if (!payload) return String(err);
  return payload.tag === 'other' ? payload.val : payload.tag;
}

function handle(request: Request): Response {
  const path = new URL(request.url).pathname;
  if (!path.startsWith(PREFIX)) return text(404, 'try GET /counter/<name>');
  if (request.method !== 'GET') return text(405, 'only GET is allowed');
  const name = path.substring(PREFIX.length);
  if (name.length === 0 || name.length > 200) return text(400, 'the counter name must be 1-200 characters');
  try {
    const count = increment(open('default'), `counter:${name}`, 1n);
    return text(200, count.toString());
  } catch (err) {
    log('warn', 'kvcounter', `increment of ${name} failed: ${describe(err)}`);
    return text(503, `the key-value store is unavailable: ${describe(err)}`);
  }
}

addEventListener('fetch', (event) => {
  const fetch = event as FetchEvent;
  fetch.respondWith(handle(fetch.request));
});
