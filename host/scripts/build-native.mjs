#!/usr/bin/env node
// Builds the Rust runtime addon from source with cargo and places it at host/native/wasmesh_runtime.node.
// The cargo target dir defaults to ~/.cache/wasmesh/cargo-target (outside the clone) so clones and CI
// runs on one machine share compiled dependencies; CARGO_TARGET_DIR overrides it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const hostDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = path.join(hostDir, 'runtime', 'Cargo.toml');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'cargo-target');
const cargo = process.env.CARGO || 'cargo';

const probe = spawnSync(cargo, ['--version'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(
    'wasmesh: cargo was not found. The native runtime is built from source with Rust >= 1.95 ' +
      '(install it with rustup, or run scripts/setup.sh).',
  );
  process.exit(1);
}

const args = ['build', '--release', '--locked', '--manifest-path', manifest, '-p', 'wasmesh-runtime-napi'];
const res = spawnSync(cargo, args, {
  stdio: 'inherit',
  env: { ...process.env, CARGO_TARGET_DIR: targetDir },
});
if (res.status !== 0) process.exit(res.status ?? 1);

const built = path.join(targetDir, 'release', 'libwasmesh_runtime_napi.so');
const outDir = path.join(hostDir, 'native');
mkdirSync(outDir, { recursive: true });
// Copy then rename, so a process that has the old addon loaded keeps a valid file.
const tmp = path.join(outDir, `.wasmesh_runtime.${process.pid}.node`);
copyFileSync(built, tmp);
renameSync(tmp, path.join(outDir, 'wasmesh_runtime.node'));
