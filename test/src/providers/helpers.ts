/** Helpers of the provider tests: a keyvalue client that calls a provider as a linked actor would. */
import {
  createLogger,
  decode,
  encode,
  invoke,
  silentLogger,
  type Decoder,
  type Encoder,
  type LatticeClient,
  type Logger,
} from '@wasmesh/lattice';
import { contracts } from '@wasmesh/proto';

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
