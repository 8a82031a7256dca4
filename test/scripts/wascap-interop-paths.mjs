// Where the wascap interop program's sources and binary are (shared by its build script and the tests).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/wascap-interop/Cargo.toml. */
export const wascapInteropManifest = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'wascap-interop',
  'Cargo.toml',
);

/** The cargo target dir: CARGO_TARGET_DIR, else ~/.cache/wasmesh/cargo-target. */
export function wascapTargetDir() {
  return process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'cargo-target');
}

/** The built program. */
export function wascapInteropBin() {
  return path.join(wascapTargetDir(), 'release', 'wascap-interop');
}
