/**
 * Bench entry point: `npm run bench -- <name> [flags]`. Prints exactly one JSON object on stdout;
 * progress goes to stderr.
 */
import { runBusBench } from './bus.js';
import { runHttpBench } from './http.js';
import { runReconcileBench } from './reconcile.js';
import { runRuntimeBench } from './runtime.js';

/** The benches by name; each returns the JSON-ready result. */
const BENCHES: Record<string, (args: readonly string[]) => Promise<Record<string, unknown>>> = {
  runtime: runRuntimeBench,
  bus: runBusBench,
  http: runHttpBench,
  reconcile: runReconcileBench,
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const bench = name === undefined ? undefined : BENCHES[name];
  if (!bench) {
    const available = Object.keys(BENCHES).join(', ');
    process.stderr.write(
      name === undefined
        ? `usage: npm run bench -- <name>; available benches: ${available}\n`
        : `unknown bench ${JSON.stringify(name)}; available benches: ${available}\n`,
    );
    process.exit(2);
  }
  const result = await bench(args);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
