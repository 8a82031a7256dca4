/**
 * What the fuzz suites (`fuzz-*.test.ts`) share: one bounded budget for every property, so CI runs
 * them on every change in seconds, and the generators of hostile input (random bytes, mutations
 * of a valid encoding, valid messages of any `.proto` type, strings up to a size). fast-check
 * prints the seed and path of a failure; replay it with `fc.assert(…, { ...fuzzBudget(n, ms), seed, path })`.
 * `WASMESH_FUZZ_SCALE=10` runs ten times as many cases with ten times the time (a deeper local hunt).
 */
import fc from 'fast-check';
import { contracts, examples, lattice } from '@wasmesh/proto';
import { loadProtoTree, protobuf } from '@wasmesh/proto/reflect';

export { fc };

/** How much deeper than the CI budget to fuzz (`WASMESH_FUZZ_SCALE`, default 1). */
const SCALE = Math.max(1, Number(process.env.WASMESH_FUZZ_SCALE) || 1);

/**
 * The bounds of one property: at most `runs` cases and `timeMs` of running (an interrupted run
 * counts as a pass, so a slow CI machine runs fewer cases instead of failing on time).
 */
export function fuzzBudget(runs: number, timeMs: number): fc.Parameters<unknown> {
  return { numRuns: runs * SCALE, plugins: [fc.interruptAfterTimeLimit(timeMs * SCALE)] };
}

/**
 * Names every JS object answers to (`constructor`, `toString`, `__proto__`, …): as a key, label or
 * operation name they find what a plain-object lookup inherits, unless the code asks for own keys.
 */
export const INHERITED_NAMES: readonly string[] = Object.freeze(Object.getOwnPropertyNames(Object.prototype));

/** Random bytes, up to `maxLength`. */
export function anyBytes(maxLength = 256): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength });
}

/**
 * `valid` bent the ways a broken or hostile peer bends a message: cut short, a byte changed,
 * random bytes put in, a slice repeated (a field seen twice), or left as is.
 */
export function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: valid.length });
  const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
  return fc.oneof(
    fc.constant(valid),
    at.map((i) => valid.slice(0, i)),
    fc.tuple(at, fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
      const out = valid.slice();
      if (i < out.length) out[i] = b;
      return out;
    }),
    fc.tuple(at, anyBytes(16)).map(([i, junk]) => cat(valid.subarray(0, i), junk, valid.subarray(i))),
    fc.tuple(at, at).map(([i, j]) => cat(valid, valid.subarray(Math.min(i, j), Math.max(i, j)))),
  );
}

/** A message class of @wasmesh/proto (its static `encode` and `decode`). */
export interface MessageClass {
  encode(message: object): { finish(): Uint8Array };
  decode(data: Uint8Array): object;
}

/** One message type of the `.proto` tree: its reflection and its generated class. */
export interface ProtoMessageType {
  /** Full name without the leading dot, e.g. `wasmesh.lattice.v1.Invocation`. */
  readonly name: string;
  readonly type: protobuf.Type;
  readonly cls: MessageClass;
}

const PACKAGES: Record<string, unknown> = {
  'wasmesh.lattice.v1': lattice,
  'wasmesh.contracts.v1': contracts,
  'wasmesh.examples.v1': examples,
};

/** Every message type of wasmesh's `.proto` files (control, events, envelope, contracts, examples). */
export function protoMessageTypes(): ProtoMessageType[] {
  return messageTypesOf(loadProtoTree().root);
}

/** The request type of every operation (`KeyValue.Get` → `GetRequest`) of the contract and example services. */
export function operationRequestTypes(): Map<string, ProtoMessageType> {
  const { root, services } = loadProtoTree();
  const types = new Map(messageTypesOf(root).map((t) => [t.name, t]));
  const out = new Map<string, ProtoMessageType>();
  for (const s of services) {
    for (const m of root.lookupService(s.fullName).methodsArray) {
      out.set(`${s.name}.${m.name}`, types.get(m.resolvedRequestType!.fullName.slice(1))!);
    }
  }
  return out;
}

function messageTypesOf(root: protobuf.Root): ProtoMessageType[] {
  const out: ProtoMessageType[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const n of ns.nestedArray) {
      if (n instanceof protobuf.Type) {
        const name = n.fullName.slice(1);
        const pkg = Object.keys(PACKAGES).find((p) => name.startsWith(`${p}.`));
        if (pkg) {
          let cls: unknown = PACKAGES[pkg];
          for (const part of name.slice(pkg.length + 1).split('.')) cls = (cls as Record<string, unknown>)[part];
          if (!cls) throw new Error(`no generated class for ${name}: is proto/gen stale?`);
          out.push({ name, type: n, cls: cls as MessageClass });
        }
      }
      if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) walk(n);
    }
  };
  walk(root);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A value of a scalar or enum protobuf field type (64-bit integers within JS's safe range). */
function scalar(field: protobuf.Field, type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return fc.string({ unit: 'binary', maxLength: 24 });
    case 'bytes':
      return anyBytes(24);
    case 'bool':
      return fc.boolean();
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return fc.integer();
    case 'uint32':
    case 'fixed32':
      return fc.integer({ min: 0, max: 0xffff_ffff });
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return fc.maxSafeInteger();
    case 'uint64':
    case 'fixed64':
      return fc.maxSafeNat();
    case 'double':
    case 'float':
      return fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (type === 'float' ? Math.fround(d) : d));
  }
  if (field.resolvedType instanceof protobuf.Enum) return fc.constantFrom(...Object.values(field.resolvedType.values));
  throw new Error(`no generator for field ${field.fullName} of type ${type}`);
}

/** A value of one field: a map's entries, a list's elements, or the one value. */
function fieldValue(field: protobuf.Field, depth: number): fc.Arbitrary<unknown> {
  const one = (): fc.Arbitrary<unknown> =>
    field.resolvedType instanceof protobuf.Type ? message(field.resolvedType, depth + 1) : scalar(field, field.type);
  if (field instanceof protobuf.MapField) {
    // Keys are strings in every wasmesh map; `__proto__` cannot be a key of the JS object protobufjs decodes into.
    const key = fc.string({ unit: 'binary', maxLength: 12 }).filter((k) => k !== '__proto__');
    return fc.dictionary(key, one(), { maxKeys: 3, noNullPrototype: true });
  }
  if (field.repeated) return fc.array(one(), { maxLength: 3 });
  return one();
}

/** A valid message of `type`: any subset of its fields, at most one member of each oneof; nesting stops at depth 3. */
export function message(type: protobuf.Type, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 3) return fc.constant({});
  const plain = type.fieldsArray.filter((f) => !f.partOf);
  const record = fc.record(Object.fromEntries(plain.map((f) => [f.name, fieldValue(f, depth)])), {
    requiredKeys: [],
  });
  const oneofs = type.oneofsArray.map((o) =>
    fc.oneof(fc.constant({}), ...o.fieldsArray.map((f) => fieldValue(f, depth).map((v) => ({ [f.name]: v })))),
  );
  return fc.tuple(record, ...oneofs).map((parts) => Object.assign({}, ...parts) as Record<string, unknown>);
}

/** `min`..`max` bytes: a random head, then one byte repeated (large sizes cost nothing to generate). */
export function bigBytes(min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(anyBytes(32), fc.integer({ min, max }), fc.integer({ min: 0, max: 255 })).map(([head, n, fill]) => {
    const out = new Uint8Array(n).fill(fill);
    out.set(head.subarray(0, n));
    return out;
  });
}

/**
 * A valid message of `t` with one string field (not in a oneof, map or list) holding `min`..`max`
 * code points: a request "well-formed but huge"; a type without such a field gives plain messages.
 */
export function withHugeString(t: ProtoMessageType, min: number, max: number): fc.Arbitrary<Record<string, unknown>> {
  const fields = t.type.fieldsArray.filter((f) => f.type === 'string' && !f.repeated && !f.map && !f.partOf);
  if (fields.length === 0) return message(t.type);
  return fc
    .tuple(message(t.type), fc.constantFrom(...fields.map((f) => f.name)), sizedString(min, max))
    .map(([m, name, huge]) => ({ ...m, [name]: huge }));
}

/**
 * A string of `min`..`max` code points: short ones of any code points, long ones (up to a whole
 * NATS message) of one code point repeated, which costs nothing to generate.
 */
export function sizedString(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', minLength: Math.min(min, 64), maxLength: Math.min(max, 64) }),
    fc
      .tuple(fc.integer({ min, max }), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))
      .map(([n, c]) => c.repeat(n)),
  );
}
