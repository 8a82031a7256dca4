// Builds the example actors written in TypeScript as WebAssembly components (componentize-ts.mjs):
// every actors/<name>/component/index.ts, with its WIT world next to it (component/world.wit),
// becomes actors/build/<name>.wasm. Skips actors whose sources are older than their .wasm.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { componentizeTs } from './componentize-ts.mjs';
import { actorsDir, buildDir, componentActorNames } from './paths.mjs';

/** The newest modification time of the files under `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds every component actor that is out of date; returns false if one failed. */
export async function buildComponents() {
  let ok = true;
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
