/**
 * Helpers of the provider tests: a keyvalue client that calls a provider as a linked actor would,
 * and the two-host lattice with an HTTP server the HTTP suites start from.
 */
import {
  ControlClient,
  createLogger,
  decode,
  encode,
  invoke,
  silentLogger,
  type Decoder,
  type Encoder,
  type LatticeClient,
  type LatticeEvent,
  type LinkState,
  type Logger,
  type ProviderMode,
} from '@wasmesh/lattice';
import { contracts } from '@wasmesh/proto';
import { freePort } from '../harness/redis-server.js';
import { EventLog, startLattice, type LatticeFixture } from '../lattice/fixture.js';

/** A lattice of two hosts whose first runs the http-server provider `http` listening at `base`. */
export interface HttpLattice {
  lat: LatticeFixture;
  hosts: [LatticeFixture['hosts'][0], LatticeFixture['hosts'][0]];
  state: LinkState;
  control: ControlClient;
  /** Lattice events of `eventTypes`, recorded from the start. */
  events: EventLog;
  /** `http://127.0.0.1:<port>`, where the provider listens. */
  base: string;
}

/** Starts an {@link HttpLattice} with the provider in `mode`; control requests wait up to `controlTimeoutMs`. */
export async function startHttpLattice(
  mode: ProviderMode,
  eventTypes: LatticeEvent['type'][],
  controlTimeoutMs: number,
): Promise<HttpLattice> {
  const lat = await startLattice({ hosts: [{}, {}] });
  const hosts = lat.hosts as HttpLattice['hosts'];
  const state = await lat.client.state();
  const control = new ControlClient(lat.client.nc, lat.client.subjects, controlTimeoutMs);
  const events = new EventLog(lat.client, eventTypes);
  const port = await freePort();
  await state.putConfig('http-main', { address: `127.0.0.1:${port}` });
  await control.startProvider({
    hostId: hosts[0].hostId,
    providerId: 'http',
    artifactRef: 'builtin:http-server',
    config: ['http-main'],
    mode,
  });
  return { lat, hosts, state, control, events, base: `http://127.0.0.1:${port}` };
}

/** A logger for providers run in the test process: silent unless WASMESH_TEST_LOG is set. */
export function testLogger(): Logger {
  return process.env.WASMESH_TEST_LOG ? createLogger({ component: 'provider' }) : silentLogger();
}

/** Calls the keyvalue provider `providerId` as actor `actor` through link `linkName`. */
export function keyValueClient(client: LatticeClient, providerId: string, actor: string, linkName = 'default') {
  const call = async <Req, Res>(
    op: string,
    reqType: Encoder<Req>,
    req: Req,
    resType: Decoder<Res>,
    timeoutMs = 10_000,
  ): Promise<Res> => {
    const out = await invoke(
      client.nc,
      client.subjects,
      { provider: providerId },
      `KeyValue.${op}`,
      encode(reqType, req),
      {
        source: actor,
        linkName,
        timeoutMs,
      },
    );
    return decode(resType, out.payload, `KeyValue.${op} response`);
  };
  return {
    get: async (key: string) => {
      const r = await call('Get', contracts.GetRequest, { key }, contracts.GetResponse);
      return r.found ? Buffer.from(r.value) : undefined;
    },
    getText: async (key: string) => {
      const r = await call('Get', contracts.GetRequest, { key }, contracts.GetResponse);
      return r.found ? Buffer.from(r.value).toString() : undefined;
    },
    set: async (key: string, value: string | Uint8Array, ttlSeconds = 0) => {
      await call(
        'Set',
        contracts.SetRequest,
        { key, value: typeof value === 'string' ? Buffer.from(value) : value, ttlSeconds },
        contracts.SetResponse,
      );
    },
    delete: async (key: string) =>
      (await call('Delete', contracts.DeleteRequest, { key }, contracts.DeleteResponse)).existed,
    exists: async (key: string) =>
      (await call('Exists', contracts.ExistsRequest, { key }, contracts.ExistsResponse)).exists,
    increment: async (key: string, delta = 1, timeoutMs = 20_000) =>
      Number(
        (await call('Increment', contracts.IncrementRequest, { key, delta }, contracts.IncrementResponse, timeoutMs))
          .value,
      ),
    keys: async (prefix: string, limit = 0) =>
      (await call('Keys', contracts.KeysRequest, { prefix, limit }, contracts.KeysResponse)).keys,
    compareAndSet: async (key: string, expected: string | null, value: string) =>
      (
        await call(
          'CompareAndSet',
          contracts.CompareAndSetRequest,
          {
            key,
            expectAbsent: expected === null,
            expected: Buffer.from(expected ?? ''),
            value: Buffer.from(value),
          },
          contracts.CompareAndSetResponse,
        )
      ).swapped,
  };
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(
  p: Promise<unknown>,
): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
