/**
 * Host options: documented defaults → environment (`WASMESH_*`) → validation → frozen.
 */
import {
  allowDirsFromEnv,
  checkListen,
  DEFAULT_MAX_MODULE_BYTES,
  DEFAULT_PULL_TIMEOUT_MS,
  defaultOciCacheDir,
  latticeName,
  parseTrustedIssuers,
  isProviderMode,
  PROVIDER_MODES,
  resolveAccess,
  WasmeshError,
  type Logger,
  type ProviderMode,
} from '@wasmesh/lattice';
import type { RuntimeOptions } from '../runtime/options.js';
import { intInRange } from '../runtime/options.js';

/** Options of a lattice host. */
export interface HostOptions {
  /** NATS URL(s). @default WASMESH_NATS_URL or nats://127.0.0.1:4222 */
  nats?: string | string[];
  /**
   * Host credentials (`wasmesh creds create --role host`): the host's id is the name they carry,
   * and they hold the keys the host mints its providers' credentials with. @default WASMESH_NATS_CREDS
   */
  creds?: string;
  /** The CA of the NATS server's certificate. @default WASMESH_NATS_CA */
  tlsCa?: string;
  /** Lattice to join. @default WASMESH_LATTICE or `default` */
  lattice?: string;
  /** nkey server seed (SN…) giving the host a stable id. @default WASMESH_HOST_SEED, else generated */
  seed?: string;
  /** User labels (flags); `WASMESH_LABEL_<KEY>` adds more, built-in `hostcore.*` are always there. */
  labels?: Record<string, string>;
  /** Heartbeat interval in ms. @default 2000 (env WASMESH_HEARTBEAT_MS) */
  heartbeatMs?: number;
  /** Default max concurrent invocations per actor on this host. @default 64 */
  defaultMaxConcurrent?: number;
  /** Default deadline of an invocation that carries none, and the cap of an actor's execution. @default 30000 */
  invocationTimeoutMs?: number;
  /** How long `drain` waits for in-flight invocations. @default 10000 */
  drainTimeoutMs?: number;
  /** How often supervised providers are asked for their health, in ms. @default 5000 (env WASMESH_PROVIDER_HEALTH_MS) */
  providerHealthMs?: number;
  /** How long a started provider may take to register. @default 15000 */
  providerStartTimeoutMs?: number;
  /** How long a provider may take to exit after SIGTERM before it gets SIGKILL. @default 10000 (env WASMESH_PROVIDER_STOP_TIMEOUT_MS) */
  providerStopTimeoutMs?: number;
  /**
   * Directories the host reads module and provider files from (see file-jail.ts); requests naming
   * any other path are refused. @default WASMESH_ALLOW_DIRS (split on the platform's path
   * delimiter, `:` or `;`), else none: the host reads no files, only `sha256:` artifacts.
   */
  allowDirs?: string[];
  /** Largest module file read from an allowed directory, in bytes. @default 64 MiB (env WASMESH_MAX_MODULE_BYTES) */
  maxModuleBytes?: number;
  /**
   * Account keys (A…) whose signed actors this host runs; when any is given, unsigned actors and
   * actors of other issuers are refused (see lattice/src/claims/policy.ts). @default
   * WASMESH_TRUSTED_ISSUERS (comma separated), else none: no policy.
   */
  trustedIssuers?: string[];
  /**
   * Registries (`host[:port]`) reached over plain HTTP although not on loopback (loopback ones
   * always are, as docker does). Credentials come from the docker config file (env DOCKER_CONFIG).
   * @default WASMESH_INSECURE_REGISTRIES (comma separated), else none
   */
  insecureRegistries?: string[];
  /**
   * Where modules pulled from OCI registries are kept, by digest, so a restart does not pull them
   * again; `null` keeps none. @default ~/.cache/wasmesh/oci (env WASMESH_OCI_CACHE_DIR)
   */
  ociCacheDir?: string | null;
  /**
   * Deadline of a whole `oci://` pull (every registry request of it together), in ms: a registry
   * that stalls fails the start or update with `WASMESH_ERR_TIMEOUT` naming the reference instead
   * of holding it. @default 60000 (env WASMESH_PULL_TIMEOUT_MS)
   */
  pullTimeoutMs?: number;
  /**
   * Local dispatch (see lattice/src/local-dispatch.ts): calls between the actors of this host and
   * the providers in its process skip NATS while the target has room. Off, every call takes the
   * bus, as between hosts (for comparisons and debugging). @default true (env WASMESH_LOCAL_DISPATCH=0 turns it off)
   */
  localDispatch?: boolean;
  /**
   * Where built-in providers run when their start names no mode: `in-process` (inside this host
   * process, calls with its actors skip NATS) or `process` (each in a process of its own, isolated).
   * Other providers always run as processes. @default in-process (env WASMESH_PROVIDER_MODE)
   */
  providerMode?: ProviderMode;
  /**
   * Where the provider processes this host starts serve their metrics (`host:port`, port 0 in
   * practice: each picks a free one and names its URL in its provider record's `metrics_url`
   * annotation). Absent: they serve none. In-process providers record in the host's own metrics.
   */
  providerMetricsListen?: string;
  /** Wasm runtime sizing. */
  runtime?: RuntimeOptions;
  logger?: Logger;
}

/** Options after defaults and validation. */
export interface ResolvedHostOptions {
  nats: string[];
  creds: string | undefined;
  tlsCa: string | undefined;
  lattice: string;
  seed: string | undefined;
  labels: Record<string, string>;
  heartbeatMs: number;
  defaultMaxConcurrent: number;
  invocationTimeoutMs: number;
  drainTimeoutMs: number;
  providerHealthMs: number;
  providerStartTimeoutMs: number;
  providerStopTimeoutMs: number;
  allowDirs: string[];
  maxModuleBytes: number;
  trustedIssuers: string[];
  insecureRegistries: string[];
  ociCacheDir: string | null;
  pullTimeoutMs: number;
  localDispatch: boolean;
  providerMode: ProviderMode;
  providerMetricsListen: string | undefined;
  runtime: RuntimeOptions;
}

/** A provider mode from an option or WASMESH_PROVIDER_MODE; a config error naming the choices. */
function providerMode(raw: string | undefined): ProviderMode {
  const mode = raw?.trim() || 'in-process';
  if (!isProviderMode(mode)) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `invalid provider mode "${mode}" (providerMode / WASMESH_PROVIDER_MODE): use ${PROVIDER_MODES.join(' or ')}`,
    );
  }
  return mode;
}

/** A boolean from the environment: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; else a config error naming it. */
function envBool(name: string): boolean | undefined {
  const raw = process.env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new WasmeshError('WASMESH_ERR_CONFIG', `invalid ${name}: expected 1/true/on or 0/false/off, got "${raw}"`);
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) {
    throw new WasmeshError('WASMESH_ERR_CONFIG', `invalid ${name}: expected an integer, got "${raw}"`);
  }
  return n;
}

/** Applies defaults and environment, validates, freezes. */
export function resolveHostOptions(o: HostOptions = {}): Readonly<ResolvedHostOptions> {
  const { servers, ...access } = resolveAccess({ servers: o.nats, creds: o.creds, tlsCa: o.tlsCa });
  return Object.freeze({
    creds: undefined,
    tlsCa: undefined,
    ...access,
    nats: servers,
    lattice: latticeName(o.lattice),
    seed: o.seed ?? process.env.WASMESH_HOST_SEED ?? undefined,
    labels: { ...(o.labels ?? {}) },
    heartbeatMs: intInRange('heartbeatMs', o.heartbeatMs ?? envInt('WASMESH_HEARTBEAT_MS') ?? 2000, 100, 300_000),
    defaultMaxConcurrent: intInRange('defaultMaxConcurrent', o.defaultMaxConcurrent ?? 64, 1, 100_000),
    invocationTimeoutMs: intInRange('invocationTimeoutMs', o.invocationTimeoutMs ?? 30_000, 1, 3_600_000),
    drainTimeoutMs: intInRange('drainTimeoutMs', o.drainTimeoutMs ?? 10_000, 0, 3_600_000),
    providerHealthMs: intInRange(
      'providerHealthMs',
      o.providerHealthMs ?? envInt('WASMESH_PROVIDER_HEALTH_MS') ?? 5000,
      100,
      3_600_000,
    ),
    providerStartTimeoutMs: intInRange('providerStartTimeoutMs', o.providerStartTimeoutMs ?? 15_000, 100, 600_000),
    providerStopTimeoutMs: intInRange(
      'providerStopTimeoutMs',
      o.providerStopTimeoutMs ?? envInt('WASMESH_PROVIDER_STOP_TIMEOUT_MS') ?? 10_000,
      0,
      600_000,
    ),
    allowDirs: [...(o.allowDirs ?? allowDirsFromEnv())],
    maxModuleBytes: intInRange(
      'maxModuleBytes',
      o.maxModuleBytes ?? envInt('WASMESH_MAX_MODULE_BYTES') ?? DEFAULT_MAX_MODULE_BYTES,
      1,
      2 ** 31 - 1,
    ),
    trustedIssuers: parseTrustedIssuers(o.trustedIssuers),
    insecureRegistries: (o.insecureRegistries ?? (process.env.WASMESH_INSECURE_REGISTRIES ?? '').split(','))
      .map((r) => r.trim().toLowerCase())
      .filter(Boolean),
    ociCacheDir: o.ociCacheDir === undefined ? defaultOciCacheDir() : o.ociCacheDir,
    pullTimeoutMs: intInRange(
      'pullTimeoutMs',
      o.pullTimeoutMs ?? envInt('WASMESH_PULL_TIMEOUT_MS') ?? DEFAULT_PULL_TIMEOUT_MS,
      100,
      3_600_000,
    ),
    localDispatch: o.localDispatch ?? envBool('WASMESH_LOCAL_DISPATCH') ?? true,
    providerMode: providerMode(o.providerMode ?? process.env.WASMESH_PROVIDER_MODE),
    providerMetricsListen:
      o.providerMetricsListen === undefined ? undefined : checkListen(o.providerMetricsListen, 'provider metrics'),
    // A host serves concurrent calls: a JS thread spinning for one outcome delays the others
    // (bench http: hello 8194 req/s unspun, 5264 spun, one run). Embedded runtimes keep the spin;
    // WASMESH_SPIN_WAIT_US, when set, is read (and checked) by the runtime's own options.
    runtime: { ...(process.env.WASMESH_SPIN_WAIT_US ? {} : { spinWaitUs: 0 }), ...(o.runtime ?? {}) },
  });
}
