/**
 * Fuzzing the manifest parser (apps/src/manifest): arbitrary text, YAML-ish token soup, mutated
 * valid documents and arbitrary object trees give either a normalized manifest or one
 * `WASMESH_ERR_INVALID_MANIFEST` whose every issue has a path and a message (never a raw exception);
 * numbers out of range (instances, spread weights) and collections nested too deep are refused.
 */
import { loadManifest, MAX_INSTANCES, MAX_NESTING_DEPTH, validateManifest, type AppManifest } from '@wasmesh/apps';
import { WasmeshError } from '@wasmesh/lattice';
import { fc, fuzzBudget } from '../fuzz.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are bent freely into invalid shapes
type M = any;

/** A valid manifest every mutation starts from. */
const base = (): M => ({
  apiVersion: 'core.oam.dev/v1beta1',
  kind: 'Application',
  metadata: { name: 'shop', annotations: { version: 'v1' } },
  spec: {
    components: [
      {
        name: 'web',
        type: 'actor',
        properties: { image: 'actors/build/web.wasm' },
        traits: [
          { type: 'spreadscaler', properties: { instances: 2, spread: [{ name: 'a', weight: 50 }] } },
          { type: 'link', properties: { target: 'kv', contract: 'wasmesh:keyvalue' } },
        ],
      },
      { name: 'kv', type: 'capability', properties: { image: 'builtin:keyvalue' } },
    ],
  },
});

/** One issue of an invalid manifest, as `details.errors` holds it. */
interface Issue {
  path: string;
  message: string;
}

/** Runs `fn`: the manifest, or the issues of the one typed error it may throw. */
function outcome(fn: () => AppManifest): { ok: true; app: AppManifest } | { ok: false; issues: Issue[] } {
  try {
    return { ok: true, app: fn() };
  } catch (err) {
    if (!(err instanceof WasmeshError)) throw new Error(`raw ${String(err)}`, { cause: err });
    expect(err.code).toBe('WASMESH_ERR_INVALID_MANIFEST');
    const issues = err.details.errors as Issue[];
    expect(issues.length).toBeGreaterThan(0);
    for (const i of issues) {
      expect(typeof i.path).toBe('string');
      expect(i.message).toMatch(/\S/);
    }
    return { ok: false, issues };
  }
}

test('the base manifest is valid', () => {
  expect(outcome(() => validateManifest(base())).ok).toBe(true);
});

test('arbitrary text gives a manifest or a typed error', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => void outcome(() => loadManifest(text))),
    fuzzBudget(400, 3000),
  );
});

test('YAML-ish token soup gives a manifest or a typed error', () => {
  const token = fc.constantFrom(
    'apiVersion: ',
    'kind: Application',
    'metadata:',
    'spec:',
    'components:',
    'traits:',
    '- ',
    '  ',
    '\n',
    ': ',
    '&a ',
    '*a',
    '<<: *a',
    '!!binary ',
    '!!js/function ',
    '!tag ',
    '? ',
    '---',
    '...',
    '{',
    '}',
    '[',
    ']',
    ',',
    '"',
    "'",
    '|',
    '>',
    '#',
    '%YAML 1.2',
    '1e999',
    '-0',
    '0x1F',
    '.nan',
    '~',
    'null',
    'true',
    '__proto__',
    'constructor',
    'instances: ',
    '4294967296',
    'name: web',
  );
  const soup = fc.array(fc.oneof(token, fc.string({ maxLength: 5 })), { maxLength: 60 }).map((t) => t.join(''));
  fc.assert(
    fc.property(soup, (text) => void outcome(() => loadManifest(text))),
    fuzzBudget(400, 4000),
  );
});

test('a valid manifest as text, cut, spliced or with a character changed, gives a manifest or a typed error', () => {
  const valid = JSON.stringify(base(), null, 2);
  const at = fc.nat({ max: valid.length });
  const text = fc.oneof(
    at.map((i) => valid.slice(0, i)),
    fc.tuple(at, fc.string({ unit: 'binary', maxLength: 8 })).map(([i, s]) => valid.slice(0, i) + s + valid.slice(i)),
    fc.tuple(at, at).map(([i, j]) => valid.slice(0, Math.min(i, j)) + valid.slice(Math.max(i, j))),
  );
  fc.assert(
    fc.property(text, (t) => void outcome(() => loadManifest(t))),
    fuzzBudget(300, 4000),
  );
});

test('arbitrary object trees give a manifest or a typed error', () => {
  const tree = fc.anything({ maxDepth: 4, withNullPrototype: true, withBoxedValues: true, withMap: true });
  fc.assert(
    fc.property(tree, (value) => void outcome(() => validateManifest(value))),
    fuzzBudget(400, 3000),
  );
});

/** Every path to a value inside `value`, as property-name lists. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

test('a valid manifest with any one value replaced by anything gives a manifest or a typed error', () => {
  const paths = pathsOf(base()).filter((p) => p.length > 0);
  const replacement = fc.oneof(
    fc.anything({ maxDepth: 2 }),
    fc.double(),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constant(undefined),
  );
  fc.assert(
    fc.property(fc.constantFrom(...paths), replacement, (path, v) => {
      const m = base();
      let parent = m;
      for (const k of path.slice(0, -1)) parent = parent[k];
      parent[path[path.length - 1]!] = v;
      outcome(() => validateManifest(m));
    }),
    fuzzBudget(500, 4000),
  );
});

/** Numbers that are not an integer in `0..max`. */
function outOfRange(max: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
    fc.double({ min: 0, max, noInteger: true }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 64, 1e308),
  );
}

/** `n` as a YAML plain scalar. */
function yamlNumber(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (!Number.isFinite(n)) return n > 0 ? '.inf' : '-.inf';
  return String(n);
}

test('instances and spread weights out of range are refused at their path; in range, kept', () => {
  const scaler = 'spec.components[0].traits[0].properties';
  const cases = fc.oneof(
    fc.record({ field: fc.constant('instances'), value: outOfRange(MAX_INSTANCES), ok: fc.constant(false) }),
    fc.record({ field: fc.constant('weight'), value: outOfRange(100), ok: fc.constant(false) }),
    fc.record({
      field: fc.constant('instances'),
      value: fc.integer({ min: 0, max: MAX_INSTANCES }),
      ok: fc.constant(true),
    }),
    fc.record({ field: fc.constant('weight'), value: fc.integer({ min: 1, max: 100 }), ok: fc.constant(true) }),
  );
  fc.assert(
    fc.property(cases, ({ field, value, ok }) => {
      const withValue = (v: unknown): M => {
        const m = base();
        const props = m.spec.components[0].traits[0].properties;
        if (field === 'instances') props.instances = v;
        else props.spread[0].weight = v;
        return m;
      };
      const json = outcome(() => validateManifest(withValue(value)));
      // Through text too, where YAML spells the number (`.nan`, `-.inf`, `1e+308`).
      const text = outcome(() => loadManifest(JSON.stringify(withValue('@@')).replace('"@@"', yamlNumber(value))));
      const path = field === 'instances' ? `${scaler}.instances` : `${scaler}.spread[0].weight`;
      for (const o of [json, text]) {
        expect({ value, ok: o.ok }).toEqual({ value, ok });
        if (!o.ok) expect(o.issues.map((i) => i.path)).toContain(path);
      }
    }),
    fuzzBudget(300, 4000),
  );
});

test('collections nested deeper than the limit are refused at their line, in flow or block style', () => {
  // Regression: `[[[…]]]` a thousand deep overflowed the stack inside yaml, in a RegExp, which V8
  // reports as a fatal out-of-memory: the process died instead of refusing the manifest.
  const nested = fc.record({
    depth: fc.integer({ min: MAX_NESTING_DEPTH + 1, max: 5000 }),
    style: fc.constantFrom('flow-seq', 'flow-map', 'block-seq', 'block-map', 'mixed'),
    closed: fc.boolean(),
  });
  const render = ({ depth, style, closed }: { depth: number; style: string; closed: boolean }): string => {
    const blockDepth = Math.min(depth, 1000); // 1000 levels of indentation already take half a MiB
    switch (style) {
      case 'flow-seq':
        return '['.repeat(depth) + (closed ? ']'.repeat(depth) : '');
      case 'flow-map':
        return '{a: '.repeat(depth) + (closed ? '1' + '}'.repeat(depth) : '');
      case 'block-seq':
        return Array.from({ length: blockDepth }, (_, i) => `${' '.repeat(i)}-`).join('\n');
      case 'block-map':
        return Array.from({ length: blockDepth }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
      default:
        return `spec:\n  components:\n    - ${'[{a: '.repeat(depth)}`;
    }
  };
  fc.assert(
    fc.property(nested, (n) => {
      const o = outcome(() => loadManifest(render(n)));
      expect(o.ok).toBe(false);
      if (!o.ok) expect(o.issues[0]!.message).toMatch(/nested more than \d+ levels deep|bytes; a manifest may have/);
    }),
    { ...fuzzBudget(40, 8000), examples: [[{ depth: 1000, style: 'flow-seq', closed: true }]] },
  );
  // As deep as the limit is fine.
  const ok = outcome(() => loadManifest('['.repeat(MAX_NESTING_DEPTH) + ']'.repeat(MAX_NESTING_DEPTH)));
  expect(ok.ok ? [] : ok.issues.map((i) => i.message)).toEqual(['the top level: expected an object, got a list']);
});
