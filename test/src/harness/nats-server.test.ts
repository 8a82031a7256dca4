/** The NatsServer harness: a real server with JetStream, restart with reconnect, free ports, no leftovers. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '@wasmesh/lattice';
import { NatsServer } from './nats-server.js';
import { isGone } from './processes.js';

/** Starts an echo responder on `subject` and returns a function sending one request through it. */
function echo(nc: NatsConnection, subject: string): (text: string) => Promise<string> {
  nc.subscribe(subject, { callback: (_err, msg) => void msg.respond(msg.data) });
  return async (text) => (await nc.request(subject, text, { timeout: 2000 })).string();
}

describe('NatsServer', () => {
  let server: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connectNats({ ...(await server.access('harness')), name: 'harness-test' });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.[Symbol.asyncDispose]();
  });

  test('serves request/reply with JetStream enabled, over TLS to credentialed clients only', async () => {
    expect(server.url).toBe(`tls://127.0.0.1:${server.port}`);
    expect(server.caFile).toEqual(expect.any(String));
    await expect(connectNats({ servers: server.url, tlsCa: server.caFile, name: 'anonymous' })).rejects.toMatchObject({
      code: 'WASMESH_ERR_PERMISSION_DENIED',
    });
    expect(server.pid).toEqual(expect.any(Number));
    expect(await echo(nc, 'harness.echo')('ping')).toBe('ping');
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    expect(info.streams).toBe(0);
  });

  test('restarts on the same port and store: the client reconnects and streams survive', async () => {
    const request = echo(nc, 'harness.restart');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.stream.>'] });
    await jetstream(nc).publish('harness.stream.a', 'kept');

    const { port, pid } = server;
    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return true;
      return false;
    })();
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    expect(await reconnected).toBe(true);

    expect(await request('again')).toBe('again');
    const stream = await jsm.streams.info('HARNESS');
    expect(stream.state.messages).toBe(1);
    expect(server.logs()).toContain('exited');
  });

  test('concurrent servers get different ports; stop is idempotent', async () => {
    const [a, b] = await Promise.all([NatsServer.start({ jetstream: false }), NatsServer.start({ jetstream: false })]);
    try {
      expect(a.port).not.toBe(b.port);
      const plain = await connectNats({ ...(await a.access('harness')), name: 'no-jetstream' });
      await expect(jetstreamManager(plain)).rejects.toThrow(/jetstream/i);
      await plain.close();
      await Promise.all([a.stop(), a.stop()]);
      await a.stop();
      expect(a.pid).toBeUndefined();
    } finally {
      await a[Symbol.asyncDispose]();
      await b[Symbol.asyncDispose]();
    }
  });

  test('the open mode (insecure: true) is plain NATS without credentials', async () => {
    const open = await NatsServer.start({ jetstream: false, insecure: true });
    try {
      expect(open.url).toBe(`nats://127.0.0.1:${open.port}`);
      expect(open.caFile).toBeUndefined();
      expect(await open.access('harness')).toEqual({ servers: open.url });
      const plain = await connect({ servers: open.url });
      expect(await echo(plain, 'harness.open')('hi')).toBe('hi');
      await plain.close();
    } finally {
      await open[Symbol.asyncDispose]();
    }
  });

  test('startup errors carry the server output', async () => {
    await expect(NatsServer.start({ jetstream: false, args: ['--no-such-flag'] })).rejects.toThrow(
      /exited during startup[\s\S]*no-such-flag/,
    );
  });

  test('a process that exits without stopping its server does not leave it running', () => {
    const harness = fileURLToPath(new URL('./nats-server.js', import.meta.url));
    const script = `const { NatsServer } = await import(${JSON.stringify(harness)});
      const s = await NatsServer.start({ jetstream: false }); console.log(s.pid);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(isGone(Number(child.stdout.trim()))).toBe(true);
  });
});
