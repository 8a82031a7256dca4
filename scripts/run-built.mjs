// What the committed bin shims (cli/bin, host/bin, providers/*/bin) run. npm links a workspace's
// bins during `npm install`, before the build (the root `prepare` script) has made any dist/, and
// links nothing for a bin whose file does not exist: so `bin` fields name these committed shims, which
// import the built entry module only when they run. When that module is missing, the shim says how
// to build it instead of printing Node's module-not-found stack.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Imports `entry` (relative to the shim at `shimUrl`, e.g. `../dist/wasmesh.js`), which runs the
 * command; exits with status 1 (INTERNAL: the environment is incomplete) naming the missing file
 * and the build command when the build has not made it yet.
 */
export async function runBuilt(shimUrl, entry) {
  const target = new URL(entry, shimUrl);
  const file = fileURLToPath(target);
  if (!existsSync(file)) {
    const name = path.basename(fileURLToPath(shimUrl), '.js');
    process.stderr.write(
      `${name}: ${path.relative(root, file)} does not exist: wasmesh is not built yet; ` +
        `run \`npm install\` (or \`npm run build\`) in ${root}\n`,
    );
    process.exit(1);
  }
  await import(target.href);
}
