/**
 * The hello example in TypeScript: a WebAssembly component serving wasi:http, built with
 * componentize-js. The HTTP server provider routes requests to it as to any HTTP actor, and it
 * answers as the AssemblyScript hello does: the last path segment is the name,
 * `GET /hello/Ada` -> `Hello, Ada!`.
 *
 * componentize-js runs the module in StarlingMonkey, a JS engine with the web's fetch API: an HTTP
 * request arrives as a `fetch` event, and the `Response` given to `respondWith` is the answer.
 */

function greeting(name: string): string {
  return `Hello, ${name.length > 0 ? name : 'World'}!`;
}

addEventListener('fetch', (event) => {
  // A fetch event (the service-worker one); the worker lib types the listener's event generically.
  const fetch = event as FetchEvent;
  const path = new URL(fetch.request.url).pathname;
  fetch.respondWith(
    new Response(`${greeting(path.substring(path.lastIndexOf('/') + 1))}\n`, {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    }),
  );
});
