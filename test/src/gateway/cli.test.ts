/**
 * `wasmesh gateway` as a user runs it: prints its address once serving (JSON with --json), serves
 * health, and exits 0 on SIGTERM; an invalid --listen is a usage-class error (exit 2).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { uniqueLattice } from '../lattice/fixture.js';
import { NatsServer } from '../harness/nats-server.js';
import { natsFlags, wasmesh, wasmeshBin } from '../cli/run-cli.js';
import { connectClients, unary } from './grpc-client.js';

let nats: NatsServer;
beforeAll(async () => {
  nats = await NatsServer.start();
}, 30_000);
afterAll(async () => nats?.[Symbol.asyncDispose]());

test('wasmesh gateway --listen 127.0.0.1:0 --json prints its address, serves, and exits 0 on SIGTERM', async () => {
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
    { env: { ...process.env, NODE_OPTIONS: '', WASMESH_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then((code) => reject(new Error(`gateway exited (${code}) before printing: ${stderr}`)));
    });
    const info = JSON.parse(line) as { address: string; lattice: string; pid: number };
    expect(info.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(info).toMatchObject({ lattice, pid: child.pid });

    const clients = connectClients(info.address);
    try {
      expect(await unary(clients.health, 'Check', { service: '' }, 5000)).toEqual({ status: 'SERVING' });
    } finally {
      clients.close();
    }
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}, 30_000);

test('wasmesh gateway with an invalid --listen fails with a usage-class status naming it', async () => {
  const r = await wasmesh(['gateway', '--listen', 'nonsense', ...(await natsFlags(nats, uniqueLattice('gw')))]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('WASMESH_ERR_CONFIG');
  expect(r.stderr).toContain('"nonsense"');
});

test('wasmesh gateway --help shows examples', async () => {
  const r = await wasmesh(['gateway', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('--listen <addr>');
  expect(r.stdout).toContain('Examples:');
});
