/** Runs the real `wasmesh` executable in a child process, as a user's shell would. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Role } from '@wasmesh/lattice';
import type { NatsServer } from '../harness/nats-server.js';

/** Path of the built `wasmesh` entry script. */
export const wasmeshBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@wasmesh/cli/package.json')),
  'dist',
  'wasmesh.js',
);

/** What a command printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `wasmesh ...args` (with `stdin` on its standard input, if given) and collects its output. */
export function wasmesh(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wasmeshBin, ...args], {
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `--nats`, `--creds` and `--tls-ca` of a `role` (default admin) in `lattice` on `nats`: what a user passes. */
export async function natsFlags(nats: NatsServer, lattice: string, role: Role = 'admin'): Promise<string[]> {
  const { servers, creds, tlsCa } = await nats.access(lattice, role);
  return ['--nats', servers, ...(creds ? ['--creds', creds] : []), ...(tlsCa ? ['--tls-ca', tlsCa] : [])];
}

/** The same as {@link natsFlags} in the environment (`WASMESH_NATS_URL`, `_CREDS`, `_CA`, `WASMESH_LATTICE`). */
export async function natsEnv(
  nats: NatsServer,
  lattice: string,
  role: Role = 'admin',
): Promise<Record<string, string>> {
  const { servers, creds, tlsCa } = await nats.access(lattice, role);
  return {
    WASMESH_NATS_URL: servers,
    WASMESH_LATTICE: lattice,
    ...(creds ? { WASMESH_NATS_CREDS: creds } : {}),
    ...(tlsCa ? { WASMESH_NATS_CA: tlsCa } : {}),
  };
}

/** What the `up` tests read of `<home>/up.json`. */
export interface UpTestState {
  pid: number;
  natsPid: number;
  hostPid: number;
  natsUrl: string;
  hostId: string;
  status: string;
  secure: boolean;
  creds: string;
  tlsCa: string;
  envFile: string;
  gateway: string;
  gatewayClient?: { ca: string; cert: string; key: string };
  parts: Record<string, { status: string; restarts: number; lastExit?: string; pid?: number }>;
}

/** The flags that reach the lattice `up` runs (`state`), with its admin credentials or `creds`. */
export function upAccess(state: Pick<UpTestState, 'natsUrl' | 'creds' | 'tlsCa'>, creds = state.creds): string[] {
  return ['--nats', state.natsUrl, '--creds', creds, '--tls-ca', state.tlsCa];
}
