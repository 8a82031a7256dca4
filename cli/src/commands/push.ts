/**
 * `wasmesh push <file.wasm> [oci://REGISTRY/REPO:TAG]`: stores a module in the lattice object store
 * and prints its reference, `sha256:<hex>`, which any host of the lattice can start (`wasmesh start
 * actor sha256:… --id …`); or, given an `oci://` target, pushes it to that registry as a Wasm OCI
 * artifact and prints `oci://REGISTRY/REPO@sha256:<manifest digest>`.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { isOciRef, pushWasmArtifact, readInputFile, UsageError, WasmeshError } from '@wasmesh/lattice';
import { examples, latticeOptions, printJson, withLattice, type LatticeOptions } from '../common.js';

/** The first bytes of every WebAssembly binary: `\0asm`. */
const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);

/**
 * Reads a module file: a regular file of at most 64 MiB (/dev/zero, a FIFO or a directory is
 * WASMESH_ERR_BAD_REQUEST, a larger file WASMESH_ERR_TOO_LARGE, at once); unreadable is a usage
 * error (2), not starting with `\0asm` is WASMESH_ERR_INVALID_MODULE (3).
 */
export async function readModule(file: string): Promise<Buffer> {
  const bytes = await readInputFile(file, 'module');
  if (bytes.length < WASM_MAGIC.length || !bytes.subarray(0, WASM_MAGIC.length).equals(WASM_MAGIC)) {
    throw new WasmeshError(
      'WASMESH_ERR_INVALID_MODULE',
      `"${file}" is not a WebAssembly module (it does not start with the \\0asm magic bytes)`,
      { details: { file } },
    );
  }
  return bytes;
}

/** Flags of `push` beyond the lattice ones. */
interface PushOptions extends LatticeOptions {
  username?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
}

/** The most bytes of a password read from stdin. */
const MAX_PASSWORD_BYTES = 64 * 1024;

/** Reads a password from stdin (`--password-stdin`, as `docker login` takes it), without the final newline. */
async function readPasswordStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > MAX_PASSWORD_BYTES)
      throw new UsageError(`--password-stdin: more than ${MAX_PASSWORD_BYTES} bytes`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (!password) throw new UsageError('--password-stdin: stdin was empty');
  return password;
}

/** Pushes `bytes` to the registry `target` names; returns the pinned reference and the digest. */
async function pushOci(bytes: Buffer, target: string, opts: PushOptions): Promise<{ ref: string; digest: string }> {
  if (opts.passwordStdin && opts.username === undefined) throw new UsageError('--password-stdin needs --username');
  if (opts.username !== undefined && !opts.passwordStdin) throw new UsageError('--username needs --password-stdin');
  const credentials =
    opts.username !== undefined ? { username: opts.username, password: await readPasswordStdin() } : undefined;
  const pushed = await pushWasmArtifact(bytes, target, {
    ...(credentials ? { credentials } : {}),
    insecure: opts.insecure === true,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  return { ref: pushed.pinned, digest: pushed.manifestDigest };
}

/** Registers `push` on `program`. */
export function registerPush(program: Command): void {
  examples(
    latticeOptions(
      program
        .command('push')
        .description(
          'store a module in the lattice object store and print its reference (sha256:<hex>), or push it to an OCI registry',
        )
        .argument('<file.wasm>', 'the module')
        .argument('[target]', 'oci://REGISTRY/REPO:TAG: push to that registry instead of the lattice')
        .option('--username <name>', 'registry user (with --password-stdin; default: the docker config file)')
        .option('--password-stdin', 'read the registry password or token from stdin')
        .option('--insecure', 'allow plain HTTP to a registry that is not on loopback'),
    ),
    [
      'wasmesh push actors/build/echo.wasm',
      'REF=$(wasmesh push actors/build/echo.wasm) && wasmesh start actor "$REF" --id echo',
      'wasmesh push actors/build/echo.wasm --json',
      'wasmesh push actors/build/echo.wasm oci://localhost:5000/wasmesh/echo:v1',
      'echo "$TOKEN" | wasmesh push echo.wasm oci://ghcr.io/me/echo:v1 --username me --password-stdin',
      'wasmesh push echo.wasm oci://registry.lan:5000/echo:v1 --insecure   # plain HTTP off loopback',
    ],
    'Pushing the same bytes again is a no-op and prints the same reference; a stored copy that was deleted\n' +
      'or damaged is stored again, and the reference is printed only once the store holds the module.\n' +
      'With --json: {ok, ref, size} (and digest, the manifest digest, for an oci:// target).\n' +
      'An oci:// target gets a Wasm OCI artifact (config application/vnd.wasm.config.v0+json, one layer\n' +
      'application/wasm) and prints oci://REGISTRY/REPO@sha256:<manifest digest>. Credentials come from\n' +
      'the docker config file (~/.docker/config.json, env DOCKER_CONFIG) unless --username is given;\n' +
      'plain HTTP is used for localhost/127.0.0.1/[::1] registries only, unless --insecure.\n' +
      'A file that is not WebAssembly is refused with WASMESH_ERR_INVALID_MODULE (exit status 3).',
  ).action(async (file: string, target: string | undefined, opts: PushOptions) => {
    const bytes = await readModule(file);
    if (target !== undefined) {
      if (!isOciRef(target)) throw new UsageError(`push target "${target}": expected oci://REGISTRY/REPO:TAG`);
      const pushed = await pushOci(bytes, target, opts);
      if (opts.json) printJson({ ok: true, ref: pushed.ref, digest: pushed.digest, size: bytes.length });
      else process.stdout.write(`${pushed.ref}\n`);
      return;
    }
    const ref = await withLattice(opts, async (client) =>
      (await client.objects()).pushArtifact(bytes, path.basename(file)),
    );
    if (opts.json) printJson({ ok: true, ref, size: bytes.length });
    else process.stdout.write(`${ref}\n`);
  });
}
