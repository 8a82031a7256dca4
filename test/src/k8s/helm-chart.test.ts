/**
 * The Helm chart deploy/helm/wasmesh against a real kube-apiserver: `helm lint` passes, `helm
 * template` renders with the values a user gives (the chart's NATS secured with the Secrets of its
 * README, an existing NATS with credentials, the explicit open mode, cluster-wide, DaemonSet hosts,
 * no default HostGroup) and refuses an unsecured NATS nobody asked for, the apiserver accepts every
 * rendering (`kubectl apply --dry-run=server`, CRDs installed first), the rendered NATS config runs
 * a real nats-server with the lattice's JWT auth and TLS, and once applied for real the operator's
 * ServiceAccount may do what the operator does and no more.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { connectNats, LatticeClient } from '@wasmesh/lattice';
import { parseAllDocuments } from 'yaml';
import { wasmesh } from '../cli/run-cli.js';
import { HostProcess } from '../harness/host-process.js';
import { KubeCluster } from '../harness/kube.js';
import { findNatsServerBinary, killOnExit } from '../harness/nats-server.js';
import { freePort } from '../harness/redis-server.js';
import { until } from '../lattice/fixture.js';
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

/** The values of the chart's NATS secured with the Secrets the chart's README has you create. */
const SECURE = [
  '--set',
  'nats.auth.secret=wasmesh-nats-auth',
  '--set',
  'nats.tls.secret=wasmesh-nats-tls',
  '--set',
  'nats.credentialsSecret.name=wasmesh-operator-creds',
  '--set',
  'hostGroup.credentialsSecret.name=wasmesh-host-creds',
];

/** The explicit open mode of the chart's NATS. */
const INSECURE = ['--set', 'nats.insecure=true'];

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
  spec?: { template?: { spec: PodSpec } } & Record<string, unknown>;
  data?: Record<string, string>;
}

/** A rendered pod spec: what the tests read of it. */
interface PodSpec {
  containers: (Container & { volumeMounts: { name: string; mountPath: string }[] })[];
  volumes: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
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
function podSpec(list: Rendered[], name: string): PodSpec {
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

test('helm lint passes with the values of each mode (secured, existing NATS, open) and the variants', async () => {
  for (const args of [
    SECURE,
    EXTERNAL_NATS,
    INSECURE,
    [...SECURE, '--set', 'clusterWide=true', '--set', 'hostGroup.daemon=true'],
  ]) {
    const result = await cluster.helm(['lint', CHART, ...args]);
    expect({ code: result.code, out: result.stdout }).toEqual({
      code: 0,
      out: expect.stringMatching(/0 chart\(s\) failed/),
    });
  }
});

test('the secured values render the operator, namespaced RBAC, a NATS with JWT auth and TLS and a HostGroup, and apply', async () => {
  const list = await rendersAndApplies(SECURE);
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
  // NATS: its config includes the auth Secret's `wasmesh creds server-config` and requires TLS.
  const conf = find(list, 'ConfigMap', 'wm-wasmesh-nats').data?.['nats.conf'] ?? '';
  expect(conf).toMatch(/^include \.\.\/auth\/auth\.conf$/m);
  expect(conf).toMatch(/tls \{\s*cert_file: \/etc\/nats\/tls\/tls\.crt\s*key_file: \/etc\/nats\/tls\/tls\.key/);
  const nats = podSpec(list, 'wm-wasmesh-nats');
  expect(nats.containers[0]!.image).toMatch(/^nats:/);
  expect(nats.containers[0]!.command).toEqual(['nats-server', '--config', '/etc/nats/config/nats.conf']);
  expect(nats.containers[0]!.volumeMounts).toEqual(
    expect.arrayContaining([
      { name: 'auth', mountPath: '/etc/nats/auth', readOnly: true },
      { name: 'tls', mountPath: '/etc/nats/tls', readOnly: true },
    ]),
  );
  expect(nats.volumes.filter((v) => v.secret).map((v) => v.secret)).toEqual([
    { secretName: 'wasmesh-nats-auth', items: [{ key: 'auth.conf', path: 'auth.conf' }] },
    {
      secretName: 'wasmesh-nats-tls',
      items: [
        { key: 'tls.crt', path: 'tls.crt' },
        { key: 'tls.key', path: 'tls.key' },
      ],
    },
  ]);

  // The operator: admin credentials and the CA, over TLS to the Service.
  const operatorPod = podSpec(list, 'wm-wasmesh-operator');
  const operator = operatorPod.containers[0]!;
  expect(operator.command).toEqual(['wasmesh-operator']);
  expect(operator.args).toEqual(expect.arrayContaining(['--lattice=default', '--id=$(POD_NAME)']));
  expect(operator.args.filter((a) => a.startsWith('--namespace='))).toHaveLength(1);
  const natsUrl = operator.env.find((e) => e.name === 'WASMESH_NATS_URL')?.value;
  expect(natsUrl).toMatch(/^tls:\/\/wm-wasmesh-nats\.helm\d+\.svc:4222$/);
  expect(operator.env).toEqual(
    expect.arrayContaining([
      { name: 'WASMESH_NATS_CREDS', value: '/etc/wasmesh/nats-creds/nats.creds' },
      { name: 'WASMESH_NATS_CA', value: '/etc/wasmesh/nats-ca/ca.crt' },
    ]),
  );
  expect(operator.volumeMounts.map((m) => m.mountPath)).toEqual(
    expect.arrayContaining(['/etc/wasmesh/nats-creds', '/etc/wasmesh/nats-ca']),
  );
  expect(operatorPod.volumes.filter((v) => v.secret).map((v) => v.secret)).toEqual([
    { secretName: 'wasmesh-operator-creds', items: [{ key: 'nats.creds', path: 'nats.creds' }] },
    { secretName: 'wasmesh-nats-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
  ]);

  // The hosts: their own credentials and the same CA.
  expect(find(list, 'HostGroup', 'hosts').spec).toMatchObject({
    replicas: 1,
    lattice: 'default',
    nats: {
      url: natsUrl,
      credentialsSecret: { name: 'wasmesh-host-creds', key: 'nats.creds' },
      tlsCaSecret: { name: 'wasmesh-nats-tls', key: 'ca.crt' },
    },
  });
});

test('the default values, without the Secrets, fail naming each Secret to create and the opt-out', async () => {
  const ns = await newNamespace(cluster, 'helm');
  const refused = await cluster.helm(['template', 'wm', CHART, '--namespace', ns]);
  expect(refused.code).not.toBe(0);
  for (const expected of [
    /JWT auth and TLS/,
    new RegExp(`wasmesh creds k8s-secrets -n ${ns} --release wm --lattice default --values-out wasmesh-values\\.yaml`),
    /nats\.auth\.secret .*wasmesh creds server-config > auth\.conf/,
    /nats\.tls\.secret .*tls\.crt, tls\.key and ca\.crt/,
    new RegExp(`certificate for wm-wasmesh-nats\\.${ns}\\.svc`),
    /nats\.credentialsSecret\.name .*wasmesh creds create --role admin/,
    /hostGroup\.credentialsSecret\.name .*wasmesh creds create --role host --group/,
    /--set nats\.insecure=true/,
  ]) {
    expect(refused.stderr).toMatch(expected);
  }
  // helm install refuses the same way, before touching the cluster.
  const install = await cluster.helm(['install', 'wm', CHART, '--namespace', ns]);
  expect(install.code).not.toBe(0);
  expect(install.stderr).toMatch(/Missing:/);
  // One missing Secret is named alone.
  const partial = await cluster.helm(['template', 'wm', CHART, '--namespace', ns, ...SECURE.slice(0, 6)]);
  expect(partial.code).not.toBe(0);
  expect(partial.stderr).toMatch(/Missing:\n {2}- hostGroup\.credentialsSecret\.name [^\n]*\nOr,/);
  // Without a default HostGroup, no host credentials are needed.
  await render(ns, [...SECURE.slice(0, 6), '--set', 'hostGroup.enabled=false']);
});

test('nats.insecure=true: the open NATS of old, and a warning in the notes', async () => {
  const list = await rendersAndApplies(INSECURE);
  const conf = find(list, 'ConfigMap', 'wm-wasmesh-nats').data?.['nats.conf'] ?? '';
  expect(conf).not.toMatch(/include|tls|operator/);
  const nats = podSpec(list, 'wm-wasmesh-nats');
  expect(nats.volumes.filter((v) => v.secret)).toEqual([]);
  const operator = podSpec(list, 'wm-wasmesh-operator').containers[0]!;
  expect(operator.env.map((e) => e.name)).not.toEqual(expect.arrayContaining(['WASMESH_NATS_CREDS']));
  expect(operator.env.find((e) => e.name === 'WASMESH_NATS_URL')?.value).toMatch(/^nats:\/\//);
  expect(find(list, 'HostGroup', 'hosts').spec?.nats).toEqual({
    url: expect.stringMatching(/^nats:\/\//),
  });

  const ns = await newNamespace(cluster, 'helm');
  const notes = async (args: string[]): Promise<string> => {
    const result = await cluster.helm(['install', 'wm', CHART, '--namespace', ns, '--dry-run=client', ...args]);
    if (result.code !== 0) throw new Error(`helm install --dry-run failed: ${result.stderr}`);
    return result.stdout.slice(result.stdout.indexOf('NOTES:'));
  };
  expect(await notes(INSECURE)).toMatch(/^WARNING: the lattice's NATS is OPEN \(no authentication, no TLS\)/m);
  expect(await notes(SECURE)).not.toMatch(/WARNING/);
  expect(await notes(SECURE)).toMatch(/NATS runs with TLS \(Secret wasmesh-nats-tls\)/);

  // Asking for both is a mistake, not a choice.
  const both = await cluster.helm(['template', 'wm', CHART, '--namespace', ns, ...INSECURE, ...SECURE]);
  expect(both.code).not.toBe(0);
  expect(both.stderr).toMatch(/nats\.insecure=true runs an open NATS, yet/);
});

test("the chart's NATS, secured with the Secrets of `wasmesh creds k8s-secrets`, runs: operator and host-group pods in, anonymous out", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-helm-nats-'));
  const ns = await newNamespace(cluster, 'helm');
  let server: ReturnType<typeof spawn> | undefined;
  const hosts: HostProcess[] = [];
  let admin: LatticeClient | undefined;
  try {
    // What the chart's README has the user do: the CLI prints the Secrets and the values naming them.
    const values = path.join(dir, 'values.yaml');
    const home = path.join(dir, 'home');
    const cli = await wasmesh([
      'creds',
      'k8s-secrets',
      '--home',
      home,
      '-n',
      ns,
      '--release',
      'wm',
      '--values-out',
      values,
    ]);
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({
      code: 0,
      stderr: expect.stringContaining('wm-wasmesh-nats-tls'),
    });
    await kubectlOk(cluster, ['apply', '--server-side', '-f', '-'], cli.stdout);
    const yaml = await render(ns, ['-f', values]);
    await kubectlOk(cluster, ['apply', '--dry-run=server', '-n', ns, '-f', '-'], yaml);

    // The pods' files, as the kubelet mounts the Secrets: read back from the apiserver.
    const mount = async (secret: string, sub: string): Promise<string> => {
      const { data } = JSON.parse(await kubectlOk(cluster, ['get', 'secret', secret, '-n', ns, '-o', 'json'])) as {
        data: Record<string, string>;
      };
      mkdirSync(path.join(dir, sub));
      for (const [key, value] of Object.entries(data)) {
        writeFileSync(path.join(dir, sub, key), Buffer.from(value, 'base64'), { mode: 0o600 });
      }
      return path.join(dir, sub);
    };
    await mount('wm-wasmesh-nats-auth', 'auth');
    const tls = await mount('wm-wasmesh-nats-tls', 'tls');
    const operatorCreds = path.join(await mount('wm-wasmesh-operator-creds', 'operator'), 'nats.creds');
    const hostCreds = path.join(await mount('wm-wasmesh-host-creds', 'hosts'), 'nats.creds');
    const tlsCa = path.join(tls, 'ca.crt');

    // The certificate names the chart's NATS Service and is signed by the CA the pods trust.
    const cert = new X509Certificate(readFileSync(path.join(tls, 'tls.crt')));
    const ca = new X509Certificate(readFileSync(tlsCa));
    for (const name of [`wm-wasmesh-nats.${ns}.svc`, `wm-wasmesh-nats.${ns}.svc.cluster.local`]) {
      expect(cert.subjectAltName).toContain(`DNS:${name}`);
    }
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);

    // The rendered NATS config, with the pod's file layout under `dir` instead of /etc/nats and /data.
    const conf = find(objects(yaml), 'ConfigMap', 'wm-wasmesh-nats').data?.['nats.conf'] ?? '';
    for (const sub of ['config', 'data']) mkdirSync(path.join(dir, sub));
    const port = await freePort();
    writeFileSync(
      path.join(dir, 'config', 'nats.conf'),
      conf
        .replaceAll('/etc/nats/', `${dir}/`)
        .replace('store_dir: /data', `store_dir: ${JSON.stringify(path.join(dir, 'data'))}`)
        .replace('port: 4222', `port: ${port}`)
        .replace(/^http_port: .*$/m, ''),
    );
    server = spawn(findNatsServerBinary(), ['--config', path.join(dir, 'config', 'nats.conf')], { stdio: 'ignore' });
    killOnExit(server);
    const servers = `tls://127.0.0.1:${port}`;
    const connect = async (access: { creds?: string; tlsCa?: string }) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await connectNats({ name: 'helm-test', servers, reconnect: false, connectTimeoutMs: 2000, ...access });
        } catch (err) {
          if (attempt >= 20 || !/ECONNREFUSED|refused/i.test(String(err))) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    };
    await (await connect({ creds: operatorCreds, tlsCa })).close();
    await expect(connect({ tlsCa })).rejects.toThrow(/refused to let us in without credentials/);

    // Two host pods sharing the HostGroup's Secret: each joins with an id of its own.
    admin = await LatticeClient.connect({ servers, creds: operatorCreds, tlsCa, lattice: 'default' });
    for (let i = 0; i < 2; i++) {
      hosts.push(await HostProcess.start({ natsUrl: servers, creds: hostCreds, tlsCa, lattice: 'default' }));
    }
    const ids = hosts.map((h) => h.hostId);
    expect(new Set(ids).size).toBe(2);
    const client = admin;
    await until('both host pods to answer a ping', async () => {
      const seen = (await client.control.ping()).map((h) => h.hostId);
      return ids.every((id) => seen.includes(id));
    });
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
    await admin?.close();
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
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

  // A URL without credentials is refused unless the open mode is asked for.
  const open = ['--set', 'nats.enabled=false', '--set', 'externalNats.url=nats://n:4222'];
  const refused = await cluster.helm(['template', 'wm', CHART, '--namespace', ns, ...open]);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(
    /externalNats\.url is set without credentials: .*wasmesh creds create --role admin.*externalNats\.insecure=true/,
  );
  const insecure = await rendersAndApplies([...open, '--set', 'externalNats.insecure=true']);
  expect(find(insecure, 'HostGroup', 'hosts').spec?.nats).toEqual({ url: 'nats://n:4222' });
});

test('clusterWide: a ClusterRole and no --namespace; DaemonSet hosts with labels; no default HostGroup', async () => {
  const wide = await rendersAndApplies([...SECURE, '--set', 'clusterWide=true']);
  find(wide, 'ClusterRole', 'wm-wasmesh-operator');
  find(wide, 'ClusterRoleBinding', 'wm-wasmesh-operator');
  expect(wide.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toEqual([]);
  const args = podSpec(wide, 'wm-wasmesh-operator').containers[0]!.args;
  expect(args.filter((a) => a.startsWith('--namespace='))).toEqual([]);

  const daemon = await rendersAndApplies([
    ...SECURE,
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
    '--set',
    'externalNats.insecure=true',
  ]);
  expect(none.filter((o) => o.kind === 'HostGroup')).toEqual([]);
});

test('values.schema.json refuses a misspelled or mistyped value, naming it', async () => {
  const ns = await newNamespace(cluster, 'helm');
  const refused = async (set: string): Promise<string> => {
    const result = await cluster.helm(['template', 'wm', CHART, '--namespace', ns, ...SECURE, '--set', set]);
    expect(result.code).not.toBe(0);
    return result.stderr;
  };
  expect(await refused('nats.enable=true')).toMatch(/at '\/nats': additional properties 'enable' not allowed/);
  expect(await refused('hostGroup.replicas=-1')).toMatch(/at '\/hostGroup\/replicas': minimum: got -1, want 0/);
  expect(await refused('externalNats.url=http://x')).toMatch(/at '\/externalNats\/url'/);
  expect(await refused('nats.auth.secret=Not_A_Name')).toMatch(/at '\/nats\/auth\/secret'/);
});

test("applied for real, the operator's ServiceAccount may do what the operator does, and no more", async () => {
  const ns = await newNamespace(cluster, 'helm');
  await kubectlOk(cluster, ['apply', '-n', ns, '-f', '-'], await render(ns, SECURE));
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
    ['patch', 'endpointslices.discovery.k8s.io'],
    ['delete', 'endpointslices.discovery.k8s.io'],
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
  const crds = objects(await render(ns, [...SECURE, '--include-crds'])).filter(
    (o) => o.kind === 'CustomResourceDefinition',
  );
  expect(crds.map((o) => o.metadata.name).sort()).toEqual(['applications.core.oam.dev', 'hostgroups.wasmesh.dev']);
});
