/**
 * Where a capability provider runs (issue 12), one definition for every edge that takes it —
 * manifests, `wasmesh start provider --mode`, hosts answering `provider.start`:
 *
 * - `in-process`: inside the host process; calls between it and that host's actors skip NATS.
 *   It shares the host's fate: a native crash or an event-loop stall of the provider is the
 *   host's. Only the built-in providers (`builtin:<name>`), which ship with the host, may run so.
 * - `process`: a process of its own that the host supervises; a crash stays in it. The only mode
 *   of third-party providers.
 *
 * Left out (`''` on the wire), the host picks: in-process for built-ins, a process for the others.
 */

/** The modes a provider can run in. */
export const PROVIDER_MODES = ['in-process', 'process'] as const;

/** A provider's mode: see the module comment. */
export type ProviderMode = (typeof PROVIDER_MODES)[number];

/** Whether `value` names a provider mode. */
export function isProviderMode(value: unknown): value is ProviderMode {
  return (PROVIDER_MODES as readonly unknown[]).includes(value);
}
