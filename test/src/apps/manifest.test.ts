/**
 * The app manifest (issue 5), pure: parsing limits, the JSON Schema, semantic checks, the
 * normalized model and diffManifests. Every invalid manifest has its exact message(s).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AJV_OPTIONS,
  checkStorable,
  diffManifests,
  loadManifest,
  manifestSchema,
  MAX_COMPONENTS,
  MAX_DESCRIPTION_LENGTH,
  MAX_INSTANCES,
  MAX_RECORD_BYTES,
  MAX_STORED_MANIFEST_BYTES,
  storedManifestBytes,
  validateManifest,
  type AppActor,
  type AppManifest,
  type AppProvider,
} from '@wasmesh/apps';
import type { WasmeshError } from '@wasmesh/lattice';
import type * as yaml from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const example = (name: string): string => readFileSync(path.join(root, 'deploy', 'apps', name), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are bent freely into invalid shapes
type M = any;

/** A small valid manifest each case bends. */
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
          { type: 'spreadscaler', properties: { instances: 2 } },
          { type: 'link', properties: { target: 'kv', contract: 'wasmesh:keyvalue' } },
        ],
      },
      { name: 'kv', type: 'capability', properties: { image: 'builtin:keyvalue' } },
    ],
  },
});
const C = (m: M): M[] => m.spec.components;

function failure(fn: () => unknown): WasmeshError {
  try {
    fn();
  } catch (err) {
    return err as WasmeshError;
  }
  throw new Error('expected the manifest to be refused');
}

function messages(err: WasmeshError): string[] {
  return (err.details.errors as { message: string }[]).map((e) => e.message);
}

describe('the examples', () => {
  test('deploy/apps/kvcounter.yaml validates and normalizes', () => {
    const app = loadManifest(example('kvcounter.yaml'), { source: 'kvcounter.yaml' });
    expect(app.name).toBe('kvcounter');
    expect(app.version).toBe('v0.1.0');
    expect(app.sharedProviders).toBe(false);
    const [counter, http, kv] = app.components as [AppActor, AppProvider, AppProvider];
    expect(counter).toMatchObject({
      kind: 'actor',
      name: 'counter',
      id: 'kvcounter',
      image: 'actors/build/kvcounter.wasm',
    });
    expect(counter.scaler).toEqual({
      kind: 'spread',
      instances: 4,
      spread: [
        { name: 'zone-a', requirements: { zone: 'a' }, weight: 75 },
        { name: 'zone-b', requirements: { zone: 'b' }, weight: 25 },
      ],
    });
    expect(counter.links).toEqual([
      {
        contract: 'wasmesh:httpserver',
        name: 'default',
        target: 'http',
        targetId: 'http',
        config: ['kvcounter-counter-1'],
      },
      { contract: 'wasmesh:keyvalue', name: 'default', target: 'kv', targetId: 'kv', config: ['kvcounter-counter-2'] },
    ]);
    expect(http).toMatchObject({
      kind: 'provider',
      id: 'http',
      image: 'builtin:http-server',
      contract: 'wasmesh:httpserver',
      config: ['kvcounter-http'],
    });
    expect(http.scaler).toEqual({
      kind: 'daemon',
      instances: 1,
      spread: [{ name: 'all', requirements: {}, weight: 100 }],
    });
    expect(kv.scaler).toEqual({
      kind: 'daemon',
      instances: 1,
      spread: [{ name: 'default', requirements: {}, weight: 100 }],
    });
    expect(app.config).toEqual([
      { name: 'kvcounter-counter-1', values: { path: '/counter' } },
      { name: 'kvcounter-counter-2', values: { backend: 'nats', bucket: 'counters' } },
      { name: 'kvcounter-http', values: { address: '127.0.0.1:8080' } },
    ]);
    expect(app.externalConfig).toEqual([]);
    expect(app.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('deploy/apps/responder.yaml validates and normalizes', () => {
    const app = loadManifest(example('responder.yaml'));
    const [responder, messaging] = app.components as [AppActor, AppProvider];
    expect(responder.scaler).toEqual({
      kind: 'spread',
      instances: 1,
      spread: [{ name: 'default', requirements: {}, weight: 100 }],
    });
    expect(responder.links).toEqual([
      {
        contract: 'wasmesh:messaging',
        name: 'default',
        target: 'messaging',
        targetId: 'messaging',
        config: ['responder-responder-1'],
      },
    ]);
    expect(messaging).toMatchObject({
      id: 'messaging',
      image: 'builtin:messaging',
      contract: 'wasmesh:messaging',
      config: [],
    });
    expect(app.config).toEqual([{ name: 'responder-responder-1', values: { subscriptions: 'demo.hello' } }]);
  });

  test('the JSON Schema compiles in ajv strict mode and the examples pass it', () => {
    const Ajv = createRequire(require_base())('ajv') as AjvClass;
    const validate = new Ajv({ ...AJV_OPTIONS, strict: true }).compile(manifestSchema());
    const { parse } = createRequire(require_base())('yaml') as typeof yaml;
    for (const name of ['kvcounter.yaml', 'responder.yaml']) {
      expect(validate(parse(example(name)))).toBe(true);
    }
    const onDisk = JSON.parse(readFileSync(path.join(root, 'apps', 'schema', 'wasmesh-app.schema.json'), 'utf8'));
    expect(onDisk).toEqual(manifestSchema());
  });

  test('the same app in JSON gives the same model and digest; comments and key order do not matter', () => {
    const yamlApp = loadManifest(example('kvcounter.yaml'));
    const raw = createRequire(require_base())('yaml').parse(example('kvcounter.yaml'));
    const jsonApp = loadManifest(JSON.stringify(raw, null, 2), { source: 'kvcounter.json' });
    expect(jsonApp).toEqual(yamlApp);
    const reordered = { spec: raw.spec, metadata: raw.metadata, kind: raw.kind, apiVersion: raw.apiVersion };
    expect(validateManifest(reordered).digest).toBe(yamlApp.digest);
    raw.spec.components[0].traits[0].properties.instances = 5;
    expect(validateManifest(raw).digest).not.toBe(yamlApp.digest);
  });
});

/** The bit of ajv 8's constructor the test uses (the test package itself resolves an older ajv). */
type AjvClass = new (options: object) => { compile(schema: object): (data: unknown) => boolean };

/** Where apps' own dependencies (ajv 8, yaml) resolve from. */
function require_base(): string {
  return path.join(root, 'apps', 'package.json');
}

describe('defaults', () => {
  test('no scaler means one instance; type component is an actor; ids and link names default', () => {
    const m = base();
    C(m)[0].type = 'component';
    C(m)[0].traits = [{ type: 'link', properties: { target: 'kv', contract: 'wasmesh:keyvalue', name: 'cache' } }];
    C(m)[1].properties.id = 'kv-1';
    const app = validateManifest(m);
    const web = app.components[0] as AppActor;
    expect(web).toMatchObject({ kind: 'actor', id: 'web' });
    expect(web.scaler).toEqual({
      kind: 'spread',
      instances: 1,
      spread: [{ name: 'default', requirements: {}, weight: 100 }],
    });
    expect(web.links[0]).toEqual({
      contract: 'wasmesh:keyvalue',
      name: 'cache',
      target: 'kv',
      targetId: 'kv-1',
      config: [],
    });
  });

  test('config lists: references are external, inline entries owned with deterministic names', () => {
    const m = base();
    C(m)[1].properties.config = [
      { name: 'kv-defaults' },
      { properties: { prefix: 'a/' } },
      { name: 'shared', properties: { x: '1' } },
    ];
    C(m)[0].traits[1].properties.config = [{ name: 'shared', properties: { x: '1' } }];
    const app = validateManifest(m);
    expect((app.components[1] as AppProvider).config).toEqual(['kv-defaults', 'shop-kv-1', 'shop-shared']);
    expect((app.components[0] as AppActor).links[0]!.config).toEqual(['shop-shared']);
    expect(app.config).toEqual([
      { name: 'shop-kv-1', values: { prefix: 'a/' } },
      { name: 'shop-shared', values: { x: '1' } },
    ]);
    expect(app.externalConfig).toEqual(['kv-defaults']);
  });

  test("an actor's own config (wasi:config): a map is owned config named after it, a list merges in order", () => {
    const m = base();
    C(m)[0].properties.config = { greeting: 'hi' };
    let app = validateManifest(m);
    expect((app.components[0] as AppActor).config).toEqual(['shop-web']);
    expect(app.config).toContainEqual({ name: 'shop-web', values: { greeting: 'hi' } });
    C(m)[0].properties.config = [{ name: 'site-defaults' }, { properties: { greeting: 'hi' } }];
    app = validateManifest(m);
    expect((app.components[0] as AppActor).config).toEqual(['site-defaults', 'shop-web-1']);
    expect(app.externalConfig).toEqual(['site-defaults']);
  });

  test('a shared capability of another app', () => {
    const m = base();
    m.metadata.annotations['wasmesh.dev/shared-providers'] = 'true';
    C(m)[1].properties = { application: { name: 'infra', component: 'kv' } };
    const app = validateManifest(m);
    expect(app.sharedProviders).toBe(true);
    expect(app.components[1]).toEqual({ kind: 'shared', name: 'kv', app: 'infra', component: 'kv' });
    expect((app.components[0] as AppActor).links[0]!.targetId).toBeNull();
  });

  test('a daemonscaler keeps its instances and groups', () => {
    const m = base();
    C(m)[0].traits[0] = {
      type: 'daemonscaler',
      properties: { instances: 3, spread: [{ name: 'gpu', requirements: { gpu: 'yes' } }] },
    };
    expect((validateManifest(m).components[0] as AppActor).scaler).toEqual({
      kind: 'daemon',
      instances: 3,
      spread: [{ name: 'gpu', requirements: { gpu: 'yes' }, weight: 100 }],
    });
  });
});

/** [what, how the valid base is bent (or what replaces it), the exact messages]. */
const INVALID: [string, (m: M) => unknown, string[]][] = [
  [
    'wrong apiVersion',
    (m) => {
      m.apiVersion = 'core.oam.dev/v1';
    },
    ['apiVersion: expected "core.oam.dev/v1beta1", got string "core.oam.dev/v1"'],
  ],
  [
    'wrong kind',
    (m) => {
      m.kind = 'Deployment';
    },
    ['kind: expected "Application", got string "Deployment"'],
  ],
  [
    'missing metadata',
    (m) => {
      delete m.metadata;
    },
    ['missing required field "metadata" at the top level'],
  ],
  [
    'top-level unknown',
    (m) => {
      m.status = {};
    },
    ['unknown field "status" at the top level; expected one of: apiVersion, kind, metadata, spec'],
  ],
  ['not an object', () => 'hello', ['the top level: expected an object, got string "hello"']],
  [
    'unknown metadata field',
    (m) => {
      m.metadata.namespace = 'x';
    },
    ['unknown field "namespace" at metadata; expected one of: name, annotations, labels'],
  ],
  [
    'missing version',
    (m) => {
      delete m.metadata.annotations.version;
    },
    ['missing required field "version" at metadata.annotations'],
  ],
  [
    'numeric annotation',
    (m) => {
      m.metadata.annotations.version = 1.5;
    },
    ['metadata.annotations.version: expected a string, got number 1.5 (quote it: "1.5")'],
  ],
  [
    'bad app name',
    (m) => {
      m.metadata.name = 'my.shop';
    },
    ["metadata.name: invalid app name \"my.shop\": use 1-128 letters, digits, '-' or '_'"],
  ],
  [
    'bad version',
    (m) => {
      m.metadata.name = 'shop';
      m.metadata.annotations.version = 'v 1';
    },
    [
      "metadata.annotations.version: invalid version \"v 1\": use 1-128 letters, digits, '.', '+', '-' or '_', starting with a letter or digit",
    ],
  ],
  [
    'shared annotation bad',
    (m) => {
      m.metadata.annotations['wasmesh.dev/shared-providers'] = 'yes';
    },
    ['metadata.annotations["wasmesh.dev/shared-providers"]: expected one of: true, false; got string "yes"'],
  ],
  [
    'empty components',
    (m) => {
      m.spec.components = [];
    },
    ['spec.components: expected at least 1 item(s), got an empty list'],
  ],
  [
    'unknown spec field',
    (m) => {
      m.spec.policies = [];
    },
    ['unknown field "policies" at spec; expected one of: components'],
  ],
  [
    'bad component type',
    (m) => {
      C(m)[0].type = 'service';
    },
    ['spec.components[0].type: expected one of: actor, component, capability; got string "service"'],
  ],
  [
    'missing props',
    (m) => {
      delete C(m)[0].properties;
    },
    ['missing required field "properties" at spec.components[0]'],
  ],
  [
    'missing image',
    (m) => {
      delete C(m)[0].properties.image;
    },
    ['missing required field "image" at spec.components[0].properties'],
  ],
  [
    'unknown prop of an actor',
    (m) => {
      C(m)[0].properties.env = { a: 'b' };
    },
    ['unknown field "env" at spec.components[0].properties; expected one of: image, id, config'],
  ],
  [
    "an actor's config that is neither a map nor a list",
    (m) => {
      C(m)[0].properties.config = 'greeting=hi';
    },
    ['spec.components[0].properties.config: expected an object or a list, got string "greeting=hi"'],
  ],
  [
    'typo in trait props',
    (m) => {
      C(m)[0].traits[0].properties = { instancez: 2 };
    },
    [
      'missing required field "instances" at spec.components[0].traits[0].properties',
      'unknown field "instancez" at spec.components[0].traits[0].properties; expected one of: instances, spread',
    ],
  ],
  [
    'unknown trait type',
    (m) => {
      C(m)[0].traits[0].type = 'autoscaler';
    },
    ['spec.components[0].traits[0].type: expected one of: spreadscaler, daemonscaler, link; got string "autoscaler"'],
  ],
  [
    'negative instances',
    (m) => {
      C(m)[0].traits[0].properties.instances = -1;
    },
    ['spec.components[0].traits[0].properties.instances: expected an integer >= 0, got -1'],
  ],
  [
    'non-integer instances',
    (m) => {
      C(m)[0].traits[0].properties.instances = 2.5;
    },
    ['spec.components[0].traits[0].properties.instances: expected an integer, got number 2.5'],
  ],
  [
    'string instances',
    (m) => {
      C(m)[0].traits[0].properties.instances = '2';
    },
    ['spec.components[0].traits[0].properties.instances: expected an integer, got string "2"'],
  ],
  [
    'weight over 100',
    (m) => {
      C(m)[0].traits[0].properties.spread = [{ name: 'a', weight: 150 }];
    },
    ['spec.components[0].traits[0].properties.spread[0].weight: expected an integer <= 100, got 150'],
  ],
  [
    'all weights zero',
    (m) => {
      C(m)[0].traits[0].properties.spread = [
        { name: 'a', weight: 0 },
        { name: 'b', weight: 0 },
      ];
    },
    [
      'spec.components[0].traits[0].properties.spread: every spread has weight 0, so the 2 instances cannot be placed; give a spread a positive weight',
    ],
  ],
  [
    'duplicate spread',
    (m) => {
      C(m)[0].traits[0].properties.spread = [{ name: 'a' }, { name: 'a' }];
    },
    ['spec.components[0].traits[0].properties.spread[1].name: duplicate spread name "a" (also spread[0])'],
  ],
  [
    'requirement number',
    (m) => {
      C(m)[0].traits[0].properties.spread = [{ name: 'a', requirements: { zone: 1 } }];
    },
    [
      'spec.components[0].traits[0].properties.spread[0].requirements.zone: expected a string, got number 1 (quote it: "1")',
    ],
  ],
  [
    'unknown spread field',
    (m) => {
      C(m)[0].traits[0].properties.spread = [{ name: 'a', weigth: 1 }];
    },
    [
      'unknown field "weigth" at spec.components[0].traits[0].properties.spread[0]; expected one of: name, requirements, weight',
    ],
  ],
  [
    'daemon negative instances',
    (m) => {
      C(m)[1].traits = [{ type: 'daemonscaler', properties: { instances: -1 } }];
    },
    ['spec.components[1].traits[0].properties.instances: expected an integer >= 0, got -1'],
  ],
  [
    'daemon weight',
    (m) => {
      C(m)[1].traits = [{ type: 'daemonscaler', properties: { spread: [{ name: 'all', weight: 10 }] } }];
    },
    [
      'unknown field "weight" at spec.components[1].traits[0].properties.spread[0]; expected one of: name, requirements',
    ],
  ],
  [
    'two scalers',
    (m) => {
      C(m)[0].traits.push({ type: 'daemonscaler' });
    },
    [
      'spec.components[0].traits[2]: more than one scaler (traits[0] spreadscaler, traits[2] daemonscaler); a component has one spreadscaler or one daemonscaler',
    ],
  ],
  [
    'link missing contract',
    (m) => {
      delete C(m)[0].traits[1].properties.contract;
    },
    ['missing required field "contract" at spec.components[0].traits[1].properties'],
  ],
  [
    'link without properties',
    (m) => {
      C(m)[0].traits[1] = { type: 'link' };
    },
    ['missing required field "properties" at spec.components[0].traits[1]'],
  ],
  [
    'bad contract',
    (m) => {
      C(m)[0].traits[1].properties.contract = 'KeyValue';
    },
    [
      'spec.components[0].traits[1].properties.contract: invalid contract "KeyValue": expected namespace:name in lower case, e.g. wasmesh:keyvalue',
    ],
  ],
  [
    'dangling target',
    (m) => {
      C(m)[0].traits[1].properties.target = 'kvv';
    },
    ['spec.components[0].traits[1].properties.target: no component named "kvv" in this manifest (capabilities: kv)'],
  ],
  [
    'link to actor',
    (m) => {
      C(m).push({ name: 'other', type: 'actor', properties: { image: 'o.wasm' } });
      C(m)[0].traits[1].properties.target = 'other';
    },
    ['spec.components[0].traits[1].properties.target: "other" is an actor; a link targets a capability'],
  ],
  [
    'link to itself',
    (m) => {
      C(m)[0].traits[1].properties.target = 'web';
    },
    ['spec.components[0].traits[1].properties.target: a component cannot link to itself ("web")'],
  ],
  [
    'duplicate link',
    (m) => {
      C(m)[0].traits.push({
        type: 'link',
        properties: { target: 'kv', contract: 'wasmesh:keyvalue', name: 'default' },
      });
    },
    [
      'spec.components[0].traits[2]: duplicate link: contract wasmesh:keyvalue with link name "default" is already linked by traits[1]; give one of them another name',
    ],
  ],
  [
    'wrong contract for builtin',
    (m) => {
      C(m)[0].traits[1].properties.contract = 'wasmesh:httpserver';
    },
    [
      'spec.components[0].traits[1].properties.contract: capability "kv" (builtin:keyvalue) serves wasmesh:keyvalue, not wasmesh:httpserver',
    ],
  ],
  [
    'link on capability',
    (m) => {
      C(m)[1].traits = [{ type: 'link', properties: { target: 'kv', contract: 'wasmesh:keyvalue' } }];
    },
    ['spec.components[1].traits[0]: a link belongs on the actor that calls the contract; "kv" is a capability'],
  ],
  [
    'bad link name',
    (m) => {
      C(m)[0].traits[1].properties.name = 'a.b';
    },
    ["spec.components[0].traits[1].properties.name: invalid link name \"a.b\": use 1-128 letters, digits, '-' or '_'"],
  ],
  [
    'duplicate names',
    (m) => {
      C(m)[1].name = 'web';
    },
    [
      'spec.components[1].name: duplicate component name "web" (also spec.components[0].name)',
      'spec.components[0].traits[1].properties.target: no component named "kv" in this manifest (capabilities: web)',
    ],
  ],
  [
    'duplicate ids',
    (m) => {
      C(m)[1].properties.id = 'web';
    },
    [
      'spec.components[1].properties.id: duplicate id "web": components "web" and "kv" would both run as "web" (set properties.id on one)',
    ],
  ],
  [
    'bad actor id',
    (m) => {
      C(m)[0].properties.id = 'web server';
    },
    ["spec.components[0].properties.id: invalid actor id \"web server\": use 1-128 letters, digits, '-' or '_'"],
  ],
  [
    'bad provider id',
    (m) => {
      C(m)[1].properties.id = 'kv*';
    },
    ["spec.components[1].properties.id: invalid provider id \"kv*\": use 1-128 letters, digits, '-' or '_'"],
  ],
  [
    'builtin actor',
    (m) => {
      C(m)[0].properties.image = 'builtin:web';
    },
    [
      'spec.components[0].properties.image: "builtin:web" is a first-party provider; an actor\'s image is a path, a file:// URL or sha256:<digest> (use type: capability for providers)',
    ],
  ],
  [
    'bad oci actor',
    (m) => {
      C(m)[0].properties.image = 'oci://ghcr.io/X/y:1';
    },
    [
      'spec.components[0].properties.image: invalid OCI reference "oci://ghcr.io/X/y:1": "X/y" is not a repository (lowercase path components such as wasmesh/echo)',
    ],
  ],
  [
    'unsupported scheme',
    (m) => {
      C(m)[0].properties.image = 'https://ghcr.io/x/y:1';
    },
    [
      'spec.components[0].properties.image: unsupported artifact reference "https://ghcr.io/x/y:1": use sha256:<hex> (from `wasmesh push`), oci://REGISTRY/REPO:TAG or a file path',
    ],
  ],
  [
    'bad digest',
    (m) => {
      C(m)[0].properties.image = 'sha256:abc';
    },
    ['spec.components[0].properties.image: invalid artifact reference "sha256:abc": expected sha256:<64 hex digits>'],
  ],
  [
    'sha provider',
    (m) => {
      C(m)[1].properties.image = 'sha256:' + 'a'.repeat(64);
    },
    [
      'spec.components[1].properties.image: unsupported provider reference "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": use builtin:<name> or the path or file:// URL of a provider\'s JavaScript entry module',
    ],
  ],
  [
    'bad builtin',
    (m) => {
      C(m)[1].properties.image = 'builtin:Key_Value';
    },
    [
      'spec.components[1].properties.image: invalid provider reference "builtin:Key_Value": builtin:<name> takes a lower-case name, e.g. builtin:keyvalue',
    ],
  ],
  [
    'capability without image',
    (m) => {
      delete C(m)[1].properties.image;
    },
    [
      'spec.components[1].properties: a capability needs image (builtin:<name> or a provider entry module) or application',
    ],
  ],
  [
    'config number',
    (m) => {
      C(m)[1].properties.config = { port: 8080 };
    },
    ['spec.components[1].properties.config.port: expected a string, got number 8080 (quote it: "8080")'],
  ],
  [
    'config entry empty',
    (m) => {
      C(m)[1].properties.config = [{}];
    },
    ['spec.components[1].properties.config[0]: expected at least one of: name, properties; got an empty object'],
  ],
  [
    'config entry unknown',
    (m) => {
      C(m)[1].properties.config = [{ name: 'x', value: 'y' }];
    },
    ['unknown field "value" at spec.components[1].properties.config[0]; expected one of: name, properties'],
  ],
  [
    'config wrong type',
    (m) => {
      C(m)[1].properties.config = 'address=1';
    },
    ['spec.components[1].properties.config: expected an object or a list, got string "address=1"'],
  ],
  [
    'config conflict',
    (m) => {
      C(m)[1].properties.config = [{ name: 'c', properties: { a: '1' } }];
      C(m)[0].traits[1].properties.config = [{ name: 'c', properties: { a: '2' } }];
    },
    [
      'spec.components[1].properties.config[0]: config "shop-c" is also defined at spec.components[0].traits[1].properties.config[0] with other values',
    ],
  ],
  [
    'shared with image',
    (m) => {
      C(m)[1].properties.application = { name: 'infra', component: 'kv' };
    },
    [
      "spec.components[1].properties.image: give either image (run a provider) or application (use a shared app's), not both",
    ],
  ],
  [
    'shared with traits',
    (m) => {
      delete C(m)[1].properties.image;
      C(m)[1].properties.application = { name: 'infra', component: 'kv' };
      C(m)[1].traits = [{ type: 'daemonscaler' }];
    },
    ['spec.components[1].traits[0]: a shared capability (application) has no traits: app "infra" runs and scales it'],
  ],
  [
    'many at once',
    (m) => {
      m.kind = 'App';
      C(m)[0].traits[0].properties.instances = -2;
      C(m)[1].typo = 1;
    },
    [
      'kind: expected "Application", got string "App"',
      'spec.components[0].traits[0].properties.instances: expected an integer >= 0, got -2',
      'unknown field "typo" at spec.components[1]; expected one of: name, type, properties, traits',
    ],
  ],
];

describe('invalid manifests: every problem, with its path', () => {
  test.each(INVALID)('%s', (_name, bend, expected) => {
    const m = base();
    const replaced = bend(m);
    const err = failure(() => validateManifest(replaced === undefined ? m : replaced, { source: 'shop.yaml' }));
    expect(err.code).toBe('WASMESH_ERR_INVALID_MANIFEST');
    expect(messages(err)).toEqual(expected);
    const n = expected.length;
    expect(err.message).toBe(
      [`invalid app manifest shop.yaml: ${n} problem${n === 1 ? '' : 's'}`, ...expected.map((e) => `  - ${e}`)].join(
        '\n',
      ),
    );
  });

  test('the table is big enough', () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(30);
  });
});

describe('limits: numbers fit their wire type, the manifest fits the lattice', () => {
  const refusedWith = (m: M): string[] => {
    const err = failure(() => validateManifest(m, { source: 'shop.yaml' }));
    expect(err.code).toBe('WASMESH_ERR_INVALID_MANIFEST');
    return messages(err);
  };

  test('instances beyond uint32 are refused with their path, not wrapped', () => {
    const m = base();
    C(m)[0].traits[0].properties.instances = 4294967296;
    expect(refusedWith(m)).toEqual([
      'spec.components[0].traits[0].properties.instances: expected an integer <= 4294967295, got 4294967296',
    ]);
    const d = base();
    C(d)[0].traits[0] = { type: 'daemonscaler', properties: { instances: 1e300 } };
    expect(refusedWith(d)).toEqual([
      'spec.components[0].traits[0].properties.instances: expected an integer <= 4294967295, got 1e+300',
    ]);
    const yamlText = JSON.stringify(base()).replace('"instances":2', '"instances":1e300');
    expect(messages(failure(() => loadManifest(yamlText, { source: 'shop.yaml' })))).toEqual([
      'spec.components[0].traits[0].properties.instances: expected an integer <= 4294967295, got 1e+300',
    ]);
  });

  test('the largest uint32 is accepted', () => {
    const m = base();
    C(m)[0].traits[0].properties.instances = MAX_INSTANCES;
    expect((validateManifest(m).components[0] as AppActor).scaler.instances).toBe(4294967295);
  });

  test('more than MAX_COMPONENTS components are refused', () => {
    const m = base();
    for (let i = 0; i < 10_000; i++)
      C(m).push({ name: `c${i}`, type: 'capability', properties: { image: 'builtin:keyvalue' } });
    expect(refusedWith(m)).toEqual(['spec.components: expected at most 1000 items, got 10002']);
    const fits = base();
    for (let i = 0; i < MAX_COMPONENTS - 2; i++)
      C(fits).push({ name: `c${i}`, type: 'capability', properties: { image: 'builtin:keyvalue' } });
    expect(validateManifest(fits).components).toHaveLength(MAX_COMPONENTS);
  });

  test('a description over MAX_DESCRIPTION_LENGTH is refused', () => {
    const m = base();
    m.metadata.annotations.description = 'x'.repeat(900 * 1024);
    expect(refusedWith(m)).toEqual(['metadata.annotations.description: expected at most 4096 characters, got 921600']);
  });

  test('a normalized manifest over MAX_STORED_MANIFEST_BYTES is refused, whatever makes it big', () => {
    const m = base();
    C(m)[1].properties.config = { a: 'x'.repeat(200 * 1024), b: 'y'.repeat(100 * 1024) };
    const [message] = refusedWith(m);
    expect(message).toMatch(
      /^the normalized manifest is \d+ bytes; the lattice stores at most 262144 \(256 KiB\) per app version/,
    );
    C(m)[1].properties.config = { a: 'x'.repeat(200 * 1024) };
    expect(storedManifestBytes(validateManifest(m))).toBeLessThanOrEqual(MAX_STORED_MANIFEST_BYTES);
  });

  test('checkStorable (what AppStore.put runs) refuses a model built without validation', () => {
    const app = validateManifest(base());
    const many = { ...app, components: Array.from({ length: MAX_COMPONENTS + 1 }, () => app.components[1]!) };
    expect(checkStorable(many).map((i) => i.message)).toEqual([
      'spec.components: 1001 components; an app may have at most 1000 (split it into several apps)',
    ]);
    expect(checkStorable({ ...app, description: 'x'.repeat(300 * 1024) })).toHaveLength(1);
    expect(checkStorable(app)).toEqual([]);
  });

  test('the JSON Schema states the same limits', () => {
    const defs = (manifestSchema() as M).definitions;
    expect(defs.spreadscaler.properties.instances.maximum).toBe(MAX_INSTANCES);
    expect(defs.daemonscaler.properties.instances.maximum).toBe(MAX_INSTANCES);
    expect(defs.spec.properties.components.maxItems).toBe(MAX_COMPONENTS);
    expect(defs.metadata.properties.annotations.properties.description.maxLength).toBe(MAX_DESCRIPTION_LENGTH);
    // The stored limit leaves room for two versions under NATS's default max_payload (1 MiB).
    expect(2 * MAX_STORED_MANIFEST_BYTES).toBeLessThan(MAX_RECORD_BYTES);
    expect(MAX_RECORD_BYTES).toBeLessThan(1024 * 1024);
  });
});

describe('parsing', () => {
  const refused = (text: string, source = 'app.yaml'): { message: string; line?: number; column?: number }[] => {
    const err = failure(() => loadManifest(text, { source }));
    expect(err.code).toBe('WASMESH_ERR_INVALID_MANIFEST');
    return err.details.errors as { message: string; line?: number; column?: number }[];
  };

  test('a syntax error names line:column', () => {
    const errors = refused('apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: [a\n');
    expect(errors).toEqual([
      {
        path: '',
        line: 5,
        column: 1,
        message:
          'app.yaml:5:1: syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ]);
  });

  test('every syntax error of a document is listed, with line:column', () => {
    expect(refused('kind: Application\nmetadata:\n  name: a\n   x: 1\n').map((e) => e.message)).toEqual([
      'app.yaml:3:9: syntax error: Nested mappings are not allowed in compact mappings',
      'app.yaml:3:9: syntax error: Implicit keys need to be on a single line',
    ]);
    expect(refused('kind: Application\nmetadata:\n  name: "a\n  x: 1\n').map((e) => e.message)).toEqual([
      'app.yaml:5:1: syntax error: Missing closing "quote',
    ]);
  });

  test('duplicate keys are refused', () => {
    expect(refused('kind: Application\nkind: Application\n').map((e) => e.message)).toEqual([
      'app.yaml:2:1: syntax error: Map keys must be unique',
    ]);
  });

  test('non-string keys are refused', () => {
    expect(refused('1: a\ntrue: b\n').map((e) => e.message)).toEqual([
      'app.yaml:1:1: map key 1 is not a string; keys must be strings (quote it: "1")',
      'app.yaml:2:1: map key true is not a string; keys must be strings (quote it: "true")',
    ]);
  });

  test('a billion-laughs document is refused quickly', () => {
    let bomb = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 12; i++)
      bomb += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    const started = Date.now();
    expect(refused(bomb, 'bomb.yaml').map((e) => e.message)).toEqual([
      'bomb.yaml: refused: Excessive alias count indicates a resource exhaustion attack (more than 100 alias expansions; is it a "billion laughs" document?)',
    ]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('a few aliases are fine', () => {
    const text = example('kvcounter.yaml').replace('requirements: { zone: a }', 'requirements: &za { zone: a }');
    expect(loadManifest(text).components[0]).toMatchObject({ kind: 'actor' });
  });

  test('a document over 1 MiB is refused before parsing', () => {
    const huge = `# ${'x'.repeat(1024 * 1024)}\n${example('kvcounter.yaml')}`;
    const started = Date.now();
    expect(refused(huge, 'huge.yaml').map((e) => e.message)).toEqual([
      `huge.yaml is ${Buffer.byteLength(huge)} bytes; a manifest may have at most 1048576 (1 MiB)`,
    ]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('several documents are refused', () => {
    expect(refused(`${example('responder.yaml')}---\n${example('kvcounter.yaml')}`).map((e) => e.message)).toEqual([
      expect.stringMatching(/^app\.yaml:\d+:1: found 2 YAML documents; a manifest file holds exactly one/),
    ]);
  });

  test('an empty document (or only comments) is refused', () => {
    expect(refused('').map((e) => e.message)).toEqual(['app.yaml is empty: expected one manifest document']);
    expect(refused('# nothing\n').map((e) => e.message)).toEqual(['app.yaml is empty: expected one manifest document']);
  });

  test('a JSON manifest works', () => {
    const app = loadManifest(JSON.stringify(base()), { source: 'shop.json' });
    expect(app.components.map((c) => c.name)).toEqual(['web', 'kv']);
  });

  test('schema problems in YAML keep their paths', () => {
    const text = example('kvcounter.yaml').replace('instances: 4', 'instancez: 4');
    expect(refused(text).map((e) => e.message)).toEqual([
      'missing required field "instances" at spec.components[0].traits[0].properties',
      'unknown field "instancez" at spec.components[0].traits[0].properties; expected one of: instances, spread',
    ]);
  });
});

describe('diffManifests', () => {
  const v1 = (): AppManifest => loadManifest(example('kvcounter.yaml'));
  const bent = (bend: (m: M) => void): AppManifest => {
    const m = createRequire(require_base())('yaml').parse(example('kvcounter.yaml'));
    bend(m);
    return validateManifest(m);
  };

  test('the same app: nothing to do', () => {
    const d = diffManifests(v1(), v1());
    expect(d.empty).toBe(true);
    expect(d.unchanged).toEqual(['counter', 'http', 'kv']);
  });

  test('a new version with the same content is empty', () => {
    const d = diffManifests(
      v1(),
      bent((m) => (m.metadata.annotations.version = 'v0.2.0')),
    );
    expect(d.empty).toBe(true);
  });

  test('an image change', () => {
    const d = diffManifests(
      v1(),
      bent((m) => (C(m)[0].properties.image = 'actors/build/kvcounter2.wasm')),
    );
    expect(d.changed.map((c) => [c.name, c.changes])).toEqual([['counter', ['image']]]);
    expect(d.empty).toBe(false);
  });

  test('a scale change', () => {
    const d = diffManifests(
      v1(),
      bent((m) => (C(m)[0].traits[0].properties.instances = 8)),
    );
    expect(d.changed.map((c) => [c.name, c.changes])).toEqual([['counter', ['scale']]]);
  });

  test('a link config value change is a config change of the actor and of that config', () => {
    const d = diffManifests(
      v1(),
      bent((m) => (C(m)[0].traits[1].properties.config.path = '/count')),
    );
    expect(d.changed.map((c) => [c.name, c.changes])).toEqual([['counter', ['config']]]);
    expect(d.config).toEqual({ added: [], removed: [], changed: ['kvcounter-counter-1'] });
  });

  test('a provider config change', () => {
    const d = diffManifests(
      v1(),
      bent((m) => (C(m)[1].properties.config.address = '127.0.0.1:9090')),
    );
    expect(d.changed.map((c) => [c.name, c.changes])).toEqual([['http', ['config']]]);
    expect(d.config.changed).toEqual(['kvcounter-http']);
  });

  test('a new link', () => {
    const d = diffManifests(
      v1(),
      bent((m) =>
        C(m)[0].traits.push({
          type: 'link',
          properties: { target: 'kv', contract: 'wasmesh:keyvalue', name: 'cache' },
        }),
      ),
    );
    expect(d.changed.map((c) => [c.name, c.changes])).toEqual([['counter', ['links']]]);
  });

  test('several changes to one component, listed in order', () => {
    const d = diffManifests(
      v1(),
      bent((m) => {
        C(m)[0].properties.image = 'sha256:' + 'b'.repeat(64);
        C(m)[0].traits[0].properties.instances = 2;
      }),
    );
    expect(d.changed.map((c) => [c.name, c.changes])).toEqual([['counter', ['image', 'scale']]]);
  });

  test('added and removed components; an id change is a replacement', () => {
    const d = diffManifests(
      v1(),
      bent((m) => {
        C(m)[2].properties.id = 'kv2';
        C(m).push({ name: 'msg', type: 'capability', properties: { image: 'builtin:messaging' } });
      }),
    );
    expect(d.added.map((c) => c.name)).toEqual(['kv', 'msg']);
    expect(d.removed.map((c) => c.name)).toEqual(['kv']);
    expect(d.changed.map((c) => [c.name, c.changes])).toEqual([['counter', ['links']]]);
    const back = diffManifests(
      bent((m) => C(m).push({ name: 'msg', type: 'capability', properties: { image: 'builtin:messaging' } })),
      v1(),
    );
    expect(back.removed.map((c) => c.name)).toEqual(['msg']);
    expect(back.added).toEqual([]);
  });
});
