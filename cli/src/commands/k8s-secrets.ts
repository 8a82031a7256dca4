/**
 * `wasmesh creds k8s-secrets`: the four Secrets the Helm chart's secured NATS needs, made from the
 * authority and CA this home keeps (`<home>/auth`, `<home>/tls`), printed for `kubectl apply`:
 *
 *   <fullname>-nats-auth       auth.conf   the server's operator/accounts config (no private keys)
 *   <fullname>-nats-tls        tls.crt, tls.key, ca.crt: a server certificate for the chart's NATS
 *                              Service names (and loopback, for `kubectl port-forward`), signed by
 *                              the home's CA
 *   <fullname>-operator-creds  nats.creds  admin credentials for the operator
 *   <fullname>-host-creds      nats.creds  host-group credentials: every host pod mints its own id
 *
 * `--values-out` writes the chart values that name them. The authority's keys and the CA key never
 * leave the home: the cluster gets a config, two credentials files and one server key pair.
 *
 * Decision: the Service names follow the chart's own naming (`wasmesh.fullname` in _helpers.tpl:
 * the release name when it contains "wasmesh", else `<release>-wasmesh`), so the default release
 * `wasmesh` in namespace `wasmesh` needs no flag at all.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { checkToken, DEFAULT_LATTICE, intFlag, issueServerCert, UsageError } from '@wasmesh/lattice';
import { examples, note } from '../common.js';
import { localAuthority } from '../local/security.js';
import { resolveHome } from '../local/state.js';

interface K8sSecretsOptions {
  namespace: string;
  release: string;
  lattice: string;
  dns: string[];
  valuesOut?: string;
  expiresInDays: number;
  home?: string;
  json?: boolean;
}

/** A Secret as the command prints it. */
interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  type: 'Opaque';
  data: Record<string, string>;
}

/** A DNS-1123 label, as Kubernetes names namespaces and Helm release names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function dnsLabel(flag: string, value: string): string {
  if (!DNS_LABEL.test(value)) {
    throw new UsageError(`${flag} "${value}" is not a Kubernetes name: lower-case letters, digits and '-', 1-63`);
  }
  return value;
}

/** The chart's `wasmesh.fullname` for release `release`. */
function chartFullname(release: string): string {
  const name = release.includes('wasmesh') ? release : `${release}-wasmesh`;
  return name.slice(0, 63).replace(/-+$/, '');
}

/** The names the chart's NATS Service answers to inside the cluster, and loopback for port-forwards. */
function natsServiceNames(fullname: string, namespace: string, extra: string[]): string[] {
  const svc = `${fullname}-nats`;
  return [
    `${svc}.${namespace}.svc`,
    `${svc}.${namespace}.svc.cluster.local`,
    `${svc}.${namespace}`,
    svc,
    'localhost',
    '127.0.0.1',
    ...extra,
  ];
}

function secret(name: string, namespace: string, data: Record<string, string>): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: { 'app.kubernetes.io/part-of': 'wasmesh', 'app.kubernetes.io/managed-by': 'wasmesh-cli' },
    },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/** YAML of a Secret (every value is a name, a label or base64: nothing needs quoting). */
function secretYaml(s: SecretObject): string {
  return [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${s.metadata.name}`,
    `  namespace: ${s.metadata.namespace}`,
    '  labels:',
    ...Object.entries(s.metadata.labels).map(([k, v]) => `    ${k}: ${v}`),
    `type: ${s.type}`,
    'data:',
    ...Object.entries(s.data).map(([k, v]) => `  ${k}: ${v}`),
  ].join('\n');
}

/** The chart values naming the Secrets. */
function valuesYaml(lattice: string, names: Record<'auth' | 'tls' | 'operator' | 'hosts', string>): string {
  return [
    '# wasmesh chart values from `wasmesh creds k8s-secrets`: the names of its Secrets (no secret in here)',
    `lattice: ${lattice}`,
    'nats:',
    `  auth: { secret: ${names.auth} }`,
    `  tls: { secret: ${names.tls} }`,
    `  credentialsSecret: { name: ${names.operator} }`,
    'hostGroup:',
    `  credentialsSecret: { name: ${names.hosts} }`,
    '',
  ].join('\n');
}

/** Registers `k8s-secrets` on the `creds` group. */
export function registerK8sSecrets(group: Command): void {
  const cmd = group
    .command('k8s-secrets')
    .description("print the Secrets of the Helm chart's secured NATS (auth config, TLS, operator and host credentials)")
    .addOption(new Option('-n, --namespace <ns>', 'the namespace of the release').default('wasmesh'))
    .addOption(new Option('--release <name>', 'the Helm release name').default('wasmesh'))
    .addOption(new Option('--lattice <name>', 'lattice').env('WASMESH_LATTICE').default(DEFAULT_LATTICE))
    .option(
      '--dns <name>',
      'another name the NATS certificate must cover (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--values-out <file>', 'also write the chart values that name the Secrets (helm install -f FILE)')
    .option('--expires-in-days <n>', 'validity of the server certificate', intFlag('--expires-in-days', 1, 3650), 825)
    .option('--home <dir>', 'the home whose authority and CA issue them (default $WASMESH_HOME or ~/.wasmesh)')
    .option('--json', 'print a v1 List (JSON) instead of YAML documents');
  examples(
    cmd,
    [
      'wasmesh creds k8s-secrets --values-out wasmesh-values.yaml | kubectl apply --server-side -f -',
      'helm install wasmesh deploy/helm/wasmesh -n wasmesh -f wasmesh-values.yaml',
      'wasmesh creds k8s-secrets -n prod --release edge --dns nats.example.com > secrets.yaml',
    ],
    'The output holds credentials: pipe it to kubectl rather than keeping it. After a new lattice\n' +
      '(wasmesh creds create --lattice other …) run it again and restart the NATS Deployment.\n' +
      'The certificate also covers localhost: `kubectl port-forward svc/wasmesh-nats 4222` then lets\n' +
      'this CLI reach the cluster with `--nats tls://127.0.0.1:4222` and the home’s admin credentials.',
  ).action(async (opts: K8sSecretsOptions) => {
    const namespace = dnsLabel('--namespace', opts.namespace);
    const release = dnsLabel('--release', opts.release);
    checkToken('lattice name', opts.lattice);
    const home = resolveHome(opts.home);
    const authority = localAuthority(home);
    const fullname = chartFullname(release);
    const names = {
      auth: `${fullname}-nats-auth`,
      tls: `${fullname}-nats-tls`,
      operator: `${fullname}-operator-creds`,
      hosts: `${fullname}-host-creds`,
    };
    const [operatorCreds, hostCreds] = [
      await authority.issue({ lattice: opts.lattice, role: 'admin', name: 'k8s-operator' }),
      await authority.issue({ lattice: opts.lattice, role: 'host', name: 'k8s-hosts', group: true }),
    ];
    const tls = await issueServerCert(
      path.join(home, 'tls'),
      natsServiceNames(fullname, namespace, opts.dns),
      opts.expiresInDays,
    );
    const secrets = [
      secret(names.auth, namespace, { 'auth.conf': await authority.serverConfig() }),
      secret(names.tls, namespace, { 'tls.crt': tls.cert, 'tls.key': tls.key, 'ca.crt': tls.ca }),
      secret(names.operator, namespace, { 'nats.creds': operatorCreds }),
      secret(names.hosts, namespace, { 'nats.creds': hostCreds }),
    ];
    if (opts.valuesOut) writeFileSync(opts.valuesOut, valuesYaml(opts.lattice, names));
    if (opts.json)
      process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: secrets }, null, 2)}\n`);
    else process.stdout.write(`${secrets.map((s) => `---\n${secretYaml(s)}`).join('\n')}\n`);
    note(
      `Secrets ${Object.values(names).join(', ')} for namespace ${namespace}` +
        (opts.valuesOut ? `; chart values in ${opts.valuesOut}` : `; chart values: --values-out FILE`),
    );
  });
}
