/**
 * The Helm chart deploy/helm/wasmesh against a real kube-apiserver: `helm lint` passes, `helm
 * template` renders with the default values and the variants a user picks (existing NATS with
 * credentials, cluster-wide, DaemonSet hosts, no default HostGroup), the apiserver accepts every
 * rendering (`kubectl apply --dry-run=server`, CRDs installed first), and once applied for real the
 * operator's ServiceAccount may do what the operator does and no more.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeCluster } from '../harness/kube.js';
import { kubectlOk, newNamespace, REPO_ROOT } from './kubectl.js';

const CHART = path.join(REPO_ROOT, 'deploy', 'helm', 'wasmesh');
const CRDS = path.join(REPO_ROOT, 'deploy', 'crds');

/** The values of an existing, secured NATS. */
const EXTERNAL_NATS = [
  '--set',
  'nats.enabled=false',
  '--set',
  'externalNats.url=tls://nats.example.svc:4222',
  '--set',
  'externalNats.credentialsSecret.name=wasmesh-creds',
  '--set',
  'externalNats.tlsCaSecret.name=nats-ca',
];

let cluster: KubeCluster;

beforeAll(async () => {
  cluster = await KubeCluster.start({ manifests: [CRDS] });
});

afterAll(async () => {
  await cluster?.stop();
});

/** A rendered container: what the tests read of it. */
interface Container {
  image: string;
  command?: string[];
  args: string[];
  env: { name: string; value?: string }[];
}

/** A rendered object: what the tests read of it. */
interface Rendered {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec: { containers: Container[]; volumes: { secret?: { secretName: string } }[] } } } & Record<
    string,
    unknown
  >;
}

/** `helm template` of the chart as release `wm` in `ns` with `args`: the YAML, which must render. */
async function render(ns: string, args: string[] = []): Promise<string> {
  const result = await cluster.helm(['template', 'wm', CHART, '--namespace', ns, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** The objects of a rendering. */
function objects(yaml: string): Rendered[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Rendered | null)
    .filter((o): o is Rendered => o !== null);
}

/** The one object of `kind` named `name` in `list`. */
function find(list: Rendered[], kind: string, name: string): Rendered {
  const found = list.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in: ${list.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** The pod spec of Deployment `name` in `list`. */
function podSpec(list: Rendered[], name: string): NonNullable<NonNullable<Rendered['spec']>['template']>['spec'] {
  const template = find(list, 'Deployment', name).spec?.template;
  if (!template) throw new Error(`Deployment ${name} has no pod template`);
  return template.spec;
}

/** Renders with `args` into a fresh namespace and has the apiserver accept it (server-side dry run). */
async function rendersAndApplies(args: string[] = []): Promise<Rendered[]> {
  const ns = await newNamespace(cluster, 'helm');
  const yaml = await render(ns, args);
  const out = await kubectlOk(cluster, ['apply', '--dry-run=server', '-n', ns, '-f', '-'], yaml);
  const list = objects(yaml);
  expect(out.trim().split('\n')).toHaveLength(list.length);
  return list;
}

test('helm lint passes, with the default values and the variants', async () => {
  for (const args of [[], EXTERNAL_NATS, ['--set', 'clusterWide=true', '--set', 'hostGroup.daemon=true']]) {
    const result = await cluster.helm(['lint', CHART, ...args]);
    expect({ code: result.code, out: result.stdout }).toEqual({
      code: 0,
      out: expect.stringMatching(/0 chart\(s\) failed/),
    });
  }
});

test('the default values render the operator, namespaced RBAC, a NATS server and a HostGroup, and apply', async () => {
  const list = await rendersAndApplies();
  expect(list.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
    'ConfigMap/wm-wasmesh-nats',
    'Deployment/wm-wasmesh-nats',
    'Deployment/wm-wasmesh-operator',
    'HostGroup/hosts',
    'Role/wm-wasmesh-operator',
    'RoleBinding/wm-wasmesh-operator',
    'Service/wm-wasmesh-nats',
    'ServiceAccount/wm-wasmesh-operator',
  ]);
  const operator = podSpec(list, 'wm-wasmesh-operator').containers[0]!;
  expect(operator.command).toEqual(['wasmesh-operator']);
  expect(operator.args).toEqual(expect.arrayContaining(['--lattice=default', '--id=$(POD_NAME)']));
  expect(operator.args.filter((a) => a.startsWith('--namespace='))).toHaveLength(1);
  const natsUrl = operator.env.find((e) => e.name === 'WASMESH_NATS_URL')?.value;
  expect(natsUrl).toMatch(/^nats:\/\/wm-wasmesh-nats\.helm\d+\.svc:4222$/);
  expect(find(list, 'HostGroup', 'hosts').spec).toMatchObject({
    replicas: 1,
    lattice: 'default',
    nats: { url: natsUrl },
  });
  expect(podSpec(list, 'wm-wasmesh-nats').containers[0]!.image).toMatch(/^nats:/);
});

test('an existing NATS: URL, credentials and CA from Secrets, for the operator and the hosts; no NATS server', async () => {
  const list = await rendersAndApplies(EXTERNAL_NATS);
  expect(list.filter((o) => o.metadata.name.endsWith('-nats'))).toEqual([]);
  const pod = podSpec(list, 'wm-wasmesh-operator');
  expect(pod.containers[0]!.env).toEqual(
    expect.arrayContaining([
      { name: 'WASMESH_NATS_URL', value: 'tls://nats.example.svc:4222' },
      { name: 'WASMESH_NATS_CREDS', value: '/etc/wasmesh/nats-creds/nats.creds' },
      { name: 'WASMESH_NATS_CA', value: '/etc/wasmesh/nats-ca/ca.crt' },
    ]),
  );
  expect(pod.volumes.map((v) => v.secret?.secretName).filter(Boolean)).toEqual(['wasmesh-creds', 'nats-ca']);
  expect(find(list, 'HostGroup', 'hosts').spec?.nats).toEqual({
    url: 'tls://nats.example.svc:4222',
    credentialsSecret: { name: 'wasmesh-creds', key: 'nats.creds' },
    tlsCaSecret: { name: 'nats-ca', key: 'ca.crt' },
  });

  // Without a URL the chart refuses to render, saying what to set.
  const ns = await newNamespace(cluster, 'helm');
  const missing = await cluster.helm(['template', 'wm', CHART, '--namespace', ns, '--set', 'nats.enabled=false']);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toMatch(/set externalNats\.url/);
});

test('clusterWide: a ClusterRole and no --namespace; DaemonSet hosts with labels; no default HostGroup', async () => {
  const wide = await rendersAndApplies(['--set', 'clusterWide=true']);
  find(wide, 'ClusterRole', 'wm-wasmesh-operator');
  find(wide, 'ClusterRoleBinding', 'wm-wasmesh-operator');
  expect(wide.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toEqual([]);
  const args = podSpec(wide, 'wm-wasmesh-operator').containers[0]!.args;
  expect(args.filter((a) => a.startsWith('--namespace='))).toEqual([]);

  const daemon = await rendersAndApplies([
    '--set',
    'hostGroup.daemon=true',
    '--set',
    'hostGroup.labels.zone=a',
    '--set',
    'hostGroup.nodeSelector.wasm=yes',
    '--set',
    'operator.replicas=2',
  ]);
  expect(find(daemon, 'HostGroup', 'hosts').spec).toMatchObject({
    daemon: true,
    labels: { zone: 'a' },
    nodeSelector: { wasm: 'yes' },
  });

  const none = await rendersAndApplies([
    '--set',
    'hostGroup.enabled=false',
    '--set',
    'nats.enabled=false',
    '--set',
    'externalNats.url=nats://n:4222',
  ]);
  expect(none.filter((o) => o.kind === 'HostGroup')).toEqual([]);
});

test('values.schema.json refuses a misspelled or mistyped value, naming it', async () => {
  const ns = await newNamespace(cluster, 'helm');
  const refused = async (set: string): Promise<string> => {
    const result = await cluster.helm(['template', 'wm', CHART, '--namespace', ns, '--set', set]);
    expect(result.code).not.toBe(0);
    return result.stderr;
  };
  expect(await refused('nats.enable=true')).toMatch(/at '\/nats': additional properties 'enable' not allowed/);
  expect(await refused('hostGroup.replicas=-1')).toMatch(/at '\/hostGroup\/replicas': minimum: got -1, want 0/);
  expect(await refused('externalNats.url=http://x')).toMatch(/at '\/externalNats\/url'/);
});

test("applied for real, the operator's ServiceAccount may do what the operator does, and no more", async () => {
  const ns = await newNamespace(cluster, 'helm');
  await kubectlOk(cluster, ['apply', '-n', ns, '-f', '-'], await render(ns));
  const as = `--as=system:serviceaccount:${ns}:wm-wasmesh-operator`;
  const can = async (verb: string, resource: string, namespace = ns): Promise<boolean> => {
    const result = await cluster.kubectl(['auth', 'can-i', verb, resource, '-n', namespace, as]);
    return result.stdout.trim() === 'yes';
  };
  for (const [verb, resource] of [
    ['watch', 'applications.core.oam.dev'],
    ['patch', 'applications.core.oam.dev/status'],
    ['update', 'applications.core.oam.dev/finalizers'],
    ['patch', 'hostgroups.wasmesh.dev/status'],
    ['create', 'deployments.apps'],
    ['patch', 'daemonsets.apps'],
    ['delete', 'configmaps'],
    ['patch', 'services'],
    ['list', 'endpointslices.discovery.k8s.io'],
    ['create', 'events'],
    ['update', 'leases.coordination.k8s.io'],
  ]) {
    expect(`${verb} ${resource}: ${await can(verb!, resource!)}`).toBe(`${verb} ${resource}: true`);
  }
  for (const [verb, resource] of [
    ['get', 'secrets'],
    ['create', 'pods'],
    ['delete', 'applications.core.oam.dev'],
    ['create', 'roles.rbac.authorization.k8s.io'],
    ['delete', 'leases.coordination.k8s.io'],
  ]) {
    expect(`${verb} ${resource}: ${await can(verb!, resource!)}`).toBe(`${verb} ${resource}: false`);
  }
  // Namespaced by default: nothing in another namespace.
  expect(await can('list', 'applications.core.oam.dev', 'default')).toBe(false);
});

test("the chart's crds/ are the files of deploy/crds/, and helm template --include-crds renders them", async () => {
  const names = readdirSync(CRDS).filter((f) => f.endsWith('.yaml'));
  expect(readdirSync(path.join(CHART, 'crds')).sort()).toEqual(names.sort());
  for (const name of names) {
    expect(readFileSync(path.join(CHART, 'crds', name), 'utf8')).toBe(readFileSync(path.join(CRDS, name), 'utf8'));
  }
  const ns = await newNamespace(cluster, 'helm');
  const crds = objects(await render(ns, ['--include-crds'])).filter((o) => o.kind === 'CustomResourceDefinition');
  expect(crds.map((o) => o.metadata.name).sort()).toEqual(['applications.core.oam.dev', 'hostgroups.wasmesh.dev']);
});
