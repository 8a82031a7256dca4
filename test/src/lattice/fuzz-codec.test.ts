/**
 * Fuzzing the bus edge's decoders (lattice/src/codec.ts): for every message type of the `.proto`
 * files, random bytes and mutated valid encodings either decode or fail with a typed
 * `WASMESH_ERR_BAD_REQUEST` naming what was read (never a raw TypeError or RangeError), quickly;
 * valid messages round-trip; and the same holds for lattice events (`decodeEvent`), control
 * replies (`unwrapReply`) and errors crossing the bus (`toErrorInfo`, `fromErrorInfo`).
 */
import {
  decode,
  decodeEvent,
  encodeEvent,
  EVENT_TYPES,
  fromErrorInfo,
  toErrorInfo,
  unwrapReply,
  WasmeshError,
} from '@wasmesh/lattice';
import { lattice as pb } from '@wasmesh/proto';
import { anyBytes, fc, fuzzBudget, message, mutated, protoMessageTypes, type ProtoMessageType } from '../fuzz.js';

const TYPES = protoMessageTypes();
/** A decode that takes longer than this on a few hundred bytes is a hang in the making. */
const SLOW_MS = 250;

/** Decodes `data` as `t` through the codec: the message, or the typed error it must throw. */
function decodeOrTypedError(t: ProtoMessageType, data: Uint8Array): object | WasmeshError {
  try {
    const m = decode(t.cls, data, t.name);
    // What was decoded can be encoded again (no half-built field that throws later).
    t.cls.encode(m).finish();
    return m;
  } catch (err) {
    if (!(err instanceof WasmeshError)) throw new Error(`${t.name}: raw ${String(err)}`, { cause: err });
    expect(err.code).toBe('WASMESH_ERR_BAD_REQUEST');
    expect(err.message).toContain(`malformed ${t.name}`);
    return err;
  } finally {
    // Slow twice in a row: the decoder, not a GC pause or a busy machine.
    expect({ what: t.name, slow: timed(t, data) >= SLOW_MS && timed(t, data) >= SLOW_MS }).toEqual({
      what: t.name,
      slow: false,
    });
  }
}

/** Milliseconds one decode of `data` as `t` takes (failing or not). */
function timed(t: ProtoMessageType, data: Uint8Array): number {
  const started = performance.now();
  try {
    decode(t.cls, data, t.name);
  } catch {
    // Timing only: the outcome is checked by the caller.
  }
  return performance.now() - started;
}

test('the tree has the message types the lattice decodes', () => {
  const names = TYPES.map((t) => t.name);
  for (const n of ['Invocation', 'InvocationResult', 'Event', 'Reply', 'StartActorRequest', 'ErrorInfo']) {
    expect(names).toContain(`wasmesh.lattice.v1.${n}`);
  }
  expect(names).toContain('wasmesh.contracts.v1.HttpRequest');
  expect(TYPES.length).toBeGreaterThan(40);
});

test('random bytes decode or fail with BAD_REQUEST, for every message type', () => {
  for (const t of TYPES) {
    fc.assert(
      fc.property(anyBytes(), (data) => void decodeOrTypedError(t, data)),
      fuzzBudget(60, 300),
    );
  }
});

test('mutated valid encodings decode or fail with BAD_REQUEST, for every message type', () => {
  for (const t of TYPES) {
    const encodings = message(t.type).map((m) => t.cls.encode(m).finish());
    fc.assert(
      fc.property(
        encodings.chain((valid) => mutated(valid)),
        (data) => void decodeOrTypedError(t, data),
      ),
      fuzzBudget(60, 400),
    );
  }
});

test('valid messages round-trip through the codec, from a Uint8Array or a Buffer', () => {
  for (const t of TYPES) {
    fc.assert(
      fc.property(message(t.type), (m) => {
        const bytes = t.cls.encode(m).finish();
        const decoded = decode(t.cls, bytes, t.name);
        expect(t.cls.encode(decoded).finish()).toEqual(bytes);
        expect(t.cls.encode(decode(t.cls, Buffer.from(bytes), t.name)).finish()).toEqual(bytes);
      }),
      fuzzBudget(25, 300),
    );
  }
});

test('decodeEvent: random and mutated bytes, on any subject, give an event or a BAD_REQUEST', () => {
  const eventType = TYPES.find((t) => t.name === 'wasmesh.lattice.v1.Event')!;
  const bytes = fc.oneof(
    anyBytes(),
    message(eventType.type).chain((m) => mutated(eventType.cls.encode(m).finish())),
  );
  const subject = fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined });
  fc.assert(
    fc.property(bytes, subject, (data, subj) => {
      try {
        const e = decodeEvent(data, subj);
        expect(EVENT_TYPES).toContain(e.type);
      } catch (err) {
        expect(err).toBeInstanceOf(WasmeshError);
        expect((err as WasmeshError).code).toBe('WASMESH_ERR_BAD_REQUEST');
      }
    }),
    fuzzBudget(1000, 3000),
  );
});

test('decodeEvent: every valid event of every type round-trips from its own source subject', () => {
  const eventType = TYPES.find((t) => t.name === 'wasmesh.lattice.v1.Event')!;
  const bodyOf = new Map(eventType.type.oneofs.body!.fieldsArray.map((f) => [f.name, f.resolvedType as never]));
  const typeAndBody = fc.constantFrom(...EVENT_TYPES).chain((type) => {
    const field = type.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    return fc.tuple(fc.constant(type), message(bodyOf.get(field)!));
  });
  const source = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
  fc.assert(
    fc.property(typeAndBody, source, ([type, body], src) => {
      const e = decodeEvent(encodeEvent(type, src, body as never), `wasmesh.evt.v1.lat.${type}.${src}`);
      expect({ type: e.type, source: e.source }).toEqual({ type, source: src });
    }),
    fuzzBudget(300, 3000),
  );
});

test('unwrapReply: random and mutated replies give a body or a typed WasmeshError', () => {
  const reply = TYPES.find((t) => t.name === 'wasmesh.lattice.v1.Reply')!;
  const bytes = fc.oneof(
    anyBytes(),
    message(reply.type).chain((m) => mutated(reply.cls.encode(m).finish())),
  );
  fc.assert(
    fc.property(bytes, (data) => {
      try {
        expect(unwrapReply(data, 'fuzzed')).toBeInstanceOf(Uint8Array);
      } catch (err) {
        expect(err).toBeInstanceOf(WasmeshError);
        expect((err as WasmeshError).code).toMatch(/^[A-Z][A-Z0-9_]{0,127}$/);
      }
    }),
    {
      ...fuzzBudget(1000, 3000),
      // Regression: a reply whose error code was blank or a space became an error with that code.
      examples: [[pb.Reply.encode({ error: { code: ' ', message: 'm' } }).finish()]],
    },
  );
});

/** An object that holds itself. */
function circular(): object {
  const o: Record<string, unknown> = {};
  o.self = o;
  return o;
}

test('errors cross the bus whatever they carry: toErrorInfo never throws and stays bounded', () => {
  const details = fc.dictionary(fc.string({ maxLength: 200 }), fc.anything({ withBigInt: true, maxDepth: 2 }), {
    maxKeys: 40,
  });
  const thrown = fc.oneof(
    fc
      .tuple(fc.string({ maxLength: 200 }), fc.string({ maxLength: 10_000 }), details)
      .map(([code, msg, d]) => new WasmeshError(code, msg, { details: d })),
    fc.string({ maxLength: 10_000 }).map((msg) => new Error(msg)),
    fc.anything({ withBigInt: true, maxDepth: 2 }),
  );
  fc.assert(
    fc.property(thrown, (err) => {
      const info = toErrorInfo(err);
      const bytes = pb.ErrorInfo.encode(info).finish();
      expect(bytes.length).toBeLessThan(32 * 1024 * 4 + 64 * 1024);
      const back = fromErrorInfo(pb.ErrorInfo.decode(bytes));
      expect(back).toBeInstanceOf(WasmeshError);
      expect(back.code).toMatch(/^[A-Z][A-Z0-9_]{0,127}$/);
    }),
    {
      ...fuzzBudget(500, 3000),
      // Regressions: a bigint or a circular detail made toErrorInfo (and so the reply) throw a TypeError;
      // So did a thrown value without a string form.
      examples: [
        [new WasmeshError('WASMESH_ERR_X', 'm', { details: { n: 10n, c: circular(), p: Object.create(null) } })],
        [Object.create(null)],
      ],
    },
  );
});
