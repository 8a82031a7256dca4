/**
 * Commands that execute wasm (`run`, `inspect`) live in the host's own executable, `wasmesh-host`:
 * the CLI depends on the lattice only and never loads the native runtime. This module finds that
 * executable and hands the command line over to it.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ExitCode, PARENT_PID_ENV, WasmeshError } from '@wasmesh/lattice';

/** Commands forwarded verbatim to `wasmesh-host`. */
export const HOST_COMMANDS: readonly string[] = Object.freeze(['run', 'inspect', 'host']);

/** Path of the `wasmesh-host` script: `WASMESH_HOST_BIN`, else the installed `@wasmesh/host` package. */
export function hostBinPath(): string {
  if (process.env.WASMESH_HOST_BIN) return process.env.WASMESH_HOST_BIN;
  try {
    const pkg = createRequire(import.meta.url).resolve('@wasmesh/host/package.json');
    return path.join(path.dirname(pkg), 'dist', 'bin', 'wasmesh-host.js');
  } catch (err) {
    throw new WasmeshError(
      'WASMESH_ERR_HOST_MISSING',
      'this command runs wasm locally and needs the @wasmesh/host package, which is not installed (or set WASMESH_HOST_BIN)',
      { cause: err },
    );
  }
}

/**
 * The environment of a `wasmesh-host` child of this process: this one's, plus {@link PARENT_PID_ENV}
 * set to this pid, so the child stops once this process is gone, killed with -9 included, and none
 * is ever orphaned (see exit-with-parent.ts in @wasmesh/host).
 */
export function hostChildEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, [PARENT_PID_ENV]: String(process.pid) };
}

/**
 * Runs `wasmesh-host <args>` with this process's stdio and resolves with its exit status. SIGINT
 * and SIGTERM are passed on; if this process dies otherwise, the child notices and stops itself.
 */
export function forwardToHost(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [hostBinPath(), ...args], { stdio: 'inherit', env: hostChildEnv() });
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
