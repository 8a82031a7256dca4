/**
 * Parsers for command-line values: each names the flag and what was expected, so a bad value is a
 * usage error that says exactly what to fix.
 */
import { DEFAULT_MAX_MODULE_BYTES, isWasmeshError, readRegularFile, UsageError } from '@wasmesh/lattice';

/**
 * Reads an input file as every module read goes: a regular file only (not /dev/zero, a FIFO or a
 * directory: `WASMESH_ERR_BAD_REQUEST`), at most 64 MiB (`WASMESH_ERR_TOO_LARGE`); other I/O
 * failures are usage errors that name the file.
 */
export async function readInputFile(file: string, what: string): Promise<Buffer> {
  try {
    return await readRegularFile(file, DEFAULT_MAX_MODULE_BYTES, what);
  } catch (err) {
    if (isWasmeshError(err, 'WASMESH_ERR_BAD_REQUEST', 'WASMESH_ERR_TOO_LARGE')) throw err;
    const reason = isWasmeshError(err) ? String(err.details.reason) : (err as Error).message;
    throw new UsageError(`cannot read ${what} "${file}": ${reason}`, { cause: err });
  }
}

/** The request payload from `--data` or `--data-file` (not both); empty when neither is given. */
export async function payloadFrom(opts: { data?: string; dataFile?: string }): Promise<Buffer> {
  if (opts.data !== undefined && opts.dataFile !== undefined) {
    throw new UsageError('give either --data or --data-file, not both');
  }
  if (opts.dataFile !== undefined) return readInputFile(opts.dataFile, 'data file');
  return Buffer.from(opts.data ?? '', 'utf8');
}

/** Renders bytes for JSON output: UTF-8 text when they decode cleanly, else base64. */
export function bytesJson(b: Uint8Array): { encoding: 'utf8' | 'base64'; data: string } {
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  if (!text.includes('\uFFFD') && Buffer.byteLength(text) === b.byteLength) return { encoding: 'utf8', data: text };
  return { encoding: 'base64', data: Buffer.from(b).toString('base64') };
}
