/**
 * The file jail: the one place where a service (a host, the gateway) opens a file that a request
 * names (an actor module given as a path or `file://` URL, a provider's entry module). A request
 * comes from anyone who can reach the service, so a file is read only when
 *
 * - it lies inside one of the directories the service was started with (`--allow-dir`), judged on
 *   its real path (symbolic links and `..` resolved), so no link or `..` leads out;
 * - it is a regular file (no directory, FIFO, device or socket: `/dev/zero` is never read), of at
 *   most the size cap, and the read itself stops at the cap should the file grow meanwhile.
 *
 * A service without allowed directories reads no file at all: remote users deliver modules through
 * the object store (`sha256:`). Refusals are typed and name the path and the reason, never the
 * file's contents, and a path outside the allowed directories is refused the same way whether or
 * not it exists, so a refusal tells a caller nothing about the service's disk.
 *
 * The allowed directories are trusted: whoever may write in them decides what the service runs.
 * {@link readRegularFile} is the bounded reader underneath, also used for local files (`wasmesh run`).
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { lstat, open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { WasmeshError } from './errors.js';

/** Default cap of a module file read through the jail (64 MiB). */
export const DEFAULT_MAX_MODULE_BYTES = 64 * 1024 * 1024;

/** Cap of the small files a process is configured with: credentials, PEM certificates and keys, seeds (1 MiB). */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Longest path a request may name (Linux's PATH_MAX), so a huge string is refused before any I/O. */
const MAX_PATH_CHARS = 4096;

/** Largest single read while loading a file. */
const READ_CHUNK_BYTES = 8 * 1024 * 1024;

/** Opens for reading without blocking on a FIFO (0 where unsupported). */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * The allowed directories named by `WASMESH_ALLOW_DIRS`: separated by the platform's path
 * delimiter (`:`, `;` on Windows), empty items dropped. Every service reads the variable this way.
 */
export function allowDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.WASMESH_ALLOW_DIRS ?? '').split(path.delimiter).filter((dir) => dir !== '');
}

/** One allowed directory: as configured (absolute) and its real path. */
interface AllowedDir {
  given: string;
  real: string;
}

/** Whether `p` is `dir` or lies below it (both absolute and normalized). */
function within(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** What kind of non-regular file `st` is, for messages. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? 'EIO';
}

function notRegular(st: Stats, shown: string, what: string): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_BAD_REQUEST',
    `refused the ${what} "${shown}": it is ${kindOf(st)}, not a regular file`,
    {
      details: { what, path: shown, reason: 'not-a-regular-file' },
    },
  );
}

function tooLarge(shown: string, what: string, maxBytes: number): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_TOO_LARGE',
    `refused the ${what} "${shown}": it is larger than the limit of ${maxBytes} bytes`,
    { details: { what, path: shown, reason: 'file-too-large', limit: maxBytes } },
  );
}

/** Any other I/O failure: its errno only, never what the file holds. */
function ioError(err: unknown, shown: string, what: string): WasmeshError {
  const code = errnoOf(err);
  const denied = code === 'EACCES' || code === 'EPERM' || code === 'ELOOP';
  return new WasmeshError(
    denied
      ? 'WASMESH_ERR_PERMISSION_DENIED'
      : code === 'ENOENT' || code === 'ENOTDIR'
        ? 'WASMESH_ERR_NOT_FOUND'
        : 'WASMESH_ERR_INTERNAL',
    `cannot read the ${what} "${shown}": ${code}`,
    { cause: err, details: { what, path: shown, reason: code } },
  );
}

/** Options of {@link readRegularFile}. */
export interface ReadRegularFileOptions {
  /** How errors name the file (the path as requested, when `file` is its real path). @default file */
  shown?: string;
  /** Refuse a final symbolic link (the jail opens real paths, where a link can only be a swap). */
  noFollow?: boolean;
  /** A last check on the open descriptor (the jail: is it still inside?). */
  checkOpened?: (fh: FileHandle) => Promise<void>;
}

/**
 * The bytes of the regular file at `file`, at most `maxBytes`: anything else (a directory, a FIFO,
 * a device such as /dev/zero) is refused before it is opened, the open never blocks (a FIFO swapped
 * in), type and size are checked again on the open descriptor, and the read stops one byte past the
 * cap should the file grow meanwhile. Errors (`BAD_REQUEST`, `TOO_LARGE`, `NOT_FOUND`, …) name the
 * file as `what` and `shown`, never its contents. Used for every module file a host or a local
 * command loads.
 */
export async function readRegularFile(
  file: string,
  maxBytes: number,
  what: string,
  options: ReadRegularFileOptions = {},
): Promise<Buffer> {
  const shown = options.shown ?? file;
  let st: Stats;
  try {
    st = await stat(file);
  } catch (err) {
    throw ioError(err, shown, what);
  }
  // Refused before opening: opening a device can have effects of its own.
  checkRegular(st, maxBytes, shown, what);
  let fh: FileHandle;
  try {
    fh = await open(file, OPEN_FLAGS | (options.noFollow ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch (err) {
    throw ioError(err, shown, what);
  }
  try {
    const opened = await fh.stat();
    checkRegular(opened, maxBytes, shown, what);
    await options.checkOpened?.(fh);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = nextChunk(opened.size, total, maxBytes);
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(shown, what, maxBytes);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * {@link readRegularFile} for the few reads that happen while a process configures itself
 * synchronously (a credentials file, a PEM): the same refusals, so `--creds /dev/zero` is an error
 * at once rather than a process that fills its memory.
 */
export function readRegularFileSync(file: string, maxBytes: number, what: string): Buffer {
  let fd: number;
  try {
    checkRegular(statSync(file), maxBytes, file, what);
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw err instanceof WasmeshError ? err : ioError(err, file, what);
  }
  try {
    const opened = fstatSync(fd);
    checkRegular(opened, maxBytes, file, what);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = nextChunk(opened.size, total, maxBytes);
      const bytesRead = readSync(fd, chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(file, what, maxBytes);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    throw err instanceof WasmeshError ? err : ioError(err, file, what);
  } finally {
    closeSync(fd);
  }
}

/**
 * A file a process is configured with (credentials, a PEM certificate or key), read by
 * {@link readRegularFileSync} within {@link MAX_CONFIG_FILE_BYTES}; any refusal is
 * `WASMESH_ERR_CONFIG`, since the fix is in the process's configuration.
 */
export function readConfigFile(file: string, what: string): Buffer {
  try {
    return readRegularFileSync(file, MAX_CONFIG_FILE_BYTES, what);
  } catch (err) {
    throw new WasmeshError('WASMESH_ERR_CONFIG', (err as Error).message, { cause: err, details: { file } });
  }
}

/** Refuses what is not a regular file, or is over the cap. */
function checkRegular(st: Stats, maxBytes: number, shown: string, what: string): void {
  if (!st.isFile()) throw notRegular(st, shown, what);
  if (st.size > maxBytes) throw tooLarge(shown, what, maxBytes);
}

/** The buffer for the next read: what the file should still hold, and one byte past the cap at most (enough to know it is too large). */
function nextChunk(size: number, total: number, maxBytes: number): Buffer {
  return Buffer.allocUnsafe(Math.min(Math.max(size + 1 - total, 64 * 1024), READ_CHUNK_BYTES, maxBytes + 1 - total));
}

/** The directories a service reads request-named files from, and the size cap of what it reads. */
export class FileJail {
  private constructor(
    /** Who reads, for messages: `host`, `gateway`. */
    readonly owner: string,
    readonly dirs: readonly AllowedDir[],
    /** Largest file {@link FileJail.readFile} reads, in bytes. */
    readonly maxFileBytes: number,
  ) {}

  /**
   * The jail of `owner` (`host`, `gateway`) over `dirs` (relative ones are resolved against
   * `cwd`). Every directory must exist: a missing one is `WASMESH_ERR_CONFIG` at startup, not a
   * surprise at the first request.
   */
  static create(owner: string, dirs: readonly string[], maxFileBytes: number, cwd = process.cwd()): FileJail {
    const allowed: AllowedDir[] = [];
    for (const dir of dirs) {
      const given = path.resolve(cwd, dir);
      let real: string;
      try {
        real = realpathSync(given);
        if (!statSync(real).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      } catch (err) {
        throw new WasmeshError('WASMESH_ERR_CONFIG', `invalid --allow-dir "${dir}": ${errnoOf(err)}`, {
          cause: err,
          details: { dir },
        });
      }
      allowed.push({ given, real });
    }
    return new FileJail(owner, allowed, maxFileBytes);
  }

  /** The real paths of the allowed directories (for logs). */
  get realDirs(): string[] {
    return this.dirs.map((d) => d.real);
  }

  /**
   * The real path of the regular file at `file` (absolute, or relative to the cwd), when it
   * lies inside an allowed directory. `what` names the file in errors ("module of actor echo").
   * For files another program opens (a provider's entry, run by node).
   */
  async resolveFile(file: string, what: string): Promise<string> {
    const shown = this.#checkPath(file, what);
    const real = await this.#realInside(shown, what);
    let st: Stats;
    try {
      st = await stat(real);
    } catch (err) {
      throw ioError(err, shown, what);
    }
    if (!st.isFile()) throw notRegular(st, shown, what);
    return real;
  }

  /**
   * The bytes of the regular file at `file`, when {@link FileJail.resolveFile} allows it, read by
   * {@link readRegularFile} with the jail's cap: its real path is opened without following a link,
   * and (on Linux) the open descriptor must still point inside, so a file or directory swapped
   * after the checks is never what gets read.
   */
  async readFile(file: string, what: string): Promise<Uint8Array> {
    const shown = this.#checkPath(file, what);
    const real = await this.#realInside(shown, what);
    return readRegularFile(real, this.maxFileBytes, what, {
      shown,
      noFollow: true,
      checkOpened: (fh) => this.#checkOpenedInside(fh, shown, what),
    });
  }

  /** Checks the shape of a requested path; returns it as errors show it (absolute). */
  #checkPath(file: string, what: string): string {
    if (file.length > MAX_PATH_CHARS) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `the path of the ${what} is ${file.length} characters long, more than ${MAX_PATH_CHARS}`,
        { details: { what, reason: 'path-too-long' } },
      );
    }
    if (file === '' || file.includes('\0')) {
      throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `the path of the ${what} is empty or contains a NUL byte`, {
        details: { what, reason: 'invalid-path' },
      });
    }
    const shown = path.resolve(file);
    if (this.dirs.length === 0) {
      throw new WasmeshError(
        'WASMESH_ERR_PERMISSION_DENIED',
        `refused the ${what} "${shown}": this ${this.owner} reads no files (it was started without --allow-dir); push modules with \`wasmesh push\` and use their sha256: reference, and builtin: providers`,
        { details: { what, path: shown, reason: 'no-allowed-dirs' } },
      );
    }
    return shown;
  }

  /** Whether a real path lies inside an allowed directory. */
  #insideReal(real: string): boolean {
    return this.dirs.some((d) => within(d.real, real));
  }

  /**
   * The real path of `abs`, when both `abs` (lexically, so nothing outside is even looked at) and
   * its real path lie inside an allowed directory. A missing file inside is `NOT_FOUND`; a missing
   * one reached through a link out of the jail is refused like any other path outside.
   */
  async #realInside(abs: string, what: string): Promise<string> {
    if (!this.dirs.some((d) => within(d.given, abs) || within(d.real, abs))) throw this.#outside(abs, what);
    let real: string;
    try {
      real = await realpath(abs);
    } catch (err) {
      const code = errnoOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw ioError(err, abs, what);
      throw (await this.#missingLeadsOutside(abs)) ? this.#outside(abs, what) : this.#notFound(abs, what);
    }
    if (!this.#insideReal(real)) throw this.#outside(abs, what);
    return real;
  }

  /**
   * For a path that does not resolve: whether it leads out of the jail. Its deepest ancestor that
   * resolves decides, and a dangling link (an entry that exists but does not resolve) counts as
   * outside, so a refusal never says whether something outside exists.
   */
  async #missingLeadsOutside(abs: string): Promise<boolean> {
    let child = abs;
    for (let parent = path.dirname(abs); ; child = parent, parent = path.dirname(parent)) {
      let realParent: string | undefined;
      try {
        realParent = await realpath(parent);
      } catch {
        if (parent === path.dirname(parent)) return true;
        continue;
      }
      const danglingLink = await lstat(child).then(
        () => true,
        () => false,
      );
      return danglingLink || !this.#insideReal(realParent);
    }
  }

  /** On Linux, where the open descriptor really points (`/proc/self/fd`) must still be inside. */
  async #checkOpenedInside(fh: FileHandle, shown: string, what: string): Promise<void> {
    if (process.platform !== 'linux') return;
    let target: string;
    try {
      target = await readlink(`/proc/self/fd/${fh.fd}`);
    } catch {
      return; // no procfs: the checks on the real path stand
    }
    if (!this.#insideReal(target)) throw this.#outside(shown, what);
  }

  #outside(shown: string, what: string): WasmeshError {
    return new WasmeshError(
      'WASMESH_ERR_PERMISSION_DENIED',
      `refused the ${what} "${shown}": it is not inside a directory this ${this.owner} allows (--allow-dir)`,
      { details: { what, path: shown, reason: 'outside-allowed-dirs' } },
    );
  }

  #notFound(shown: string, what: string): WasmeshError {
    return new WasmeshError('WASMESH_ERR_NOT_FOUND', `no ${what} at "${shown}": there is no such file`, {
      details: { what, path: shown, reason: 'no-such-file' },
    });
  }
}
