/**
 * The CRDs of deploy/crds/ against a real kube-apiserver: they install with `kubectl apply -f`,
 * every valid app manifest of deploy/apps/ is accepted unchanged as an Application, invalid ones
 * are refused with a message naming the field, a HostGroup with only replicas is defaulted, /scale
 * and the printer columns work, and the Application schema is in sync with the manifest JSON Schema
 * it is generated from (scripts/gen-crds.mjs).
 */
import { checkSchema, loadManifest } from '@wasmesh/apps';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { KubeCluster } from '../harness/kube.js';
import { getJson, kubectlOk, newNamespace, REPO_ROOT } from './kubectl.js';

const CRDS = path.join(REPO_ROOT, 'deploy', 'crds');
const APPS = path.join(REPO_ROOT, 'deploy', 'apps');

let cluster: KubeCluster;

beforeAll(async () => {
  cluster = await KubeCluster.start({ manifests: [CRDS] });
});

afterAll(async () => {
  await cluster?.stop();
});

/** The parts of an app manifest the refusal tests break. */
interface Manifest {
  metadata: { name: string };
  spec: {
    components: {
      properties: Record<string, unknown>;
      traits: { type: string; properties: Record<string, unknown> }[];
    }[];
  };
}

/** A small valid Application (the responder example), to be broken by each refusal test. */
function responder(): Manifest {
  return parse(readFileSync(path.join(APPS, 'responder.yaml'), 'utf8')) as Manifest;
}

/** The first component's `i`th trait's properties of `app`. */
function traitProps(app: Manifest, i: number): Record<string, unknown> {
  return app.spec.components[0]!.traits[i]!.properties;
}

/** Applies `manifest` in `ns` expecting a refusal; kubectl's stderr. */
async function refused(ns: string, manifest: unknown): Promise<string> {
  const result = await cluster.kubectl(['apply', '-n', ns, '-f', '-'], { input: stringify(manifest) });
  expect(result.code).not.toBe(0);
  return result.stderr;
}

/** Like {@link refused}, for an Application the manifest JSON Schema refuses too (the CRD keeps its rules). */
async function refusedApp(ns: string, manifest: Manifest): Promise<string> {
  expect(checkSchema(manifest).ok).toBe(false);
  return refused(ns, manifest);
}

test('kubectl apply -f deploy/crds/ installs both CRDs, and applying again changes nothing', async () => {
  const out = await kubectlOk(cluster, ['apply', '-f', CRDS]);
  expect(out).toMatch(/applications\.core\.oam\.dev unchanged/);
  expect(out).toMatch(/hostgroups\.wasmesh\.dev unchanged/);
  for (const crd of ['applications.core.oam.dev', 'hostgroups.wasmesh.dev']) {
    const conditions = (await getJson(cluster, ['crd', crd])).status?.conditions as { type: string; status: string }[];
    expect(conditions.find((c) => c.type === 'Established')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'NonStructuralSchema')).toBeUndefined();
  }
});

test('every manifest of deploy/apps/ that wasmesh app validate accepts is accepted unchanged', async () => {
  const ns = await newNamespace(cluster);
  const files = readdirSync(APPS).filter((f) => f.endsWith('.yaml'));
  let applied = 0;
  for (const file of files) {
    const text = readFileSync(path.join(APPS, file), 'utf8');
    try {
      loadManifest(text, { source: file });
    } catch {
      continue; // not a valid manifest: the apiserver owes it nothing
    }
    await kubectlOk(cluster, ['apply', '-n', ns, '-f', path.join(APPS, file)]);
    const stored = await getJson(cluster, ['application', (parse(text) as Manifest).metadata.name, '-n', ns]);
    expect(stored.spec).toEqual((parse(text) as Manifest).spec); // nothing pruned or defaulted
    applied++;
  }
  expect(applied).toBeGreaterThanOrEqual(2);
});

test('an actor without an image is refused, naming the field', async () => {
  const ns = await newNamespace(cluster);
  const app = responder();
  app.spec.components[0]!.properties = { id: 'responder' };
  const stderr = await refusedApp(ns, app);
  expect(stderr).toMatch(
    /spec\.components\[0\]\.properties\.image: Required value: required when type is not "capability"/,
  );
});

test('an unknown enum value, an out-of-range instances and a bad pattern are refused, naming the field', async () => {
  const ns = await newNamespace(cluster);
  const badType = responder();
  badType.spec.components[0]!.traits[0]!.type = 'bogusscaler';
  expect(await refusedApp(ns, badType)).toMatch(
    /spec\.components\[0\]\.traits\[0\]\.type: Unsupported value: "bogusscaler": supported values: "spreadscaler", "daemonscaler", "link"/,
  );

  const negative = responder();
  traitProps(negative, 0).instances = -1;
  expect(await refusedApp(ns, negative)).toMatch(
    /spec\.components\[0\]\.traits\[0\]\.properties\.instances: Invalid value: -1: .*greater than or equal to 0/,
  );
  const tooMany = responder();
  traitProps(tooMany, 0).instances = 4294967296;
  expect(await refusedApp(ns, tooMany)).toMatch(
    /properties\.instances: Invalid value: 4294967296: .*less than or equal to 4294967295/,
  );

  const contract = responder();
  traitProps(contract, 1).contract = 'Wasmesh:Messaging';
  expect(await refusedApp(ns, contract)).toMatch(
    /traits\[1\]\.properties\.contract: Invalid value: "Wasmesh:Messaging"/,
  );

  const name = responder();
  name.metadata.name = 'has.dot';
  expect(await refusedApp(ns, name)).toMatch(/metadata\.name: Invalid value: "has\.dot"/);

  const empty = responder();
  empty.spec.components = [];
  expect(await refusedApp(ns, empty)).toMatch(/spec\.components: Invalid value: .*should have at least 1 items/);
});

test('fields the manifest schema does not know are refused, naming them', async () => {
  const ns = await newNamespace(cluster);
  const typo = responder();
  traitProps(typo, 0).instancez = 2;
  expect(await refusedApp(ns, typo)).toMatch(
    /unknown field "spec\.components\[0\]\.traits\[0\]\.properties\.instancez"/,
  );

  // Fields of one trait type on another: the schema's if/then branches, as CEL rules.
  const linkWithInstances = responder();
  traitProps(linkWithInstances, 1).instances = 3;
  expect(await refusedApp(ns, linkWithInstances)).toMatch(
    /spec\.components\[0\]\.traits\[1\]\.properties\.instances: Forbidden: unknown field when type is "link"/,
  );
  const linkWithoutTarget = responder();
  delete traitProps(linkWithoutTarget, 1).target;
  expect(await refusedApp(ns, linkWithoutTarget)).toMatch(
    /traits\[1\]\.properties\.target: Required value: required when type is "link"/,
  );
  const spreadWithoutInstances = responder();
  spreadWithoutInstances.spec.components[0]!.traits[0]!.properties = {};
  expect(await refusedApp(ns, spreadWithoutInstances)).toMatch(
    /traits\[0\]\.properties\.instances: Required value: required when type is "spreadscaler"/,
  );
  const spreadWithoutProperties = responder();
  delete (spreadWithoutProperties.spec.components[0]!.traits[0] as { properties?: unknown }).properties;
  expect(await refusedApp(ns, spreadWithoutProperties)).toMatch(
    /traits\[0\]\.properties: Required value: required when type is "spreadscaler"/,
  );
  const actorWithApplication = responder();
  actorWithApplication.spec.components[0]!.properties.application = { name: 'shared', component: 'kv' };
  expect(await refusedApp(ns, actorWithApplication)).toMatch(
    /spec\.components\[0\]\.properties\.application: Forbidden: unknown field when type is not "capability"/,
  );
});

test("a capability's mode: in-process and process are accepted; another value, or a mode on an actor, is refused", async () => {
  const ns = await newNamespace(cluster);
  for (const mode of ['in-process', 'process']) {
    const app = responder();
    app.metadata.name = `mode-${mode}`;
    app.spec.components[1]!.properties.mode = mode;
    expect(checkSchema(app).ok).toBe(true);
    await kubectlOk(cluster, ['apply', '-n', ns, '-f', '-'], stringify(app));
  }
  const unknown = responder();
  unknown.spec.components[1]!.properties.mode = 'thread';
  expect(await refusedApp(ns, unknown)).toMatch(
    /spec\.components\[1\]\.properties\.mode: Unsupported value: "thread": supported values: "in-process", "process"/,
  );
  const onActor = responder();
  onActor.spec.components[0]!.properties.mode = 'process';
  expect(await refusedApp(ns, onActor)).toMatch(
    /spec\.components\[0\]\.properties\.mode: Forbidden: unknown field when type is not "capability"/,
  );
});

test('what the CRD cannot check is left to the reconciler: config shapes, weights on daemonscaler spreads', async () => {
  // The JSON Schema refuses these; the apiserver takes them (config may be a map or a list, which a
  // structural schema cannot say; a rule iterating spreads inside traits exceeds the CEL cost budget),
  // so the operator reports them as phase Failed with the reconciler's reason.
  const ns = await newNamespace(cluster);
  const config = responder();
  traitProps(config, 1).config = { subscriptions: 42 };
  const weight = responder();
  weight.spec.components[1]!.traits[0] = { type: 'daemonscaler', properties: { spread: [{ name: 'all', weight: 5 }] } };
  for (const [i, app] of [config, weight].entries()) {
    expect(checkSchema(app).ok).toBe(false);
    app.metadata.name = `gap${i}`;
    await kubectlOk(cluster, ['apply', '-n', ns, '-f', '-'], stringify(app));
  }
});

test('a HostGroup with only spec.replicas is accepted and defaulted; kubectl scale and /scale work', async () => {
  const ns = await newNamespace(cluster);
  const hostGroup = {
    apiVersion: 'wasmesh.dev/v1alpha1',
    kind: 'HostGroup',
    metadata: { name: 'hosts' },
    spec: { replicas: 2 },
  };
  await kubectlOk(cluster, ['apply', '-n', ns, '-f', '-'], JSON.stringify(hostGroup));
  expect((await getJson(cluster, ['hostgroup', 'hosts', '-n', ns])).spec).toEqual({
    replicas: 2,
    image: 'ghcr.io/wasmesh/wasmesh:0.1.0',
    imagePullPolicy: 'IfNotPresent',
    daemon: false,
    nats: {},
  });
  await kubectlOk(
    cluster,
    ['apply', '-n', ns, '-f', '-'],
    JSON.stringify({ ...hostGroup, metadata: { name: 'bare' }, spec: {} }),
  );
  expect((await getJson(cluster, ['hostgroup', 'bare', '-n', ns])).spec).toMatchObject({ replicas: 1 });

  await kubectlOk(cluster, ['scale', 'hostgroup', 'hosts', '-n', ns, '--replicas', '3']);
  expect((await getJson(cluster, ['hostgroup', 'hosts', '-n', ns])).spec?.replicas).toBe(3);
  const status = { replicas: 3, readyReplicas: 1, selector: 'app.kubernetes.io/instance=hosts', lattice: 'default' };
  await kubectlOk(cluster, [
    'patch',
    'hostgroup',
    'hosts',
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
  const scale = JSON.parse(
    await kubectlOk(cluster, ['get', '--raw', `/apis/wasmesh.dev/v1alpha1/namespaces/${ns}/hostgroups/hosts/scale`]),
  );
  expect(scale).toMatchObject({ spec: { replicas: 3 }, status: { replicas: 3, selector: status.selector } });
  const table = await kubectlOk(cluster, ['get', 'hostgroups', '-n', ns]);
  expect(table.split('\n')[0]).toMatch(/^NAME\s+REPLICAS\s+READY\s+LATTICE\s+AGE$/);
  expect(table).toMatch(/\nhosts\s+3\s+1\s+default\s+\S+/);
});

test('a HostGroup with a bad field is refused, naming it', async () => {
  const ns = await newNamespace(cluster);
  const bad = (spec: unknown) => ({
    apiVersion: 'wasmesh.dev/v1alpha1',
    kind: 'HostGroup',
    metadata: { name: 'bad' },
    spec,
  });
  expect(await refused(ns, bad({ replicas: -1 }))).toMatch(/spec\.replicas: Invalid value: -1/);
  expect(await refused(ns, bad({ lattice: 'a.b' }))).toMatch(/spec\.lattice: Invalid value: "a\.b"/);
  expect(await refused(ns, bad({ nats: { url: 'http://x' } }))).toMatch(/spec\.nats\.url: Invalid value: "http:\/\/x"/);
  expect(await refused(ns, bad({ labels: { 'a b': 'c' } }))).toMatch(/spec\.labels: Invalid value: .*host label keys/);
  expect(await refused(ns, bad({ replicaz: 2 }))).toMatch(/unknown field "spec\.replicaz"/);
});

test('kubectl get applications shows Version, Phase and Age; the status subresource holds phase and conditions', async () => {
  const ns = await newNamespace(cluster);
  await kubectlOk(cluster, ['apply', '-n', ns, '-f', path.join(APPS, 'responder.yaml')]);
  const status = {
    phase: 'Deployed',
    observedGeneration: 1,
    deployedVersion: 'v0.1.0',
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Deployed',
        message: 'v0.1.0 runs',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
      {
        type: 'Synced',
        status: 'True',
        reason: 'Stored',
        message: 'stored',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  };
  await kubectlOk(cluster, [
    'patch',
    'application',
    'responder',
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
  expect((await getJson(cluster, ['application', 'responder', '-n', ns])).status).toEqual(status);
  const table = await kubectlOk(cluster, ['get', 'applications', '-n', ns]);
  expect(table.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+PHASE\s+AGE$/);
  expect(table).toMatch(/\nresponder\s+v0\.1\.0\s+Deployed\s+\S+/);
  expect(await kubectlOk(cluster, ['get', 'wmapp,hg', '-n', ns, '-o', 'name'])).toBe(
    'application.core.oam.dev/responder\n',
  );

  const badPhase = await cluster.kubectl([
    'patch',
    'application',
    'responder',
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"phase":"Happy"}}',
  ]);
  expect(badPhase.stderr).toMatch(/status\.phase: Unsupported value: "Happy"/);
});

test('the Application schema is in sync with the manifest JSON Schema (scripts/gen-crds.mjs --check)', () => {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'gen-crds.mjs'), '--check'], {
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
});
