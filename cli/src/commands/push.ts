/**
 * `wasmesh push <file.wasm>`: stores a module in the lattice object store and prints its reference,
 * `sha256:<hex>`, which any host of the lattice can start (`wasmesh start actor sha256:… --id …`).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { readInputFile, WasmeshError } from '@wasmesh/lattice';
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

/** Registers `push` on `program`. */
export function registerPush(program: Command): void {
  examples(
    latticeOptions(
      program
        .command('push')
        .description('store a module in the lattice object store and print its reference (sha256:<hex>)')
        .argument('<file.wasm>', 'the module'),
    ),
    [
      'wasmesh push actors/build/echo.wasm',
      'REF=$(wasmesh push actors/build/echo.wasm) && wasmesh start actor "$REF" --id echo',
      'wasmesh push actors/build/echo.wasm --json',
    ],
    'Pushing the same bytes again is a no-op and prints the same reference; a stored copy that was deleted\n' +
      'or damaged is stored again, and the reference is printed only once the store holds the module.\n' +
      'With --json: {ok, ref, size}.\n' +
      'A file that is not WebAssembly is refused with WASMESH_ERR_INVALID_MODULE (exit status 3).',
  ).action(async (file: string, opts: LatticeOptions) => {
    const bytes = await readModule(file);
    const ref = await withLattice(opts, async (client) =>
      (await client.objects()).pushArtifact(bytes, path.basename(file)),
    );
    if (opts.json) printJson({ ok: true, ref, size: bytes.length });
    else process.stdout.write(`${ref}\n`);
  });
}
