/**
 * `wasmesh inspect <file.wasm>`: what a module imports and exports, whether it is a valid waPC
 * actor, its size and hash, and its embedded claims (none yet: signed claims come later).
 */
import { ActorRuntime } from '../runtime/runtime.js';
import { errorJson } from '@wasmesh/lattice';
import { readInputFile } from './args.js';

/** Prints the description of the module in `file`. A non-module is an error; a non-actor is not. */
export async function inspectCommand(file: string, opts: { json: boolean }): Promise<void> {
  const wasm = await readInputFile(file, 'module');
  const runtime = ActorRuntime.create({ maxInstances: 1, cacheDir: null });
  try {
    const info = await runtime.inspect(wasm);
    if (opts.json) {
      const problem = info.problem ? errorJson(info.problem).error : null;
      process.stdout.write(`${JSON.stringify({ file, ...info, problem, claims: null })}\n`);
      return;
    }
    const lines = [
      `file:       ${file}`,
      `size:       ${info.size} bytes`,
      `sha256:     ${info.hash}`,
      `waPC actor: ${info.validActor ? 'yes' : `no (${info.problem?.toLine() ?? 'unknown reason'})`}`,
      `claims:     none`,
      `imports (${info.imports.length}):`,
      ...info.imports.map((i) => `  ${i.module}.${i.name}  ${i.type}`),
      `exports (${info.exports.length}):`,
      ...info.exports.map((e) => `  ${e.name}  ${e.type}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    runtime.close();
  }
}
