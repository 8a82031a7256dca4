/**
 * `wasmesh run <file.wasm> <operation>`: loads an actor locally, invokes one operation, and writes
 * the response bytes to stdout. The module passes the same trust policy as on a host first
 * (lattice/src/claims/policy.ts): claims, when present, must be valid, and with trusted issuers
 * it must be signed by one of them.
 */
import path from 'node:path';
import { bytesJson, parseTrustedIssuers, payloadFrom, readInputFile } from '@wasmesh/lattice';
import { admitModule } from '../actors/admission.js';
import { ActorRuntime } from '../runtime/runtime.js';
import { terminalLogger } from './output.js';

/** Options of {@link runCommand} (the parsed flags). */
export interface RunOptions {
  data?: string;
  dataFile?: string;
  timeoutMs?: number;
  maxMemoryMb?: number;
  fuel?: number;
  cache: boolean;
  json: boolean;
  /** Account keys whose signatures are trusted (`--trusted-issuer`); else WASMESH_TRUSTED_ISSUERS. */
  trustedIssuer?: string[];
}

/** Runs `operation` of the actor in `file` once; throws typed errors for the caller to report. */
export async function runCommand(file: string, operation: string, opts: RunOptions): Promise<void> {
  const trusted = parseTrustedIssuers(opts.trustedIssuer);
  const [wasm, payload] = await Promise.all([readInputFile(file, 'actor'), payloadFrom(opts)]);
  const maxMemoryMb = opts.maxMemoryMb ?? 64;
  const runtime = ActorRuntime.create({
    maxInstances: 4,
    maxMemoryMb,
    logger: terminalLogger(opts.json),
    ...(opts.cache ? {} : { cacheDir: null }),
  });
  try {
    await admitModule(runtime, path.basename(file), wasm, trusted);
    const started = process.hrtime.bigint();
    const actor = await runtime.load(wasm, {
      name: path.basename(file),
      maxMemoryMb,
      fuel: opts.fuel ?? null,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
    const response = await actor.invoke(operation, payload);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (opts.json) {
      const out = {
        ok: true,
        operation,
        actor: { hash: actor.hash, source: actor.source },
        durationMs: ms,
        response: bytesJson(response),
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
      process.stdout.write(response);
    }
  } finally {
    runtime.close();
  }
}
