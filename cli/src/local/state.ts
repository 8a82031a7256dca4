/**
 * The state of a local lattice that `wasmesh up` records in `<home>/up.json` while it runs: what
 * `down`, `--detach`, and commands looking for the local lattice's credentials read.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What `up.json` records of one supervised part of `up` (nats, host, reconciler, gateway). */
export interface PartState {
  /** `restarting`: it ended on its own and is being started again (with backoff). */
  status: 'running' | 'restarting';
  /** How often it was restarted since `up` started. */
  restarts: number;
  /** Why it last ended, when it did. */
  lastExit?: string;
  /** Its process while it runs (each part is a child process of `up`). */
  pid?: number;
}

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
  /** The Prometheus endpoint of each service, by name (`up --metrics`; absent without). */
  metrics?: Record<string, string>;
  /** The supervised parts by name: whether each runs and how often it was restarted. */
  parts: Record<string, PartState>;
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

/**
 * The processes `up` started that still run although `up` itself is gone (it was killed with -9
 * and could not stop them): its nats-server, and a host not yet noticed its parent died. A pid is
 * counted only while it still runs the program recorded (read from /proc, so a reused pid is
 * never taken for one; where /proc is missing nothing is counted).
 */
export function leftoverChildren(state: UpState): number[] {
  if (alive(state.pid)) return [];
  const programs: [number, string][] = [
    [state.natsPid, 'nats-server'],
    [state.hostPid, 'wasmesh-host'],
  ];
  return programs.filter(([pid, program]) => alive(pid) && commandLine(pid).includes(program)).map(([pid]) => pid);
}

/** The command line of process `pid` ('' when unknown). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Whether process `pid` runs (a zombie, dead but not yet reaped by its parent, does not). */
export function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return true; // no /proc: what kill() said
  }
}
