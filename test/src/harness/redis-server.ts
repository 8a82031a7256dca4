/**
 * A real redis-server for tests: on a free port of 127.0.0.1, in its own temporary directory,
 * without persistence (`--save ''`, `--appendonly no`), and killed when the test process exits.
 */
import net from 'node:net';
import {
  detachServer,
  findBinary,
  launchInFreshDir,
  launchServer,
  OwnedServer,
  stopServer,
  waitReady,
  type LaunchedServer,
} from './processes.js';

/** How long a start waits for the server to answer PING. */
const START_TIMEOUT_MS = 15_000;

const INSTALL_HINT =
  "run `bash scripts/setup.sh` in the repository (it installs Debian's redis-server), " +
  'or set REDIS_SERVER_BIN to a redis-server binary';

/** The redis-server binary: env REDIS_SERVER_BIN, then `redis-server` on PATH, then /usr/bin/redis-server. */
export function findRedisServerBinary(): string {
  return findBinary({
    name: 'redis-server',
    envVar: 'REDIS_SERVER_BIN',
    fallback: ['/usr/bin/redis-server'],
    installHint: INSTALL_HINT,
  });
}

/** A port that was free a moment ago (the OS picks it; the socket is closed again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server process owned by a test; see {@link RedisServer.start}. */
export class RedisServer extends OwnedServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;

  private constructor(
    server: LaunchedServer,
    /** The port it listens on. */
    readonly port: number,
    /** Its working directory (removed by {@link stop}). */
    dir: string,
  ) {
    super(server, dir);
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** Starts a server on a free port and resolves once it answers PING; rejects with its output otherwise. */
  static async start(): Promise<RedisServer> {
    const binary = findRedisServerBinary();
    return launchInFreshDir('wasmesh-redis-', async (dir) => RedisServer.launch(binary, dir, await freePort()));
  }

  /**
   * Sends one command (e.g. `['CLIENT', 'PAUSE', '1000', 'WRITE']`) on a fresh connection and
   * resolves with the reply: a status or error line as sent (`+OK`, `-ERR …`), an integer as
   * `:1`, a bulk string as its text, or `null` for a missing value.
   */
  command(args: string[]): Promise<string | null> {
    const resp = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.port });
      let reply = Buffer.alloc(0);
      const done = (value: string | null): void => {
        socket.destroy();
        resolve(value);
      };
      socket.once('connect', () => socket.write(resp));
      socket.on('data', (d: Buffer) => {
        reply = Buffer.concat([reply, d]);
        const end = reply.indexOf('\r\n');
        if (end < 0) return;
        const line = reply.subarray(0, end).toString();
        if (!line.startsWith('$')) return done(line);
        const length = Number(line.slice(1));
        if (length < 0) return done(null);
        if (reply.length >= end + 2 + length + 2) done(reply.subarray(end + 2, end + 2 + length).toString());
      });
      socket.once('error', reject);
    });
  }

  /** Spawns the server on `port` and waits until it answers. */
  private static async launch(binary: string, dir: string, port: number): Promise<RedisServer> {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
      '--loglevel',
      'notice',
    ];
    const server = launchServer(`redis-server (${binary})`, binary, args, { cwd: dir, maxLogChars: 64 * 1024 });
    try {
      await waitReady(server, () => ping(port), START_TIMEOUT_MS, 20);
    } catch (err) {
      await stopServer(server, 0);
      throw err;
    }
    detachServer(server);
    return new RedisServer(server, port, dir);
  }
}

/** True when a server on `port` answers PING with PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('error', () => finish(false));
  });
}
