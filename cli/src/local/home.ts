/**
 * Making sure the home of `wasmesh up` (`--home`, env `WASMESH_HOME`, `~/.wasmesh`) can hold its
 * data, logs and state before anything starts: an unusable home is one usage error naming it and
 * why, at once. Node's `mkdirSync(dir, { recursive: true })` never returns for some paths (under
 * `/proc` it retries ENOENT forever), and an unwritable home only failed later, deep in a part.
 */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '@wasmesh/lattice';

/** How messages name the home's flag and variable. */
const HOME_SOURCE = '--home (env WASMESH_HOME)';

/** The error codes of Node's fs that say why, in words. */
const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'a part of the path is a file, not a directory',
  ENOENT: 'no such file or directory, and the file system does not let it be made',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
};

/** Why `err` happened, in words. */
function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ?? (err instanceof Error ? err.message : String(err));
}

/** The usage error for `home`. */
function unusable(home: string, why: string, cause?: unknown): UsageError {
  return new UsageError(`${HOME_SOURCE} "${home}" cannot be used: ${why}`, {
    cause,
    details: { home, ...(cause ? { errno: (cause as NodeJS.ErrnoException).code } : {}) },
  });
}

/** Creates `dir` and its missing parents, one level at a time (each level once: no endless retry). */
function makeDirectory(dir: string, home: string): void {
  try {
    mkdirSync(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw unusable(home, `cannot create ${dir}: ${reason(err)}`, err);
    makeDirectory(parent, home);
  }
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw unusable(home, `cannot create ${dir}: ${reason(err)}`, err);
    }
  }
}

/**
 * Makes `home` (an absolute path) a directory `up` can write to, creating it if needed; a
 * {@link UsageError} (exit status 2) saying what is wrong otherwise: not creatable, a file, not
 * writable.
 */
export function ensureHome(home: string): void {
  makeDirectory(home, home);
  try {
    if (!statSync(home).isDirectory()) throw unusable(home, 'it is a file, not a directory');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw unusable(home, reason(err), err);
  }
  // Permission bits do not tell (root, read-only mounts, ACLs): write a file and remove it.
  const probe = path.join(home, `.write-test-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    throw unusable(home, `cannot write in it: ${reason(err)}`, err);
  }
}
