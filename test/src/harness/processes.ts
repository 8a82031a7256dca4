/** Finding the server binaries tests run, and checks on OS processes tests start indirectly. */
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The first executable among: env `envVar` (which must then be executable), `preferred` paths,
 * `name` on PATH, then `fallback` paths. Throws an Error ending in `installHint` when none is.
 */
export function findBinary(options: {
  name: string;
  envVar: string;
  preferred?: string[];
  fallback: string[];
  installHint: string;
}): string {
  const fromEnv = process.env[options.envVar];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`${options.envVar}=${fromEnv} is not an executable file; ${options.installHint}`);
  }
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, options.name));
  const candidates = [...(options.preferred ?? []), ...onPath, ...options.fallback];
  const found = candidates.find(isExecutable);
  if (!found) {
    const places = [...(options.preferred ?? []), 'PATH', ...options.fallback].join(', ');
    throw new Error(`${options.name} not found (looked in ${places}); ${options.installHint}`);
  }
  return found;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True once `pid` is gone (or a zombie nobody reaped yet). */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

/** Kills `pid` with SIGKILL if it still runs (cleanup after a failed test). */
export function killIfAlive(pid: number | undefined): void {
  if (!pid || isGone(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}
