/**
 * A capability's `properties.mode` (issue 12): in-process or process, absent for the host's
 * default. The schema refuses other values (and a mode on an actor), the semantic checks refuse
 * any mode on a shared capability, each with its path (in-process on a provider of your own is
 * the host's to judge: it runs only a module exporting providerDefinition); the model keeps the mode only when given (digests of apps without one do not move),
 * and diffManifests calls a changed mode a `mode` change.
 */
import { diffManifests, loadManifest, validateManifest, type AppProvider } from '@wasmesh/apps';
import type { WasmeshError } from '@wasmesh/lattice';

/** A manifest whose capability `kv` runs `image` in `mode` (left out when undefined). */
function manifest(image: string, mode?: string, version = 'v1'): string {
  return `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
  annotations:
    version: ${version}
spec:
  components:
    - name: web
      type: actor
      properties:
        image: actors/build/web.wasm
      traits:
        - type: link
          properties:
            target: kv
            contract: wasmesh:keyvalue
    - name: kv
      type: capability
      properties:
        image: ${image}
${mode === undefined ? '' : `        mode: ${mode}\n`}`;
}

function problems(text: string): string[] {
  try {
    loadManifest(text, { source: 'shop.yaml' });
  } catch (err) {
    const e = err as WasmeshError;
    expect(e.code).toBe('WASMESH_ERR_INVALID_MANIFEST');
    return (e.details.errors as { message: string }[]).map((x) => x.message);
  }
  throw new Error('expected the manifest to be refused');
}

const kv = (text: string): AppProvider => loadManifest(text, { source: 'shop.yaml' }).components[1] as AppProvider;

test('in-process and process are accepted on a built-in provider and kept in the model', () => {
  expect(kv(manifest('builtin:keyvalue', 'in-process')).mode).toBe('in-process');
  expect(kv(manifest('builtin:keyvalue', 'process')).mode).toBe('process');
});

test('process is accepted on a third-party provider', () => {
  expect(kv(manifest('./providers/mine/dist/main.js', 'process')).mode).toBe('process');
});

test('without a mode the model has no mode key, so the digest of an app that never says stays the same', () => {
  const app = loadManifest(manifest('builtin:keyvalue'), { source: 'shop.yaml' });
  expect('mode' in app.components[1]!).toBe(false);
  const withMode = loadManifest(manifest('builtin:keyvalue', 'in-process'), { source: 'shop.yaml' });
  expect(withMode.digest).not.toBe(app.digest);
});

test('in-process is accepted on a provider of your own (its host checks that the module can run so)', () => {
  expect(kv(manifest('./providers/mine/dist/main.js', 'in-process')).mode).toBe('in-process');
  expect(kv(manifest('file:///opt/mine/main.js', 'in-process')).mode).toBe('in-process');
});

test('another value is refused by the schema, with the allowed ones', () => {
  expect(problems(manifest('builtin:keyvalue', 'thread'))).toEqual([
    'spec.components[1].properties.mode: expected one of: in-process, process; got string "thread"',
  ]);
  expect(problems(manifest('builtin:keyvalue', '""'))).toEqual([
    'spec.components[1].properties.mode: expected one of: in-process, process; got string ""',
  ]);
});

test('an actor has no mode', () => {
  const text = manifest('builtin:keyvalue').replace(
    '        image: actors/build/web.wasm\n',
    '        image: actors/build/web.wasm\n        mode: in-process\n',
  );
  expect(problems(text)).toEqual([
    'unknown field "mode" at spec.components[0].properties; expected one of: image, id, config',
  ]);
});

test('a shared capability has no mode: the app that runs it chooses', () => {
  const text = manifest('builtin:keyvalue').replace(
    '        image: builtin:keyvalue\n',
    '        application:\n          name: platform\n          component: kv\n        mode: process\n',
  );
  expect(problems(text)).toEqual([
    'spec.components[1].properties.mode: a shared capability (application) has no mode: app "platform" runs it',
  ]);
});

test('validateManifest takes the same field from a parsed value', () => {
  const app = validateManifest(
    {
      apiVersion: 'core.oam.dev/v1beta1',
      kind: 'Application',
      metadata: { name: 'shop', annotations: { version: 'v1' } },
      spec: {
        components: [
          { name: 'http', type: 'capability', properties: { image: 'builtin:http-server', mode: 'process' } },
        ],
      },
    },
    { source: 'shop.json' },
  );
  expect(app.components[0]).toMatchObject({ kind: 'provider', id: 'http', mode: 'process' });
});

test('diffManifests: a changed, added or removed mode is a mode change of that provider', () => {
  const none = loadManifest(manifest('builtin:keyvalue', undefined, 'v1'), { source: 'a' });
  const inProcess = loadManifest(manifest('builtin:keyvalue', 'in-process', 'v2'), { source: 'b' });
  const processMode = loadManifest(manifest('builtin:keyvalue', 'process', 'v3'), { source: 'c' });
  for (const [before, after] of [
    [none, inProcess],
    [inProcess, processMode],
    [processMode, none],
  ] as const) {
    const diff = diffManifests(before, after);
    expect(diff.changed.map((c) => [c.name, c.changes])).toEqual([['kv', ['mode']]]);
    expect(diff.empty).toBe(false);
  }
  expect(
    diffManifests(inProcess, loadManifest(manifest('builtin:keyvalue', 'in-process', 'v4'), { source: 'd' })).empty,
  ).toBe(true);
});
