/**
 * What `wasmesh top` shows, computed from two readings of the hosts' inventories: per actor, the
 * calls per second, failures per second, p50 and p99 of the duration (from the hosts' duration
 * buckets, interpolated within a bucket as Prometheus's `histogram_quantile` does), calls in
 * flight and the hosts running it; per provider, its health, state and restarts. Pure functions,
 * so the numbers are tested apart from the terminal.
 */
import type { lattice } from '@wasmesh/proto';

/** One host's inventory, as a control request answers it. */
export type Inventory = lattice.IHostInventory;

/** One actor across the lattice, over the interval between two readings. */
export interface ActorRow {
  actorId: string;
  /** Hosts running it now. */
  hosts: number;
  callsPerS: number;
  errorsPerS: number;
  /** Milliseconds; null when no call finished in the interval. */
  p50Ms: number | null;
  p99Ms: number | null;
  inFlight: number;
  /** Calls since it started, summed over the hosts running it now. */
  totalCalls: number;
  totalErrors: number;
}

/** One provider on one host. */
export interface ProviderRow {
  providerId: string;
  hostId: string;
  mode: string;
  state: string;
  healthy: boolean;
  restarts: number;
  message: string;
}

/** A snapshot of the lattice over one interval. */
export interface TopSnapshot {
  intervalS: number;
  hosts: number;
  actors: ActorRow[];
  providers: ProviderRow[];
}

/** The counts of one actor on one host, identified so a restart is not read as negative calls. */
interface Counts {
  key: string;
  calls: number;
  errors: number;
  bounds: number[];
  buckets: number[];
}

function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : v ? Number(v) : 0;
}

/** The counts of every actor in `inventories`, keyed by host, actor and start time. */
function countsOf(inventories: readonly Inventory[]): Map<string, Counts> {
  const out = new Map<string, Counts>();
  for (const inv of inventories) {
    for (const a of inv.actors ?? []) {
      const key = `${inv.host?.hostId}\n${a.actorId}\n${toNumber(a.startedAtMs)}`;
      out.set(key, {
        key,
        calls: toNumber(a.stats?.calls),
        errors: toNumber(a.stats?.errors),
        bounds: [...(a.stats?.latencyBoundsS ?? [])],
        buckets: (a.stats?.latencyCounts ?? []).map(toNumber),
      });
    }
  }
  return out;
}

/**
 * The `q` quantile (0..1) of the calls counted in `buckets` (per bucket, with upper `bounds` and
 * one more above them all), in seconds: linear within the bucket it falls in; the last bucket
 * answers with the highest bound. Null without calls.
 */
export function quantile(q: number, bounds: readonly number[], buckets: readonly number[]): number | null {
  const total = buckets.reduce((s, c) => s + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!;
    if (below + count >= rank && count > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return bounds[bounds.length - 1] ?? null;
}

/** The snapshot between `before` and `after`, read `intervalS` seconds apart. */
export function snapshot(before: readonly Inventory[], after: readonly Inventory[], intervalS: number): TopSnapshot {
  const was = countsOf(before);
  const rows = new Map<string, ActorRow & { bounds: number[]; buckets: number[] }>();
  for (const inv of after) {
    for (const a of inv.actors ?? []) {
      const id = a.actorId ?? '';
      const now = countsOf([{ host: inv.host, actors: [a] }])
        .values()
        .next().value!;
      // An actor (re)started in the interval counts from zero.
      const prev = was.get(now.key) ?? { calls: 0, errors: 0, buckets: [] as number[] };
      let row = rows.get(id);
      if (!row) {
        row = {
          actorId: id,
          hosts: 0,
          callsPerS: 0,
          errorsPerS: 0,
          p50Ms: null,
          p99Ms: null,
          inFlight: 0,
          totalCalls: 0,
          totalErrors: 0,
          bounds: now.bounds,
          buckets: new Array<number>(now.buckets.length).fill(0),
        };
        rows.set(id, row);
      }
      row.hosts++;
      row.inFlight += a.inFlight ?? 0;
      row.totalCalls += now.calls;
      row.totalErrors += now.errors;
      row.callsPerS += Math.max(0, now.calls - prev.calls);
      row.errorsPerS += Math.max(0, now.errors - prev.errors);
      now.buckets.forEach((c, i) => {
        if (i < row!.buckets.length) row!.buckets[i]! += Math.max(0, c - (prev.buckets[i] ?? 0));
      });
    }
  }
  const ms = (s: number | null): number | null => (s === null ? null : Math.round(s * 100_000) / 100);
  const actors = [...rows.values()]
    .map(({ bounds, buckets, ...row }) => ({
      ...row,
      callsPerS: Math.round((row.callsPerS / intervalS) * 10) / 10,
      errorsPerS: Math.round((row.errorsPerS / intervalS) * 10) / 10,
      p50Ms: ms(quantile(0.5, bounds, buckets)),
      p99Ms: ms(quantile(0.99, bounds, buckets)),
    }))
    .sort((x, y) => y.callsPerS - x.callsPerS || x.actorId.localeCompare(y.actorId));
  const providers = after
    .flatMap((inv) =>
      (inv.providers ?? []).map((p) => ({
        providerId: p.providerId ?? '',
        hostId: inv.host?.hostId ?? '',
        mode: p.mode ?? '',
        state: p.state ?? '',
        healthy: p.healthy ?? false,
        restarts: p.restarts ?? 0,
        message: p.message ?? '',
      })),
    )
    .sort((x, y) => x.providerId.localeCompare(y.providerId) || x.hostId.localeCompare(y.hostId));
  return { intervalS, hosts: after.length, actors, providers };
}
