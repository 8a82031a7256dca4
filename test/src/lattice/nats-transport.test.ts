/**
 * The NATS transport of every wasmesh process (lattice/src/nats-transport.ts): a connection
 * attempt that fails leaves no socket behind (nats.js 3.4 kept it open and the CLI hung after its
 * error, issue 10), and a connection that succeeds works as before (TLS, credentials).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { credsAuthenticator } from '@nats-io/transport-node';
import { connectNatsTransport as connect } from '@wasmesh/lattice';
import { NatsServer } from '../harness/nats-server.js';

test('a connection attempt that times out against a silent listener closes its socket', async () => {
  const accepted: Socket[] = [];
  const closed: Promise<void>[] = [];
  const silent = createServer((socket) => {
    accepted.push(socket);
    closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const port = (silent.address() as { port: number }).port;
    await expect(connect({ servers: `nats://127.0.0.1:${port}`, timeout: 300, reconnect: false })).rejects.toThrow(
      /timeout/,
    );
    expect(accepted).toHaveLength(1);
    // The client hung up: the listener sees its end of the connection close.
    const hungUp = await Promise.race([
      Promise.all(closed).then(() => true),
      new Promise((r) => setTimeout(() => r(false), 3000)),
    ]);
    expect(hungUp).toBe(true);
  } finally {
    for (const s of accepted) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('a connection that succeeds works as before (TLS and credentials)', async () => {
  await using nats = await NatsServer.start();
  const { servers, creds, tlsCa } = await nats.access('transport');
  const nc = await connect({
    servers,
    authenticator: credsAuthenticator(readFileSync(creds!)),
    tls: { caFile: tlsCa! },
    reconnect: false,
  });
  await nc.flush();
  expect(nc.info?.tls_required).toBe(true);
  await nc.close();
});
