// Builds the example actors that are WebAssembly components into actors/build/<name>.wasm, skipping
// those whose sources are older than their .wasm:
// - written in TypeScript (componentize-ts.mjs): every actors/<name>/component/index.ts, with its
//   WIT world next to it (component/world.wit);
// - written in Rust (actors/<name>/Cargo.toml): built by cargo for Rust's wasm32-wasip2 target, a
//   toolchain that knows nothing of wasmesh (the proof that a component from elsewhere runs
//   unchanged). Cargo's output stays outside the clone, in $CARGO_TARGET_DIR (default
//   ~/.cache/wasmesh/cargo-target); scripts/setup.sh installs the target with rustup.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { componentizeTs } from './componentize-ts.mjs';
import { actorsDir, buildDir, componentActorNames, rustActorNames } from './paths.mjs';

/** The newest modification time of the files under `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds every Rust component actor that is out of date; returns false if one failed. */
function buildRustComponents() {
  let ok = true;
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'cargo-target');
  for (const name of rustActorNames()) {
    const src = path.join(actorsDir, name);
    const out = path.join(buildDir, `${name}.wasm`);
    const sources = Math.max(newestMtime(path.join(src, 'src')), statSync(path.join(src, 'Cargo.toml')).mtimeMs);
    if (existsSync(out) && statSync(out).mtimeMs > sources) continue;
    try {
      const started = Date.now();
      execFileSync(
        'cargo',
        [
          'build',
          '--release',
          '--locked',
          '--target',
          'wasm32-wasip2',
          '--manifest-path',
          path.join(src, 'Cargo.toml'),
        ],
        { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CARGO_TARGET_DIR: targetDir } },
      );
      const crate = name.replaceAll('-', '_');
      copyFileSync(path.join(targetDir, 'wasm32-wasip2', 'release', `${crate}.wasm`), out);
      process.stdout.write(
        `actors: built ${path.relative(process.cwd(), out)} (component, Rust wasm32-wasip2, ` +
          `${(statSync(out).size / 1e3).toFixed(0)} kB, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
      );
    } catch (err) {
      ok = false;
      process.stderr.write(
        `actors: ${name} failed to build with cargo for wasm32-wasip2 (is the target installed? ` +
          `rustup target add wasm32-wasip2):\n${err?.message ?? err}\n`,
      );
    }
  }
  return ok;
}

/** Builds every component actor that is out of date; returns false if one failed. */
export async function buildComponents() {
  let ok = buildRustComponents();
  for (const name of componentActorNames()) {
    const src = path.join(actorsDir, name, 'component');
    const out = path.join(buildDir, `${name}.wasm`);
    if (existsSync(out) && statSync(out).mtimeMs > newestMtime(src)) continue;
    try {
      const started = Date.now();
      const { bytes, wasi } = await componentizeTs({
        source: path.join(src, 'index.ts'),
        world: path.join(src, 'world.wit'),
        out,
        workDir: path.join(buildDir, 'components'),
      });
      process.stdout.write(
        `actors: built ${path.relative(process.cwd(), out)} (component, ${(bytes / 1e6).toFixed(1)} MB, ` +
          `${((Date.now() - started) / 1000).toFixed(0)} s; WASI ${wasi.shipped} WIT from jco as ${wasi.engine})\n`,
      );
    } catch (err) {
      ok = false;
      process.stderr.write(`actors: ${name} failed to build as a component:\n${err?.stack ?? err}\n`);
    }
  }
  return ok;
}
