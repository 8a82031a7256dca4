/** Shared setup for runtime tests: a runtime with a private cache dir and a log capture. */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { ActorRuntime, type ActorRuntimeOptions } from '@wasmesh/host';
import type { Logger } from '@wasmesh/lattice';
import { actorPath, fixturePath } from '../fixtures.js';

/** Bytes of example actor `name` (actors/build). */
export function actorBytes(name: string): Buffer {
  return readFileSync(actorPath(name));
}

/** Bytes of test fixture `name` (test/build). */
export function fixtureBytes(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'wasmesh-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A runtime with its own empty disk cache; close it in afterAll. */
export function newRuntime(options: ActorRuntimeOptions = {}): ActorRuntime {
  return ActorRuntime.create({ cacheDir: tempDir('wasmesh-cache-'), maxInstances: 64, ...options });
}

/** A logger that records every line (parsed) in `lines`. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { logger, lines };
}

/** Resolves when `fn` stops throwing, or rejects after `timeoutMs`. */
export async function eventually(fn: () => void, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      fn();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
