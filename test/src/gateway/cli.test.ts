/**
 * `wasmesh gateway` as a user runs it (it runs the `wasmesh-gateway` bin): with TLS files (flags or env) it prints its address once
 * serving (JSON with --json), serves clients with a certificate of its CA, and exits 0 on SIGTERM;
 * without TLS files or --insecure, with an invalid --listen, or --insecure on a non-loopback
 * address, it is a usage-class error (exit 2) saying what to pass. `wasmesh creds gateway-cert`
 * issues client certificates a gateway honours.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Gateway } from '@wasmesh/gateway';
import { ensureServerTls } from '@wasmesh/lattice';
import { createInterface } from 'node:readline';
import { uniqueLattice } from '../lattice/fixture.js';
import { NatsServer } from '../harness/nats-server.js';
import { natsFlags, wasmesh, wasmeshBin } from '../cli/run-cli.js';
import { connectClients, gatewayPki, grpc, unary, type GatewayPki } from './grpc-client.js';

let nats: NatsServer;
let pki: GatewayPki;
beforeAll(async () => {
  nats = await NatsServer.start();
  pki = await gatewayPki();
}, 30_000);
afterAll(async () => {
  await nats?.[Symbol.asyncDispose]();
  pki?.remove();
});

test('wasmesh gateway --listen 127.0.0.1:0 --json (TLS files from the env) prints its address, serves, and exits 0 on SIGTERM', async () => {
  const lattice = uniqueLattice('gw');
  const child = spawn(
    process.execPath,
    [
      wasmeshBin,
      'gateway',
      '--listen',
      '127.0.0.1:0',
      '--json',
      ...(await natsFlags(nats, lattice)),
      '--lattice',
      lattice,
    ],
    {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        WASMESH_LOG_LEVEL: 'warn',
        WASMESH_GATEWAY_TLS_CERT: pki.tls.certFile,
        WASMESH_GATEWAY_TLS_KEY: pki.tls.keyFile,
        WASMESH_GATEWAY_CLIENT_CA: pki.tls.clientCaFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let servingPid = 0;
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then((code) => reject(new Error(`gateway exited (${code}) before printing: ${stderr}`)));
    });
    const info = JSON.parse(line) as { address: string; lattice: string; pid: number };
    expect(info.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(info).toMatchObject({ lattice, transport: 'tls' });
    // The serving process is wasmesh-gateway, which `wasmesh gateway` runs as its child.
    expect(parentOf(info.pid)).toBe(child.pid);
    servingPid = info.pid;

    const clients = connectClients(info.address, await pki.client('reader'));
    const plaintext = connectClients(info.address, grpc.credentials.createInsecure());
    try {
      expect(await unary(clients.health, 'Check', { service: '' }, 5000)).toEqual({ status: 'SERVING' });
      expect(await unary(clients.lattice, 'ListLinks', {}, 5000)).toEqual({ links: [] });
      const denied = await unary(clients.lattice, 'PutConfig', { config: { name: 'c' } }, 5000).catch((e) => e);
      expect(denied).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      const refused = await unary(plaintext.health, 'Check', { service: '' }, 5000).catch((e) => e);
      expect(refused).toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      clients.close();
      plaintext.close();
    }
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  // The SIGTERM reached the gateway itself, which is gone with its wrapper.
  expect(parentOf(servingPid)).toBeUndefined();
}, 30_000);

/** The parent pid of process `pid` (from /proc), undefined once it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    // The fields after the command name, which is in parentheses: state, ppid, …
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** `--tls-cert`, `--tls-key` and `--client-ca` of the test CA. */
const tlsFlags = (): string[] => [
  '--tls-cert',
  pki.tls.certFile,
  '--tls-key',
  pki.tls.keyFile,
  '--client-ca',
  pki.tls.clientCaFile,
];

test('wasmesh gateway without TLS files or --insecure says what to pass (exit 2)', async () => {
  const r = await wasmesh(['gateway', '--listen', '127.0.0.1:0', ...(await natsFlags(nats, uniqueLattice('gw')))]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--tls-cert FILE --tls-key FILE --client-ca FILE');
  expect(r.stderr).toContain('--insecure');
  expect(r.stderr).toContain('wasmesh up --gateway');
  const partial = await wasmesh(['gateway', '--tls-cert', pki.tls.certFile]);
  expect(partial.code).toBe(2);
  expect(partial.stderr).toContain('--client-ca FILE');
});

test('wasmesh gateway --insecure refuses a non-loopback address (exit 2) with a warning', async () => {
  const r = await wasmesh([
    'gateway',
    '--insecure',
    '--listen',
    '0.0.0.0:0',
    ...(await natsFlags(nats, uniqueLattice('gw'))),
  ]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('WARNING: --insecure');
  expect(r.stderr).toContain('WASMESH_ERR_CONFIG');
  expect(r.stderr).toContain('loopback only');
  expect(r.stderr).toContain('"0.0.0.0:0"');
});

test('wasmesh gateway with an invalid --listen fails with a usage-class status naming it', async () => {
  const r = await wasmesh([
    'gateway',
    '--listen',
    'nonsense',
    ...tlsFlags(),
    ...(await natsFlags(nats, uniqueLattice('gw'))),
  ]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('WASMESH_ERR_CONFIG');
  expect(r.stderr).toContain('"nonsense"');
});

test('wasmesh gateway --help shows examples', async () => {
  const r = await wasmesh(['gateway', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('--listen <addr>');
  expect(r.stdout).toContain('--client-ca <file>');
  expect(r.stdout).toContain('Examples:');
  expect(r.stdout).toContain('grpcurl -cacert');
});

test('wasmesh creds gateway-cert issues a client certificate of a role from <home>/tls that the gateway honours', async () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-gw-home-'));
  try {
    const server = await ensureServerTls(path.join(home, 'tls'));
    const prefix = path.join(home, 'ops');
    const r = await wasmesh(['creds', 'gateway-cert', '--role', 'reader', '--home', home, '--out', prefix, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { cert: string; key: string; ca: string; role: string; name: string };
    expect(info).toMatchObject({
      cert: `${prefix}.pem`,
      key: `${prefix}-key.pem`,
      ca: server.caFile,
      role: 'reader',
      name: 'gateway-reader',
    });
    expect(statSync(info.key).mode & 0o777).toBe(0o600);

    const again = await wasmesh(['creds', 'gateway-cert', '--role', 'admin', '--home', home, '--out', prefix]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    const badRole = await wasmesh(['creds', 'gateway-cert', '--role', 'host', '--home', home, '--out', prefix]);
    expect(badRole.code).toBe(2);

    const lattice = uniqueLattice('gw');
    const { servers: natsUrl, creds: natsCreds, tlsCa: natsCa } = await nats.access(lattice);
    const gateway = new Gateway({
      listen: '127.0.0.1:0',
      tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: server.caFile },
      natsUrl,
      natsCreds,
      natsCa,
      lattice,
    });
    await gateway.start();
    const [ca, cert, key] = [info.ca, info.cert, info.key].map((f) => readFileSync(f));
    const c = connectClients(gateway.address, grpc.credentials.createSsl(ca!, key!, cert!));
    try {
      expect(await unary(c.lattice, 'ListLinks', {}, 5000)).toEqual({ links: [] });
      const denied = await unary(c.lattice, 'PutConfig', { config: { name: 'c' } }, 5000).catch((e) => e);
      expect(denied).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    } finally {
      c.close();
      await gateway.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}, 30_000);
