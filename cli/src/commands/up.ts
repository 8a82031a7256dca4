/**
 * `wasmesh up` and `wasmesh down`: a working local lattice in one command. `up` starts a
 * nats-server with JetStream and a host (see local/environment.ts), prints where things are and
 * stays in the foreground until Ctrl-C, which stops everything; `--detach` runs the same in the
 * background (its output goes to `<home>/up.log`) and returns once it is ready; `down` stops it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEFAULT_LATTICE, intFlag, keyValueFlag, WasmeshError } from '@wasmesh/lattice';
import { examples, note, printJson } from '../common.js';
import { alive, LocalEnvironment, readUpState, resolveHome, stateFile, type UpState } from '../local/environment.js';

interface UpOptions {
  port: number;
  lattice: string;
  home?: string;
  natsServerBin?: string;
  label?: Record<string, string>;
  detach?: boolean;
  json?: boolean;
}

interface DownOptions {
  home?: string;
  json?: boolean;
}

/** Set in the background process `--detach` starts. */
const DETACHED_ENV = 'WASMESH_UP_DETACHED';
/** How long `--detach` and `down` wait. */
const WAIT_MS = 60_000;

/** What `up` prints once everything runs. */
function describeUp(s: UpState): string {
  return [
    'wasmesh is up',
    `  NATS      ${s.natsUrl} (JetStream data in ${path.join(s.home, 'jetstream')})`,
    `  host      ${s.hostName} (${s.hostId})`,
    `  lattice   ${s.lattice}`,
    `  logs      ${path.join(s.home, 'nats.log')}, ${path.join(s.home, 'host.log')}`,
    '',
    'Try it (in another shell):',
    `  export WASMESH_NATS_URL=${s.natsUrl} WASMESH_LATTICE=${s.lattice}`,
    '  wasmesh start actor actors/build/hello.wasm',
    '  wasmesh call hello SayHello --data you',
  ].join('\n');
}

async function waitFor(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new WasmeshError('WASMESH_ERR_TIMEOUT', `${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `wasmesh up` (same flags, no --detach) in the background and waits until it is ready. */
async function detach(home: string, argv: string[]): Promise<UpState> {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'wasmesh.js');
  const log = openSync(path.join(home, 'up.log'), 'a');
  const args = argv.filter((a) => a !== '--detach' && a !== '--json');
  const child = spawn(process.execPath, [entry, ...args], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, [DETACHED_ENV]: '1' },
  });
  child.unref();
  let state: UpState | undefined;
  await waitFor('the background wasmesh up did not get ready', () => {
    state = readUpState(home);
    return (state !== undefined && state.pid === child.pid && state.status !== 'starting') || child.exitCode !== null;
  });
  if (!state || state.pid !== child.pid || state.status !== 'ready') {
    throw new WasmeshError(
      'WASMESH_ERR_UNAVAILABLE',
      `the background wasmesh up failed: ${state?.error ?? `it exited; see ${path.join(home, 'up.log')}`}`,
    );
  }
  return state;
}

function registerUp(program: Command): void {
  const cmd = program
    .command('up')
    .description('start a local lattice: nats-server with JetStream and a host (Ctrl-C stops it)')
    .option('--port <n>', 'NATS client port', intFlag('--port', 1, 65535), 4222)
    .option('--lattice <name>', 'lattice name', DEFAULT_LATTICE)
    .option('--home <dir>', 'where data, logs and state go (default $WASMESH_HOME or ~/.wasmesh)')
    .option('--nats-server-bin <path>', 'the nats-server executable (default: from PATH)')
    .option('--label <key=value>', 'a label for the host (repeatable)', keyValueFlag('--label'))
    .option('--detach', 'run in the background; stop it with `wasmesh down`')
    .option('--json', 'print what runs as JSON');
  examples(
    cmd,
    ['wasmesh up', 'wasmesh up --detach && wasmesh get hosts', 'wasmesh up --port 4333 --home /tmp/wm --label zone=a'],
    'Needs nats-server (on PATH, in ~/.cache/wasmesh/bin, or --nats-server-bin).',
  ).action(async (opts: UpOptions) => {
    const home = resolveHome(opts.home);
    mkdirSync(home, { recursive: true });
    if (opts.detach) {
      const state = await detach(home, process.argv.slice(2));
      if (opts.json) printJson(state);
      else process.stdout.write(`${describeUp(state)}\n\nIt runs in the background: stop it with \`wasmesh down\`.\n`);
      return;
    }
    const env = await LocalEnvironment.start({
      home,
      port: opts.port,
      lattice: opts.lattice,
      ...(opts.natsServerBin ? { natsServerBin: opts.natsServerBin } : {}),
      ...(opts.label ? { labels: opts.label } : {}),
    });
    if (opts.json) printJson(env.state);
    else if (!process.env[DETACHED_ENV]) process.stdout.write(`${describeUp(env.state)}\n\nCtrl-C stops everything.\n`);
    const reason = await new Promise<string | undefined>((resolve) => {
      process.once('SIGINT', () => resolve(undefined));
      process.once('SIGTERM', () => resolve(undefined));
      void env.childExited.then(resolve);
    });
    if (reason) note(`wasmesh: ${reason}; stopping`);
    else if (!opts.json) note('stopping…');
    await env.stop();
    if (reason) process.exitCode = 1;
  });
}

function registerDown(program: Command): void {
  const cmd = program
    .command('down')
    .description('stop the local lattice `wasmesh up --detach` started')
    .option('--home <dir>', 'the home `wasmesh up` used (default $WASMESH_HOME or ~/.wasmesh)')
    .option('--json', 'print {"stopped": bool, "pid"} as JSON');
  examples(cmd, ['wasmesh down']).action(async (opts: DownOptions) => {
    const home = resolveHome(opts.home);
    const state = readUpState(home);
    if (!state || !alive(state.pid)) {
      if (opts.json) printJson({ stopped: false });
      else note(`wasmesh is not up (no running ${stateFile(home)})`);
      return;
    }
    process.kill(state.pid, 'SIGTERM');
    await waitFor(`wasmesh up (pid ${state.pid}) did not stop`, () => !alive(state.pid));
    if (opts.json) printJson({ stopped: true, pid: state.pid });
    else note(`stopped wasmesh up (pid ${state.pid})`);
  });
}

/** Registers `up` and `down` on `program`. */
export function registerUpCommands(program: Command): void {
  registerUp(program);
  registerDown(program);
}
