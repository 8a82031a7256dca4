#!/usr/bin/env node
// Builds test/wascap-interop (a tiny program against wasmCloud's `wascap` crate from crates.io)
// for the interop tests. The cargo target dir is outside the clone: CARGO_TARGET_DIR, else
// ~/.cache/wasmesh/cargo-target (shared with the native runtime's build). Incremental: a warm run
// takes a second.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wascapInteropManifest, wascapTargetDir } from './wascap-interop-paths.mjs';

const res = spawnSync(
  process.env.CARGO || 'cargo',
  ['build', '--release', '--locked', '--quiet', '--manifest-path', wascapInteropManifest],
  { stdio: 'inherit', env: { ...process.env, CARGO_TARGET_DIR: wascapTargetDir() } },
);
if (res.status !== 0) {
  process.stderr.write('fixtures: the wascap interop program failed to build (see above)\n');
  process.exit(res.status ?? 1);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
process.stdout.write(`fixtures: built ${path.relative(root, path.dirname(wascapInteropManifest))}\n`);
