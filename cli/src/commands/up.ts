/**
 * `wasmesh up` and `wasmesh down`: a working local lattice in one command. `up` starts a
 * nats-server with JetStream and a host (see local/environment.ts), prints where things are and
 * stays in the foreground until Ctrl-C, which stops everything (a part that dies meanwhile is
 * restarted); `--detach` runs the same in the
 * background (its output goes to `<home>/up.log`) and returns once it is ready; `down` stops it.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
  DEFAULT_LATTICE,
  devIssuerPublicKey,
  intFlag,
  keyValueFlag,
  LatticeClient,
  WasmeshError,
} from '@wasmesh/lattice';
import { appUrls, deployFile, readManifest } from './app.js';
import { examples, note, printJson } from '../common.js';
import { LocalEnvironment } from '../local/environment.js';
import { ensureHome } from '../local/home.js';
import { alive, leftoverChildren, readUpState, resolveHome, stateFile, type UpState } from '../local/state.js';

interface UpOptions {
  manifest?: string;
  insecure?: boolean;
  trustedIssuer?: string[];
  gateway?: string;
  port: number;
  lattice: string;
  home?: string;
  natsServerBin?: string;
  label?: Record<string, string>;
  detach?: boolean;
  metrics?: boolean;
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

/** grpcurl's flags to reach the gateway of `s`: its CA and the admin client certificate, or -plaintext. */
function grpcurlFlags(s: UpState): string {
  const c = s.gatewayClient;
  return c ? `-cacert ${c.ca} -cert ${c.cert} -key ${c.key}` : '-plaintext';
}

/** What `up` prints once everything runs. */
function describeUp(s: UpState): string {
  return [
    'wasmesh is up',
    `  NATS      ${s.natsUrl} (JetStream data in ${path.join(s.home, 'jetstream')})`,
    s.secure
      ? `  security  TLS (CA ${s.tlsCa}) and credentials; admin: ${s.creds}`
      : '  security  NONE (--insecure): anyone who reaches the port controls the lattice',
    `  host      ${s.hostName} (${s.hostId})`,
    `  lattice   ${s.lattice}`,
    ...(s.gateway
      ? [
          `  gRPC      ${s.gateway} (wasmesh.lattice.v1 Control, Lattice and Apps; health; reflection)`,
          s.gatewayClient
            ? `            TLS; admin client certificate ${s.gatewayClient.cert}, key ${s.gatewayClient.key}`
            : '            plaintext without credentials (--insecure): loopback only',
        ]
      : []),
    ...Object.entries(s.metrics ?? {}).map(
      ([name, url], i) => `${i === 0 ? '  metrics   ' : '            '}${name.padEnd(10)} ${url}`,
    ),
    `  logs      ${path.join(s.home, 'nats.log')}, ${path.join(s.home, 'host.log')}, ${path.join(s.home, 'reconciler.log')}`,
    '',
    'Try it (in another shell; wasmesh commands on this machine find the credentials by themselves):',
    `  source ${s.envFile}`,
    '  wasmesh start actor actors/build/hello.wasm',
    '  wasmesh call hello SayHello --data you',
    ...(s.gateway ? [`  grpcurl ${grpcurlFlags(s)} ${s.gateway} list`] : []),
  ].join('\n');
}

/** Deploys `file` into the environment; returns the URLs to try it. */
async function deployApp(state: UpState, file: string): Promise<string[]> {
  const client = await LatticeClient.connect({
    servers: state.natsUrl,
    ...(state.secure ? { creds: state.creds, tlsCa: state.tlsCa } : {}),
    lattice: state.lattice,
    name: 'wasmesh-up',
  });
  try {
    note(`deploying ${file}…`);
    const { manifest } = await deployFile(client, file, state.startedAtMs);
    return await appUrls(client, manifest);
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new WasmeshError('WASMESH_ERR_TIMEOUT', `${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The last `wasmesh: CODE: message` line of a log, without the prefix. */
function lastError(log: string): string | undefined {
  try {
    const lines = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('wasmesh: '));
    return lines.length ? lines[lines.length - 1]!.slice('wasmesh: '.length) : undefined;
  } catch {
    return undefined;
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
    const ready = state !== undefined && state.pid === child.pid && state.status !== 'starting' && !state.deploying;
    return ready || child.exitCode !== null;
  });
  if (!state || state.pid !== child.pid || state.status !== 'ready') {
    const why = state?.error ?? lastError(path.join(home, 'up.log')) ?? `it exited; see ${path.join(home, 'up.log')}`;
    throw new WasmeshError('WASMESH_ERR_UNAVAILABLE', `the background wasmesh up failed: ${why}`);
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
    .option('--manifest <file>', 'also deploy this app manifest once everything runs')
    .option(
      '--gateway <addr>',
      'also serve the gRPC control API at host:port (e.g. 127.0.0.1:50051), over TLS with an admin client certificate made under the home',
    )
    .option('--detach', 'run in the background; stop it with `wasmesh down`')
    .option(
      '--metrics',
      'each service (host, reconciler, gateway) and provider process serves Prometheus metrics on a free loopback port; the URLs are printed (and listed under "metrics" with --json)',
    )
    .option('--insecure', 'the open mode: NATS without TLS or credentials (for experiments only)')
    .option(
      '--trusted-issuer <key>',
      'an account key (A…) whose signed actors the host runs (repeatable; default: the development issuer the build signs the examples with)',
      (key: string, previous: string[] | undefined) => [...(previous ?? []), key],
    )
    .option('--json', 'print what runs as JSON');
  examples(
    cmd,
    [
      'wasmesh up',
      'wasmesh up --manifest deploy/apps/kvcounter-local.yaml',
      'wasmesh up --detach && wasmesh get hosts',
      'wasmesh up --gateway 127.0.0.1:50051   # gRPC over TLS; prints the admin client certificate for grpcurl',
      'wasmesh up --metrics --json | jq .metrics   # Prometheus endpoints of the host, reconciler (and gateway)',
      'wasmesh up --port 4333 --home /tmp/wm --label zone=a',
      'source ~/.wasmesh/env    # in another shell: WASMESH_NATS_URL, _CREDS, _CA and _LATTICE',
    ],
    'Needs nats-server (on PATH, in ~/.cache/wasmesh/bin, or --nats-server-bin).\n' +
      'NATS requires TLS and credentials (made once under the home: auth/, tls/, creds/); --insecure turns\n' +
      'that off. The host runs only actors signed by a trusted issuer (by default the development issuer).\n' +
      'A part that dies (nats-server, host, reconciler, gateway) is restarted with backoff, said on stderr and\n' +
      'counted in <home>/up.json (parts); only Ctrl-C, SIGTERM or `wasmesh down` stops the lattice.',
  ).action(async (opts: UpOptions) => {
    const home = resolveHome(opts.home);
    ensureHome(home);
    if (opts.insecure && !opts.json) {
      note(
        'wasmesh: WARNING: --insecure: NATS runs without TLS or credentials; anyone who reaches it controls the lattice',
      );
    }
    if (opts.manifest) await readManifest(opts.manifest); // a bad manifest stops us before anything starts
    if (opts.detach) {
      const state = await detach(home, process.argv.slice(2));
      if (opts.json) printJson(state);
      else {
        const tryUrls = state.urls.map((u) => `  curl ${u}`).join('\n');
        process.stdout.write(
          `${describeUp(state)}\n${tryUrls ? `\nApp ${opts.manifest} deployed; try:\n${tryUrls}\n` : ''}\nIt runs in the background: stop it with \`wasmesh down\`.\n`,
        );
      }
      return;
    }
    // Signals from now on stop everything, also while starting or deploying.
    let signalled = false;
    const stopRequested = new Promise<undefined>((resolve) => {
      const onSignal = (): void => {
        signalled = true;
        resolve(undefined);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      // Its terminal closing: nats-server would take that SIGHUP as "reload" and outlive `up`.
      process.once('SIGHUP', onSignal);
    });
    const env = await LocalEnvironment.start({
      home,
      port: opts.port,
      lattice: opts.lattice,
      ...(opts.natsServerBin ? { natsServerBin: opts.natsServerBin } : {}),
      ...(opts.label ? { labels: opts.label } : {}),
      ...(opts.gateway ? { gateway: opts.gateway } : {}),
      ...(opts.insecure ? { insecure: true } : {}),
      ...(opts.metrics ? { metrics: true } : {}),
      trustedIssuers: opts.trustedIssuer ?? [devIssuerPublicKey()].filter((k): k is string => k !== undefined),
      deploying: opts.manifest !== undefined,
    });
    let urls: string[] = [];
    if (opts.manifest && !signalled) {
      try {
        urls = (await Promise.race([deployApp(env.state, opts.manifest), stopRequested])) ?? [];
        env.appDeployed(urls);
      } catch (err) {
        await env.stop();
        throw err;
      }
    }
    if (signalled) {
      await env.stop();
      return;
    }
    if (opts.json) printJson({ ...env.state, urls });
    else if (!process.env[DETACHED_ENV]) {
      const tryUrls = urls.map((u) => `  curl ${u}`).join('\n');
      process.stdout.write(
        `${describeUp(env.state)}\n${opts.manifest ? `\nApp ${opts.manifest} deployed${tryUrls ? `; try:\n${tryUrls}` : ''}\n` : ''}\nCtrl-C stops everything.\n`,
      );
    }
    // Parts that end on their own are restarted (the environment says so); only a signal stops.
    await stopRequested;
    if (!opts.json) note('stopping…');
    await env.stop();
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
    // The supervisor, and its children should it have died without stopping them (kill -9).
    const leftovers = state ? leftoverChildren(state) : [];
    const running = state ? [state.pid, ...leftovers].filter(alive) : [];
    if (!state || running.length === 0) {
      if (state) rmSync(stateFile(home), { force: true });
      if (opts.json) printJson({ stopped: false });
      else note(`wasmesh is not up (no running ${stateFile(home)})`);
      return;
    }
    if (alive(state.pid)) {
      process.kill(state.pid, 'SIGTERM');
      await waitFor(`wasmesh up (pid ${state.pid}) did not stop`, () => !alive(state.pid));
    }
    for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGTERM');
    rmSync(stateFile(home), { force: true });
    if (opts.json) printJson({ stopped: true, pid: state.pid });
    else note(`stopped wasmesh up (pid ${state.pid})`);
  });
}

/** Registers `up` and `down` on `program`. */
export function registerUpCommands(program: Command): void {
  registerUp(program);
  registerDown(program);
}
