/**
 * Child process of the runtime bench's cold-load measurement. Usage:
 *   node cold-load.js <cacheDir> <actor.wasm> [echo|http]
 * Creates an `ActorRuntime` on `cacheDir` (which already holds the actor's precompiled artifact),
 * then times from just before `runtime.load` to the resolution of the first invocation: `Echo` of
 * a waPC echo (`echo`, the default), or `HttpServer.HandleRequest` of `GET /hello/cold` to a hello
 * actor (`http`: the TypeScript component). Prints one JSON line
 * `{"ms": number, "source": string, "createMs": number}` on stdout (`createMs`:
 * `ActorRuntime.create`, including loading the addon, not part of `ms`); exits 1 if the actor did
 * not come from the disk cache or its answer was wrong.
 */
import { readFileSync } from 'node:fs';
import { ActorRuntime } from '@wasmesh/host';
import { contracts, Operation } from '@wasmesh/proto';

/** The first call of each kind of actor, and a check of its answer. */
const FIRST_CALL = {
  echo: {
    operation: 'Echo',
    payload: Buffer.from('cold-load'),
    wrong: (out: Buffer): string | null => (out.toString() === 'cold-load' ? null : `echo returned ${out.toString()}`),
  },
  http: {
    operation: Operation.HttpServer.HandleRequest,
    payload: Buffer.from(
      contracts.HttpRequest.encode({
        method: 'GET',
        path: '/hello/cold',
        headers: [{ name: 'host', value: 'bench' }],
      }).finish(),
    ),
    wrong: (out: Buffer): string | null => {
      const r = contracts.HttpResponse.decode(out);
      const body = Buffer.from(r.body).toString();
      return r.status === 200 && body === 'Hello, cold!\n'
        ? null
        : `hello answered ${r.status} ${JSON.stringify(body)}`;
    },
  },
} as const;

async function main(): Promise<void> {
  const [cacheDir, wasmPath, kind = 'echo'] = process.argv.slice(2);
  if (!cacheDir || !wasmPath || (kind !== 'echo' && kind !== 'http')) {
    process.stderr.write('usage: cold-load.js <cacheDir> <actor.wasm> [echo|http]\n');
    process.exit(2);
  }
  const bytes = readFileSync(wasmPath);
  const first = FIRST_CALL[kind];
  const c0 = process.hrtime.bigint();
  const runtime = ActorRuntime.create({ cacheDir });
  const createMs = Number(process.hrtime.bigint() - c0) / 1e6;
  try {
    const t0 = process.hrtime.bigint();
    const actor = await runtime.load(bytes, { name: kind });
    const out = await actor.invoke(first.operation, first.payload);
    const t1 = process.hrtime.bigint();
    const ms = Number(t1 - t0) / 1e6;
    const wrong = first.wrong(out);
    if (wrong) throw new Error(wrong);
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
