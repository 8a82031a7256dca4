/** A real lattice for tests: a nats-server, host processes and a connected client. */
import { randomBytes } from 'node:crypto';
import { LatticeClient, type LatticeEvent } from '@wasmesh/lattice';
import { HostProcess, type HostProcessOptions } from '../harness/host-process.js';
import { NatsServer, type NatsServerOptions } from '../harness/nats-server.js';

/** A lattice of real processes. */
export interface LatticeFixture extends AsyncDisposable {
  nats: NatsServer;
  hosts: HostProcess[];
  client: LatticeClient;
  lattice: string;
  /** Starts one more host in this lattice. */
  addHost(options?: Partial<HostProcessOptions>): Promise<HostProcess>;
}

/** A lattice name unique to this test run. */
export function uniqueLattice(prefix = 'test'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Starts a nats-server, `hosts` host processes (with the given labels) and a client. */
export async function startLattice(
  options: { hosts?: Partial<HostProcessOptions>[]; nats?: NatsServerOptions; lattice?: string } = {},
): Promise<LatticeFixture> {
  const nats = await NatsServer.start(options.nats);
  const lattice = options.lattice ?? uniqueLattice();
  const hosts: HostProcess[] = [];
  const addHost = async (o: Partial<HostProcessOptions> = {}): Promise<HostProcess> => {
    const h = await HostProcess.start({ ...(await nats.processAccess(lattice)), lattice, heartbeatMs: 500, ...o });
    hosts.push(h);
    return h;
  };
  try {
    // Started together, kept in the order of `options.hosts`.
    const started = await Promise.allSettled(
      (options.hosts ?? []).map(async (o) =>
        HostProcess.start({ ...(await nats.processAccess(lattice)), lattice, heartbeatMs: 500, ...o }),
      ),
    );
    for (const r of started) if (r.status === 'fulfilled') hosts.push(r.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const client = await LatticeClient.connect({ ...(await nats.access(lattice)), lattice, name: 'test-client' });
    return {
      nats,
      hosts,
      client,
      lattice,
      addHost,
      async [Symbol.asyncDispose]() {
        await client.close().catch(() => undefined);
        await Promise.all(hosts.map((h) => h.kill()));
        await nats[Symbol.asyncDispose]();
      },
    };
  } catch (err) {
    await Promise.all(hosts.map((h) => h.kill()));
    await nats[Symbol.asyncDispose]();
    throw err;
  }
}

/** Resolves with the first event matching `match`, or rejects after `timeoutMs`. */
export async function waitForEvent(
  events: AsyncIterable<LatticeEvent>,
  match: (e: LatticeEvent) => boolean,
  timeoutMs = 10_000,
): Promise<LatticeEvent> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
  });
  // Pull from the iterator by hand: `for await` would close the stream on return, and callers
  // wait on the same stream more than once.
  const it = events[Symbol.asyncIterator]();
  const found = (async () => {
    for (;;) {
      const { value, done } = await it.next();
      if (done) throw new Error('event stream ended');
      if (match(value)) return value;
    }
  })();
  try {
    return await Promise.race([found, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `fn` until it returns true, or throws after `timeoutMs` with `what`. */
export async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every lattice event (of `types`) from now on, kept in order, with a wait for the one a test expects. */
export class EventLog {
  readonly events: LatticeEvent[] = [];
  readonly #stream: AsyncIterable<LatticeEvent> & { close(): void };

  constructor(client: LatticeClient, types?: LatticeEvent['type'][]) {
    const stream = client.events(types ? { types } : {});
    this.#stream = stream;
    void (async () => {
      for await (const e of stream) this.events.push(e);
    })();
  }

  /** The events `match` accepts, so far. */
  filter(match: (e: LatticeEvent) => boolean): LatticeEvent[] {
    return this.events.filter(match);
  }

  /** The first event (from index `from`) `match` accepts, waiting up to `timeoutMs` for it. */
  async find(match: (e: LatticeEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<LatticeEvent> {
    let found: LatticeEvent | undefined;
    await until(
      'a matching lattice event',
      () => (found = this.events.slice(from).find(match)) !== undefined,
      timeoutMs,
    );
    return found!;
  }

  close(): void {
    this.#stream.close();
  }
}
