/**
 * Child process of the http bench's ceiling case: a plain Node `http` server answering every
 * request with what the `hello` actor answers (`Hello, <last path segment>!` as text/plain).
 * Usage: `node http-ceiling.js`. Prints `ready <port>` once it listens on 127.0.0.1; exits when
 * its stdin closes.
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]!;
  const body = `Hello, ${path.slice(path.lastIndexOf('/') + 1) || 'World'}!\n`;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`ready ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.stdin.on('end', () => {
  server.close();
  server.closeAllConnections();
});
process.stdin.resume();
