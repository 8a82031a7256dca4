/**
 * The state of a local lattice that `wasmesh up` records in `<home>/up.json` while it runs: what
 * `down`, `--detach`, and commands looking for the local lattice's credentials read.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What `up.json` records. */
export interface UpState {
  status: 'starting' | 'ready' | 'failed';
  /** The supervisor (`wasmesh up`) process. */
  pid: number;
  natsUrl: string;
  /** Whether NATS requires TLS and credentials (false only with `up --insecure`). */
  secure: boolean;
  /** The admin credentials file and the CA of the server's certificate ('' when insecure). */
  creds: string;
  tlsCa: string;
  /** The file a shell can `source` to use this lattice. */
  envFile: string;
  natsPid: number;
  hostPid: number;
  hostId: string;
  hostName: string;
  lattice: string;
  home: string;
  startedAtMs: number;
  /** The gRPC gateway's address ('' when not served). */
  gateway: string;
  /** The CA and admin client certificate to call the gateway with (absent when not served or insecure). */
  gatewayClient?: { ca: string; cert: string; key: string };
  /** Whether the app given with `--manifest` is still being deployed. */
  deploying: boolean;
  /** Where to try the deployed app over HTTP. */
  urls: string[];
  /** Why it failed (status `failed`). */
  error?: string;
}

/** The home directory of the local environment. */
export function resolveHome(flag?: string): string {
  return path.resolve(flag || process.env.WASMESH_HOME || path.join(os.homedir(), '.wasmesh'));
}

/** The state file of `home`. */
export function stateFile(home: string): string {
  return path.join(home, 'up.json');
}

/** The recorded state, or undefined when nothing is up (or the file is unreadable). */
export function readUpState(home: string): UpState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(home), 'utf8')) as UpState;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` is alive. */
export function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
