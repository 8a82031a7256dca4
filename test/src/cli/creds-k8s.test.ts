/**
 * `wasmesh creds k8s-secrets` and `creds create --group` as a user types them (no cluster needed:
 * the chart's test applies the output to a real apiserver and runs NATS with it): the JSON List,
 * the names and values for another release and namespace, and usage errors naming the flag.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCredentials } from '@wasmesh/lattice';
import { wasmesh } from './run-cli.js';

let home: string;
beforeAll(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-k8s-secrets-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

interface SecretItem {
  kind: string;
  metadata: { name: string; namespace: string };
  data: Record<string, string>;
}

test('--json prints a v1 List of the four Secrets for the release and namespace; --values-out names them', async () => {
  const values = path.join(home, 'values.yaml');
  const args = ['creds', 'k8s-secrets', '--home', home, '-n', 'prod', '--release', 'edge', '--lattice', 'blue'];
  const r = await wasmesh([...args, '--dns', 'nats.example.com', '--values-out', values, '--json']);
  expect(r.code).toBe(0);
  const list = JSON.parse(r.stdout) as { kind: string; items: SecretItem[] };
  expect(list.kind).toBe('List');
  expect(list.items.map((s) => [s.kind, s.metadata.namespace, s.metadata.name, Object.keys(s.data).sort()])).toEqual([
    ['Secret', 'prod', 'edge-wasmesh-nats-auth', ['auth.conf']],
    ['Secret', 'prod', 'edge-wasmesh-nats-tls', ['ca.crt', 'tls.crt', 'tls.key']],
    ['Secret', 'prod', 'edge-wasmesh-operator-creds', ['nats.creds']],
    ['Secret', 'prod', 'edge-wasmesh-host-creds', ['nats.creds']],
  ]);
  const data = (i: number, key: string): string => Buffer.from(list.items[i]!.data[key]!, 'base64').toString();
  const cert = new X509Certificate(data(1, 'tls.crt'));
  for (const name of ['edge-wasmesh-nats.prod.svc', 'edge-wasmesh-nats.prod.svc.cluster.local', 'nats.example.com']) {
    expect(cert.subjectAltName).toContain(`DNS:${name}`);
  }
  expect(data(1, 'ca.crt')).toBe(readFileSync(path.join(home, 'tls', 'ca.pem'), 'utf8'));
  expect(data(1, 'tls.key')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  expect(parseCredentials(data(2, 'nats.creds'), 'operator')).toMatchObject({ role: 'admin', signers: {} });
  const hosts = parseCredentials(data(3, 'nats.creds'), 'hosts');
  expect(hosts.role).toBe('host');
  expect(Object.keys(hosts.signers).sort()).toEqual(['app', 'host', 'provider']);
  expect(data(0, 'auth.conf')).toContain(hosts.account); // the new lattice's account is in the server config
  expect(readFileSync(values, 'utf8')).toBe(
    [
      '# wasmesh chart values from `wasmesh creds k8s-secrets`: the names of its Secrets (no secret in here)',
      'lattice: blue',
      'nats:',
      '  auth: { secret: edge-wasmesh-nats-auth }',
      '  tls: { secret: edge-wasmesh-nats-tls }',
      '  credentialsSecret: { name: edge-wasmesh-operator-creds }',
      'hostGroup:',
      '  credentialsSecret: { name: edge-wasmesh-host-creds }',
      '',
    ].join('\n'),
  );
});

test('usage errors name the flag and exit 2', async () => {
  for (const [args, message] of [
    [['-n', 'Bad_NS'], /--namespace "Bad_NS" is not a Kubernetes name/],
    [['--release', '-x'], /--release "-x" is not a Kubernetes name/],
    [['--lattice', 'a.b'], /invalid lattice name "a\.b"/],
  ] as const) {
    const r = await wasmesh(['creds', 'k8s-secrets', '--home', home, ...args]);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', expect.stringMatching(message)]);
  }
  const group = await wasmesh(['creds', 'create', '--role', 'admin', '--group', '--home', home, '--out', 'x']);
  expect([group.code, group.stderr]).toEqual([2, expect.stringMatching(/--group is for --role host only/)]);
});

test('creds create --role host --group: one file for many hosts, shown as able to sign hosts', async () => {
  const file = path.join(home, 'fleet.creds');
  const r = await wasmesh(['creds', 'create', '--role', 'host', '--group', '--home', home, '--out', file, '--json']);
  expect(JSON.parse(r.stdout)).toMatchObject({ role: 'host', name: 'host-group', group: true });
  const shown = JSON.parse((await wasmesh(['creds', 'show', file, '--json'])).stdout) as Record<string, unknown>;
  expect(shown).toMatchObject({ role: 'host', name: 'host-group', carriesSigningKeys: ['host', 'provider', 'app'] });
});
