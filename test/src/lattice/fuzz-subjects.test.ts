/**
 * Fuzzing the subjects a real host process serves, on a real (secured) nats-server: every control
 * subject, an actor's rpc subject, and the rpc and health subjects of the built-in keyvalue and
 * messaging providers get random bytes, mutated valid requests and well-formed requests with a
 * field near max_payload. Each gets a well-formed reply (a body or a typed error) in time, and the
 * host and providers still serve afterwards. (`host.stop` is left out: a random body is often a
 * valid stop request; the bad-input suite sends it malformed ones.)
 */
import { unwrapReply, type LinkState, type WasmeshError } from '@wasmesh/lattice';
import { contracts, lattice as pb } from '@wasmesh/proto';
import { actorPath } from '../fixtures.js';
import {
  anyBytes,
  bigBytes,
  fc,
  fuzzBudget,
  INHERITED_NAMES,
  message,
  mutated,
  operationRequestTypes,
  protoMessageTypes,
  withHugeString,
  type ProtoMessageType,
} from '../fuzz.js';
import { startLattice, type LatticeFixture } from './fixture.js';

/** The NATS server's max_payload here: small, so "near max_payload" is cheap to send. */
const MAX_PAYLOAD = 256 * 1024;
/** Room for the request's own framing and headers. */
const NEAR_MAX = MAX_PAYLOAD - 8 * 1024;
/** An answer must come within this (the host answers bad input at once). */
const REPLY_MS = 5000;

const TYPES = new Map(protoMessageTypes().map((t) => [t.name.replace('wasmesh.lattice.v1.', ''), t]));
/** The request type of each control operation the barrage sends. */
const CONTROL_REQUESTS: Record<string, string> = {
  'host.ping': 'PingRequest',
  'host.inventory': 'GetInventoryRequest',
  'label.put': 'PutLabelRequest',
  'label.del': 'DeleteLabelRequest',
  'actor.auction': 'AuctionActorRequest',
  'actor.start': 'StartActorRequest',
  'actor.stop': 'StopActorRequest',
  'actor.update': 'UpdateActorRequest',
  'claims.get': 'GetClaimsRequest',
  'provider.start': 'StartProviderRequest',
  'provider.stop': 'StopProviderRequest',
  'spy.watch': 'SpyWatchRequest',
};

/** Operations whose well-formed requests get no reply by design: an auction a host does not bid in, a spy's watch. */
const SILENT_WHEN_VALID = new Set(['actor.auction', 'spy.watch']);

let lat: LatticeFixture;
let hostId: string;
let state: LinkState;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}], nats: { maxPayload: MAX_PAYLOAD } });
  hostId = lat.hosts[0]!.hostId;
  state = await lat.client.state();
  await lat.client.control.startActor({ hostId, actorId: 'echo', artifactRef: actorPath('echo') });
  for (const [providerId, ref, contract] of [
    ['kv-fuzz', 'builtin:keyvalue', 'wasmesh:keyvalue'],
    ['msg-fuzz', 'builtin:messaging', 'wasmesh:messaging'],
  ] as const) {
    await lat.client.control.startProvider({ hostId, providerId, artifactRef: ref });
    await state.putLink({ sourceId: 'fuzzer', contract, targetId: providerId, config: [] });
  }
}, 60_000);
afterAll(async () => lat?.[Symbol.asyncDispose]());

/** Sends `body` to `subject`; the raw reply, or `undefined` when none came within `timeoutMs`. */
async function send(subject: string, body: Uint8Array, timeoutMs = REPLY_MS): Promise<Uint8Array | undefined> {
  try {
    return (await lat.client.nc.request(subject, body, { timeout: timeoutMs })).data;
  } catch (err) {
    if ((err as Error).name === 'TimeoutError' || /timeout/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** A typed error as it must look on the wire: a stable code, a bounded message. */
function expectTyped(code: string | null | undefined, message: string | null | undefined): void {
  expect(code).toMatch(/^WASMESH_ERR_[A-Z_]+$/);
  expect((message ?? '').length).toBeLessThan(10_000);
}

/** A control reply is a body or a typed error. */
function expectControlReply(data: Uint8Array | undefined, what: string): void {
  expect({ what, replied: data !== undefined }).toEqual({ what, replied: true });
  expect(data!.length).toBeLessThanOrEqual(MAX_PAYLOAD);
  try {
    unwrapReply(data!, what);
  } catch (err) {
    expectTyped((err as WasmeshError).code, (err as WasmeshError).message);
  }
}

/** An rpc reply is an `InvocationResult`: a payload or a typed error. */
function expectInvocationResult(data: Uint8Array | undefined, what: string): void {
  expect({ what, replied: data !== undefined }).toEqual({ what, replied: true });
  const result = pb.InvocationResult.decode(data!);
  if (result.error?.code || result.error?.message) expectTyped(result.error.code, result.error.message);
}

/** Random bytes, a mutated valid `t`, a `t` with a field near max_payload, or bytes near max_payload (cut to fit). */
function bodies(t: ProtoMessageType): fc.Arbitrary<Uint8Array> {
  const encode = (m: object): Uint8Array => t.cls.encode(m).finish();
  return fc
    .oneof(
      { weight: 3, arbitrary: anyBytes(512) },
      { weight: 3, arbitrary: message(t.type).chain((m) => mutated(encode(m))) },
      { weight: 1, arbitrary: withHugeString(t, 16 * 1024, NEAR_MAX / 4).map(encode) },
      { weight: 1, arbitrary: withHugeString(t, 16 * 1024, NEAR_MAX / 4).chain((m) => mutated(encode(m))) },
      { weight: 1, arbitrary: bigBytes(16 * 1024, NEAR_MAX) },
    )
    .map((b) => b.subarray(0, NEAR_MAX)); // a mutation may repeat a huge field
}

/** The host answers a ping and runs the echo actor; the providers report healthy. */
async function stillServing(): Promise<void> {
  expect((await lat.client.control.ping()).map((h) => h.hostId)).toEqual([hostId]);
  expect(Buffer.from(await lat.client.invoke('echo', 'Echo', Buffer.from('alive'))).toString()).toBe('alive');
  for (const id of ['kv-fuzz', 'msg-fuzz']) {
    const data = await send(lat.client.subjects.providerHealth(id), new Uint8Array());
    expect(pb.ProviderHealth.decode(unwrapReply(data!, `health of ${id}`)).healthy).toBe(true);
  }
}

test('every control subject answers arbitrary bodies with a body or a typed error', async () => {
  const subjects = lat.client.subjects.hostControlSubjects(hostId).filter((s) => s.op !== 'host.stop');
  // Every operation the host serves is fuzzed (a new one fails here until it is added above).
  expect(subjects.map((s) => s.op).sort()).toEqual(Object.keys(CONTROL_REQUESTS).sort());
  for (const { op, subject } of subjects) {
    const type = TYPES.get(CONTROL_REQUESTS[op]!)!;
    await fc.assert(
      fc.asyncProperty(bodies(type), async (body) => {
        // An auction the host does not bid in (an actor it runs, constraints it does not meet)
        // and a spy's watch get no reply by design; a malformed one is answered.
        const silent = SILENT_WHEN_VALID.has(op);
        const data = await send(subject, body, silent ? 500 : REPLY_MS);
        if (silent && data === undefined) return;
        expectControlReply(data, `${op} (${body.length} bytes)`);
      }),
      fuzzBudget(25, 2500),
    );
  }
  await stillServing();
}, 60_000);

test("an actor's rpc subject answers arbitrary envelopes with a result or a typed error", async () => {
  const invocation = TYPES.get('Invocation')!;
  // Envelopes an actor could really get: for echo, a known or random operation, any payload.
  const envelope = fc
    .tuple(message(invocation.type), fc.constantFrom('Echo', 'Nope', '', ...INHERITED_NAMES), anyBytes(64))
    .map(([m, operation, payload]) => ({ ...m, target: 'echo', operation, payload, payloadObject: '' }));
  const body = fc.oneof(
    bodies(invocation),
    envelope.map((m) => invocation.cls.encode(m).finish()),
    envelope.chain((m) => mutated(invocation.cls.encode(m).finish())),
  );
  await fc.assert(
    fc.asyncProperty(body, async (b) =>
      expectInvocationResult(await send(lat.client.subjects.actor('echo'), b), 'echo'),
    ),
    fuzzBudget(60, 6000),
  );
  await stillServing();
}, 60_000);

test("the providers' rpc and health subjects answer arbitrary requests with a result or a typed error", async () => {
  const invocation = TYPES.get('Invocation')!;
  const operations = operationRequestTypes();
  const ops = [...operations.keys()].filter((op) => /^(KeyValue|Messaging)\./.test(op));
  expect(ops).toEqual(expect.arrayContaining(['KeyValue.Get', 'KeyValue.Set', 'Messaging.Publish']));
  // A linked caller's calls with random or mutated requests of each operation's own type.
  const call = fc
    .constantFrom(...ops)
    .chain((op) =>
      fc.tuple(
        fc.constant(op),
        fc.oneof(
          anyBytes(128),
          message(operations.get(op)!.type).chain((m) => mutated(operations.get(op)!.cls.encode(m).finish())),
        ),
      ),
    )
    .map(([op, payload]): [string, Uint8Array] => [op, payload]);
  // Operation names a plain-object lookup would find on any object (`KeyValue.constructor` too).
  const inheritedCall = fc
    .tuple(fc.constantFrom(...ops), fc.constantFrom(...INHERITED_NAMES), fc.boolean(), anyBytes(32))
    .map(([op, name, prefixed, payload]): [string, Uint8Array] => [
      prefixed ? `${op.split('.')[0]}.${name}` : name,
      payload,
    ]);
  const anyCall = fc.oneof(call, inheritedCall).map(([operation, payload]) => ({
    target: operation.startsWith('Messaging.') ? 'msg-fuzz' : 'kv-fuzz',
    bytes: invocation.cls
      .encode({
        id: 'fuzz',
        source: 'fuzzer',
        target: operation.startsWith('Messaging.') ? 'msg-fuzz' : 'kv-fuzz',
        operation,
        payload,
        deadlineMs: Date.now() + 3000,
        linkName: 'default',
      })
      .finish(),
  }));
  const anyBody = fc.tuple(fc.constantFrom('kv-fuzz', 'msg-fuzz'), bodies(invocation));
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        anyCall,
        anyBody.map(([target, bytes]) => ({ target, bytes })),
      ),
      async ({ target, bytes }) => {
        expectInvocationResult(await send(lat.client.subjects.provider(target), bytes), target);
        expectControlReply(await send(lat.client.subjects.providerHealth(target), bytes.subarray(0, 512)), 'health');
      },
    ),
    fuzzBudget(80, 8000),
  );
  await stillServing();
}, 60_000);

test('labels behave as a map whatever the key, even names every JS object has (toString, constructor)', async () => {
  // Regression: `key in labels` saw inherited names, so deleting label "toString" that was never
  // set reported it removed (and announced a labels_changed), and "constructor" slipped past the cap.
  const inherited = INHERITED_NAMES.filter((k) => /^[A-Za-z0-9][\w./-]*$/.test(k));
  // Few keys, so puts and deletes meet the same labels (and the host stays far below its label cap).
  const key = fc.oneof(fc.constantFrom(...inherited), fc.stringMatching(/^fz[a-c]?$/));
  const op = fc.record({ put: fc.boolean(), key, value: fc.string({ maxLength: 8 }) });
  const own = async (): Promise<Record<string, string>> => {
    const labels = { ...(await lat.client.control.inventory(hostId)).host!.labels };
    for (const k of Object.keys(labels)) if (!k.startsWith('fz') && !inherited.includes(k)) delete labels[k];
    return labels;
  };
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
      const model = new Map(Object.entries(await own()));
      for (const o of ops) {
        if (o.put) {
          await lat.client.control.putLabel(hostId, o.key, o.value);
          model.set(o.key, o.value);
        } else if (model.has(o.key)) {
          await lat.client.control.deleteLabel(hostId, o.key);
          model.delete(o.key);
        } else {
          await expect(lat.client.control.deleteLabel(hostId, o.key)).rejects.toMatchObject({
            code: 'WASMESH_ERR_NOT_FOUND',
          });
        }
      }
      expect(await own()).toEqual(Object.fromEntries(model));
    }),
    { ...fuzzBudget(15, 5000), examples: [[[{ put: false, key: 'toString', value: '' }]]] },
  );
  await stillServing();
}, 60_000);

test('any deadline in an envelope: past ones time out, future ones (however far) are served', async () => {
  const invocation = TYPES.get('Invocation')!;
  const ahead = fc.oneof(
    fc.integer({ min: 2000, max: 60_000 }),
    fc.integer({ min: 60_000, max: 2 ** 31 }),
    fc.double({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER / 2, noNaN: true }).map(Math.floor),
  );
  const deadline = fc.oneof(
    ahead.map((ms) => ({ future: true, at: () => Date.now() + ms })),
    fc.integer({ min: 1, max: 1e12 }).map((ms) => ({ future: false, at: () => Date.now() - ms })),
  );
  await fc.assert(
    fc.asyncProperty(deadline, anyBytes(32), async ({ future, at }, payload) => {
      const body = invocation.cls
        .encode({ id: 'fuzz-deadline', source: 'fuzzer', target: 'echo', operation: 'Echo', payload, deadlineMs: at() })
        .finish();
      const result = pb.InvocationResult.decode((await send(lat.client.subjects.actor('echo'), body))!);
      if (future) {
        expect({ error: result.error?.code ?? '' }).toEqual({ error: '' });
        expect(Buffer.from(result.payload).equals(Buffer.from(payload))).toBe(true);
      } else {
        expect(result.error?.code).toBe('WASMESH_ERR_TIMEOUT');
      }
    }),
    fuzzBudget(40, 5000),
  );
  await stillServing();
}, 60_000);

test('Messaging.Request waits as long as asked, whatever timeout_ms and deadline', async () => {
  // Regression: a wait over 2^31 - 1 ms (a Node timer's longest) fired after 1 ms, so a request
  // allowed to wait longer failed at once with WASMESH_ERR_TIMEOUT.
  const invocation = TYPES.get('Invocation')!;
  const sub = lat.client.nc.subscribe('app.fuzz.echo', {
    callback: (_e, m) => void setTimeout(() => m.respond(m.data), 20),
  });
  const wait = fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1000, max: 2 ** 31 - 1 }),
    fc.integer({ min: 2 ** 31, max: 2 ** 32 - 1 }),
  );
  const ahead = fc.oneof(fc.integer({ min: 3000, max: 2 ** 31 }), fc.integer({ min: 2 ** 31, max: 2 ** 45 }));
  try {
    await fc.assert(
      fc.asyncProperty(wait, ahead, anyBytes(16), async (timeoutMs, aheadMs, data) => {
        const payload = contracts.RequestRequest.encode({ subject: 'app.fuzz.echo', body: data, timeoutMs }).finish();
        const body = invocation.cls
          .encode({
            id: 'fuzz-wait',
            source: 'fuzzer',
            target: 'msg-fuzz',
            operation: 'Messaging.Request',
            payload,
            deadlineMs: Date.now() + aheadMs,
            linkName: 'default',
          })
          .finish();
        const result = pb.InvocationResult.decode((await send(lat.client.subjects.provider('msg-fuzz'), body))!);
        expect({ timeoutMs, aheadMs, error: result.error?.message ?? '' }).toEqual({ timeoutMs, aheadMs, error: '' });
        const reply = contracts.RequestResponse.decode(result.payload);
        expect(Buffer.from(reply.message?.body ?? []).equals(Buffer.from(data))).toBe(true);
      }),
      { ...fuzzBudget(30, 5000), examples: [[2 ** 31, 2 ** 40, new Uint8Array([1])]] },
    );
  } finally {
    sub.unsubscribe();
  }
  await stillServing();
}, 60_000);

test('stop-actor waits for in-flight work as long as asked, whatever timeout_ms', async () => {
  // Regression: a timeout_ms over 2^31 - 1 (it is a uint32) fired after 1 ms: the stop gave up at
  // once and reported the running invocation unfinished instead of waiting for it.
  const wait = fc.oneof(fc.integer({ min: 5000, max: 2 ** 31 - 1 }), fc.integer({ min: 2 ** 31, max: 2 ** 32 - 1 }));
  await fc.assert(
    fc.asyncProperty(wait, async (timeoutMs) => {
      await lat.client.control.startActor({ hostId, actorId: 'spinner', artifactRef: actorPath('testbed') });
      // Spins until its deadline (a second from now), then fails with a timeout.
      const spinning = lat.client.invoke('spinner', 'Spin', new Uint8Array(), { timeoutMs: 1000 }).catch(() => 'done');
      await new Promise((r) => setTimeout(r, 200));
      const data = await send(
        lat.client.subjects.control('actor.stop', hostId),
        pb.StopActorRequest.encode({ actorId: 'spinner', timeoutMs }).finish(),
      );
      const ack = pb.Ack.decode(unwrapReply(data!, 'stop'));
      expect({ timeoutMs, message: ack.message }).toEqual({ timeoutMs, message: 'actor spinner stopped' });
      await spinning;
    }),
    { ...fuzzBudget(2, 8000), examples: [[2 ** 31]] },
  );
  await stillServing();
}, 60_000);
