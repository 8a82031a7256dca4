/**
 * The long-running services live in their own packages' executables, not in the CLI: the host
 * (`wasmesh-host`, which also runs `run` and `inspect`: wasm), the app reconciler
 * (`wasmesh-reconciler` of @wasmesh/apps) and the gRPC gateway (`wasmesh-gateway` of
 * @wasmesh/gateway) and the Kubernetes operator (`wasmesh-operator` of @wasmesh/operator). So the CLI stays a client: it depends on the lattice only and never loads the
 * native runtime, the reconciler or gRPC. This module finds those executables, hands a command line
 * over to them verbatim (`wasmesh reconciler …` runs `wasmesh-reconciler …`), and gives the
 * children that `wasmesh up` supervises their environment.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DEFAULT_NATS_URL, ExitCode, PARENT_PID_ENV, WasmeshError } from '@wasmesh/lattice';
import { localAccess } from './local/security.js';
import { resolveHome } from './local/state.js';

/** A service executable of another package. */
export interface ServiceBin {
  /** The package that ships it. */
  pkg: string;
  /** Its path inside the package, built. */
  entry: string;
  /** The environment variable that overrides where it is (a build elsewhere, tests). */
  env: string;
  /** The error code when it is not installed. */
  missingCode: string;
  /** Whether the `wasmesh` command's name is passed on (the host bin has subcommands); else only what follows. */
  keepsCommand: boolean;
  /** Whether it takes the common lattice flags, so the local lattice's credentials apply (as to every lattice command). */
  latticeFlags: boolean;
}

const HOST: ServiceBin = {
  pkg: '@wasmesh/host',
  entry: 'dist/bin/wasmesh-host.js',
  env: 'WASMESH_HOST_BIN',
  missingCode: 'WASMESH_ERR_HOST_MISSING',
  keepsCommand: true,
  latticeFlags: false,
};

/** The service bins by name. */
export const SERVICE_BINS = Object.freeze({
  host: HOST,
  reconciler: {
    pkg: '@wasmesh/apps',
    entry: 'dist/bin/wasmesh-reconciler.js',
    env: 'WASMESH_RECONCILER_BIN',
    missingCode: 'WASMESH_ERR_SERVICE_MISSING',
    keepsCommand: false,
    latticeFlags: true,
  },
  gateway: {
    pkg: '@wasmesh/gateway',
    entry: 'dist/bin/wasmesh-gateway.js',
    env: 'WASMESH_GATEWAY_BIN',
    missingCode: 'WASMESH_ERR_SERVICE_MISSING',
    keepsCommand: false,
    latticeFlags: true,
  },
  operator: {
    pkg: '@wasmesh/operator',
    entry: 'dist/bin/wasmesh-operator.js',
    env: 'WASMESH_OPERATOR_BIN',
    missingCode: 'WASMESH_ERR_SERVICE_MISSING',
    keepsCommand: false,
    latticeFlags: true,
  },
} satisfies Record<string, ServiceBin>);

/** A service bin's name. */
export type ServiceName = keyof typeof SERVICE_BINS;

/** `wasmesh` commands forwarded verbatim to a service bin, with what each does (for `wasmesh --help`). */
export const FORWARDED_COMMANDS: Readonly<Record<string, { bin: ServiceBin; description: string }>> = Object.freeze({
  run: { bin: HOST, description: 'load an actor locally and invoke one operation' },
  inspect: { bin: HOST, description: 'show imports, exports, hash and claims of a module' },
  host: { bin: HOST, description: 'run a lattice host in the foreground' },
  reconciler: {
    bin: SERVICE_BINS.reconciler,
    description: 'run an app reconciler in the foreground (several may run: one leads)',
  },
  gateway: {
    bin: SERVICE_BINS.gateway,
    description: 'serve the lattice control API over gRPC (with health and reflection)',
  },
  operator: {
    bin: SERVICE_BINS.operator,
    description: 'run the Kubernetes operator: Application and HostGroup objects reconciled to the lattice',
  },
});

/** Path of a service's script: its environment variable, else the installed package's. */
export function serviceBinPath(bin: ServiceBin): string {
  const explicit = process.env[bin.env];
  if (explicit) return explicit;
  try {
    const pkg = createRequire(import.meta.url).resolve(`${bin.pkg}/package.json`);
    return path.join(path.dirname(pkg), bin.entry);
  } catch (err) {
    throw new WasmeshError(
      bin.missingCode,
      `this command is run by ${path.basename(bin.entry, '.js')} of the ${bin.pkg} package, which is not installed (or set ${bin.env})`,
      { cause: err, details: { package: bin.pkg } },
    );
  }
}

/**
 * The environment of a service child of this process: this one's, plus {@link PARENT_PID_ENV} set
 * to this pid, so the child stops once this process is gone, killed with -9 included, and none is
 * ever orphaned (see exit-with-parent.ts in @wasmesh/lattice).
 */
export function serviceChildEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, [PARENT_PID_ENV]: String(process.pid) };
}

/**
 * The local lattice's credentials for a service given none, as every lattice command of the CLI
 * finds them (see localAccess): `WASMESH_NATS_CREDS` and `WASMESH_NATS_CA` when the service's
 * `--nats` (or `WASMESH_NATS_URL`) is the URL of the lattice `wasmesh up` runs. Flags still win.
 */
function localAccessEnv(args: string[]): Record<string, string> {
  if (process.env.WASMESH_NATS_CREDS && process.env.WASMESH_NATS_CA) return {};
  let nats = process.env.WASMESH_NATS_URL || DEFAULT_NATS_URL;
  args.forEach((a, i) => {
    if (a === '--nats' && args[i + 1] !== undefined) nats = args[i + 1]!;
    else if (a.startsWith('--nats=')) nats = a.slice('--nats='.length);
  });
  const local = localAccess(resolveHome(), nats);
  if (!local) return {};
  return {
    WASMESH_NATS_CREDS: process.env.WASMESH_NATS_CREDS || local.creds,
    WASMESH_NATS_CA: process.env.WASMESH_NATS_CA || local.tlsCa,
  };
}

/**
 * Runs the service bin of `wasmesh <command> <args>` with this process's stdio and resolves with
 * its exit status. SIGINT and SIGTERM are passed on; if this process dies otherwise, the child
 * notices and stops itself.
 */
export function forwardToService(command: string, args: string[]): Promise<number> {
  const { bin } = FORWARDED_COMMANDS[command]!;
  const argv = bin.keepsCommand ? [command, ...args] : args;
  const env = serviceChildEnv(bin.latticeFlags ? localAccessEnv(args) : {});
  const child = spawn(process.execPath, [serviceBinPath(bin), ...argv], { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  return new Promise((resolve) => {
    child.on('error', () => resolve(ExitCode.INTERNAL));
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : ExitCode.INTERNAL));
    });
  });
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[sig as string];
}
