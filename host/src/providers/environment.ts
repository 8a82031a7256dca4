/**
 * The bootstrap environment of a provider: what the provider SDK reads (`WASMESH_*`), built by the
 * host the same way for a provider process and for one it runs in-process.
 */
import type { ProviderAccess } from './credentials.js';

/** What the bootstrap environment of a provider says. */
export interface ProviderBootstrap {
  natsUrls: string[];
  /** Its own credentials and the server's CA (never the host's credentials). */
  access: ProviderAccess;
  lattice: string;
  providerId: string;
  hostId: string;
  artifactRef: string;
  config: string[];
  /** Where a provider process serves its metrics (`WASMESH_METRICS_LISTEN`); absent: nowhere. */
  metricsListen?: string;
}

/**
 * The clean environment of a provider: PATH, HOME, WASMESH_LOG_LEVEL and the OTEL_* variables of
 * `base` (not OTEL_SERVICE_NAME, the provider names itself), plus the bootstrap variables. Nothing
 * else of the host's environment (NODE_OPTIONS, credentials…) is passed on.
 */
export function providerEnvironment(base: NodeJS.ProcessEnv, b: ProviderBootstrap): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'WASMESH_LOG_LEVEL']) {
    const v = base[name];
    if (v !== undefined) env[name] = v;
  }
  for (const [name, v] of Object.entries(base)) {
    if (name.startsWith('OTEL_') && name !== 'OTEL_SERVICE_NAME' && v !== undefined) env[name] = v;
  }
  return {
    ...env,
    WASMESH_NATS_URL: b.natsUrls.join(','),
    ...(b.access.creds ? { WASMESH_NATS_CREDS: b.access.creds } : {}),
    ...(b.access.appCreds ? { WASMESH_APP_NATS_CREDS: b.access.appCreds } : {}),
    ...(b.access.tlsCa ? { WASMESH_NATS_CA: b.access.tlsCa } : {}),
    WASMESH_LATTICE: b.lattice,
    WASMESH_PROVIDER_ID: b.providerId,
    WASMESH_HOST_ID: b.hostId,
    WASMESH_PROVIDER_REF: b.artifactRef,
    WASMESH_PROVIDER_CONFIG: b.config.join(','),
    ...(b.metricsListen ? { WASMESH_METRICS_LISTEN: b.metricsListen } : {}),
  };
}
