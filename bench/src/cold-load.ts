/**
 * Child process of the runtime bench's cold-load measurement. Usage:
 *   node cold-load.js <cacheDir> <echo.wasm>
 * Creates an `ActorRuntime` on `cacheDir` (which already holds echo's precompiled artifact), then
 * times from just before `runtime.load` to the resolution of the first `Echo` invocation. Prints
 * one JSON line `{"ms": number, "source": string, "createMs": number}` on stdout (`createMs`:
 * `ActorRuntime.create`, including loading the addon, not part of `ms`); exits 1 if the actor did not come
 * from the disk cache or the echo was wrong.
 */
import { readFileSync } from 'node:fs';
import { ActorRuntime } from '@wasmesh/host';

async function main(): Promise<void> {
  const [cacheDir, wasmPath] = process.argv.slice(2);
  if (!cacheDir || !wasmPath) {
    process.stderr.write('usage: cold-load.js <cacheDir> <echo.wasm>\n');
    process.exit(2);
  }
  const bytes = readFileSync(wasmPath);
  const payload = Buffer.from('cold-load');
  const c0 = process.hrtime.bigint();
  const runtime = ActorRuntime.create({ cacheDir });
  const createMs = Number(process.hrtime.bigint() - c0) / 1e6;
  try {
    const t0 = process.hrtime.bigint();
    const actor = await runtime.load(bytes, { name: 'echo' });
    const out = await actor.invoke('Echo', payload);
    const t1 = process.hrtime.bigint();
    const ms = Number(t1 - t0) / 1e6;
    if (!out.equals(payload)) throw new Error(`echo returned ${JSON.stringify(out.toString())}`);
    process.stdout.write(JSON.stringify({ ms, source: actor.source, createMs }) + '\n');
    if (actor.source !== 'disk') {
      process.stderr.write(`cold-load: expected the actor from the disk cache, got source=${actor.source}\n`);
      process.exitCode = 1;
    }
  } finally {
    runtime.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cold-load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
