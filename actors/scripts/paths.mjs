// Where the compiled actors are. `import { actorPath } from '@wasmesh/actors'` gives a .wasm path.
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The actors package directory. */
export const actorsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where `npm run build` writes the .wasm files. */
export const buildDir = path.join(actorsDir, 'build');

/** Names of the actors in this package (folders with assembly/index.ts, except the SDK). */
export function actorNames() {
  return readdirSync(actorsDir, { withFileTypes: true })
    .filter(
      (d) => d.isDirectory() && d.name !== 'sdk' && existsSync(path.join(actorsDir, d.name, 'assembly', 'index.ts')),
    )
    .map((d) => d.name)
    .sort();
}

/** Names of the actors written in TypeScript and built as components (folders with component/index.ts). */
export function componentActorNames() {
  return readdirSync(actorsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(actorsDir, d.name, 'component', 'index.ts')))
    .map((d) => d.name)
    .sort();
}

/** Names of the actors written in Rust and built as components by cargo (folders with Cargo.toml). */
export function rustActorNames() {
  return readdirSync(actorsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(actorsDir, d.name, 'Cargo.toml')))
    .map((d) => d.name)
    .sort();
}

/** Path of the compiled actor `name` (e.g. `echo`). */
export function actorPath(name) {
  return path.join(buildDir, `${name}.wasm`);
}
