/**
 * Runtime and actor options: documented defaults → environment (`WASMESH_*`) → validation →
 * frozen native DTOs. Explicit options win over the environment.
 */
import os from 'node:os';
import path from 'node:path';
import { WasmeshError } from '@wasmesh/lattice';
import type { NativeActorOptions, NativeRuntimeOptions } from './native.js';

const MiB = 1024 * 1024;

/** Sizing of the process's wasm runtime. */
export interface RuntimeOptions {
  /** Live instances at once across all actors (pool slots). @default 256 (env WASMESH_MAX_INSTANCES) */
  maxInstances?: number;
  /** Largest linear memory any actor may have, MiB; also each pool slot's reservation. @default 64 (env WASMESH_MAX_MEMORY_MB) */
  maxMemoryMb?: number;
  /** Wasm stack per invocation, KiB, before a stack-overflow trap. @default 512 */
  maxWasmStackKb?: number;
  /** Deadline granularity (epoch tick), microseconds. @default 1000 */
  epochTickUs?: number;
  /**
   * How long the JS thread spins for the outcome of a lone invocation (one outstanding) before
   * returning to the event loop, and how long (at most 50 µs) the worker that ran the last
   * invocation in flight keeps looking for the next one before parking, in µs; 0 disables both.
   * It trades a little CPU at low load for two thread wake-ups per call. @default 200 (env
   * WASMESH_SPIN_WAIT_US)
   */
  spinWaitUs?: number;
  /**
   * Directory for precompiled artifacts, so restarts skip compilation; `null` disables the disk cache.
   * Must be writable by this user only. @default ~/.cache/wasmesh/compiled (env WASMESH_CACHE_DIR)
   */
  cacheDir?: string | null;
}

/** Limits of one actor. */
export interface ActorOptions {
  /** Linear memory cap, MiB. @default the runtime's maxMemoryMb */
  maxMemoryMb?: number;
  /** Default deadline of one invocation, ms. @default 10000 */
  timeoutMs?: number;
  /** Fuel per invocation (deterministic metering, slower); unset = no metering. */
  fuel?: number | null;
  /** Invocations running at once; more wait within their deadline. @default 64 */
  maxConcurrent?: number;
  /** Largest response the guest may return, bytes. @default 16 MiB */
  maxResponseBytes?: number;
  /**
   * The guest's log budget per invocation, in bytes: `__console_log` and WASI stdout/stderr
   * together; past it lines are dropped, counted, and reported in one line. @default 64 KiB
   */
  maxLogBytes?: number;
  /**
   * The actor's guest log rate across all its invocations, bytes per second (bursts of one second,
   * and at least one call's budget): an actor called thousands of times a second, each call within
   * its budget, must not flood the host log either. Past it lines are dropped and counted, with one
   * line when dropping starts and one saying how much was lost. @default 256 KiB
   */
  maxLogBytesPerSecond?: number;
}

function fail(field: string, expected: string, got: unknown): never {
  throw new WasmeshError(
    'WASMESH_ERR_CONFIG',
    `invalid option ${field}: expected ${expected}, got ${JSON.stringify(got)}`,
    {
      details: { field, got },
    },
  );
}

/** Checks `value` is an integer in [min, max] and returns it. */
export function intInRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `an integer in ${min}..${max}`, value);
  }
  return value;
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) fail(`${name} (environment)`, 'an integer', raw);
  return n;
}

/** Default on-disk cache of precompiled actors. */
export function defaultCacheDir(): string {
  return process.env.WASMESH_CACHE_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'compiled');
}

/** Resolved, validated runtime options. */
export type ResolvedRuntimeOptions = Readonly<Required<RuntimeOptions>>;

/** Applies defaults and environment, validates, freezes. */
export function resolveRuntimeOptions(o: RuntimeOptions = {}): ResolvedRuntimeOptions {
  return Object.freeze({
    maxInstances: intInRange('maxInstances', o.maxInstances ?? envInt('WASMESH_MAX_INSTANCES') ?? 256, 1, 100_000),
    maxMemoryMb: intInRange('maxMemoryMb', o.maxMemoryMb ?? envInt('WASMESH_MAX_MEMORY_MB') ?? 64, 1, 4096),
    maxWasmStackKb: intInRange('maxWasmStackKb', o.maxWasmStackKb ?? 512, 64, 65_536),
    epochTickUs: intInRange('epochTickUs', o.epochTickUs ?? 1000, 1, 1_000_000),
    spinWaitUs: intInRange('spinWaitUs', o.spinWaitUs ?? envInt('WASMESH_SPIN_WAIT_US') ?? 200, 0, 10_000),
    cacheDir: o.cacheDir === undefined ? defaultCacheDir() : o.cacheDir,
  });
}

/** The addon DTO for resolved runtime options. */
export function toNativeRuntimeOptions(o: ResolvedRuntimeOptions): NativeRuntimeOptions {
  return {
    maxInstances: o.maxInstances,
    maxMemoryBytes: o.maxMemoryMb * MiB,
    maxWasmStackBytes: o.maxWasmStackKb * 1024,
    epochTickUs: o.epochTickUs,
    spinWaitUs: o.spinWaitUs,
    ...(o.cacheDir === null ? {} : { cacheDir: o.cacheDir }),
  };
}

/** Applies defaults, validates against the runtime's sizing, and builds the addon DTO. */
export function toNativeActorOptions(o: ActorOptions, rt: ResolvedRuntimeOptions): NativeActorOptions {
  const fuel = o.fuel ?? null;
  return Object.freeze({
    maxMemoryBytes: intInRange('maxMemoryMb', o.maxMemoryMb ?? rt.maxMemoryMb, 1, rt.maxMemoryMb) * MiB,
    timeoutMs: intInRange('timeoutMs', o.timeoutMs ?? 10_000, 1, 3_600_000),
    ...(fuel === null ? {} : { fuel: intInRange('fuel', fuel, 1, Number.MAX_SAFE_INTEGER) }),
    maxConcurrent: intInRange('maxConcurrent', o.maxConcurrent ?? 64, 1, 100_000),
    maxResponseBytes: intInRange('maxResponseBytes', o.maxResponseBytes ?? 16 * MiB, 1, 1024 * MiB),
    maxLogBytes: intInRange('maxLogBytes', o.maxLogBytes ?? 64 * 1024, 0, 16 * MiB),
    logRateBytesPerSec: intInRange('maxLogBytesPerSecond', o.maxLogBytesPerSecond ?? 256 * 1024, 0, 256 * MiB),
  });
}
