/**
 * What the reconciler believes runs where: every host with its labels, actors and providers, kept
 * up to date from lattice events (heartbeats carry whole inventories; start/stop events change
 * one entry at once, so the reconciler sees its own actions before the next heartbeat) and from a
 * snapshot (ping + inventories) when it starts. A host is lost when it says it stops, or when it
 * missed its heartbeats for {@link MISSED_HEARTBEATS} intervals (kill -9, network loss).
 */
import type { ControlClient, LatticeEvent } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import type { PlacementHost } from './placement.js';

/** Heartbeat intervals without a heartbeat after which a host counts as lost. */
export const MISSED_HEARTBEATS = 2.5;

/** One host as the view has it. */
export interface HostState extends PlacementHost {
  friendlyName: string;
  actors: Map<string, lattice.IActorDescription>;
  providers: Map<string, lattice.IProviderDescription>;
  lastSeenMs: number;
  intervalMs: number;
}

/** The reconciler's picture of the lattice; see the module comment. */
export class LatticeView {
  readonly hosts = new Map<string, HostState>();

  constructor(private readonly defaultIntervalMs = 2000) {}

  /** Replaces the picture with what every host answers now. */
  async snapshot(control: ControlClient, maxWaitMs = 500): Promise<void> {
    const infos = await control.ping(maxWaitMs);
    const inventories = await Promise.all(infos.map((h) => control.inventory(h.hostId).catch(() => undefined)));
    this.hosts.clear();
    for (const inv of inventories) if (inv) this.#setInventory(inv, this.defaultIntervalMs);
  }

  /** Applies one lattice event; returns whether the picture changed in a way placement cares about. */
  apply(e: LatticeEvent): boolean {
    switch (e.type) {
      case 'host_heartbeat': {
        const inv = e.data.inventory;
        if (!inv?.host?.hostId) return false;
        const known = this.hosts.get(inv.host.hostId);
        const before = known ? signature(known) : '';
        this.#setInventory(inv, e.data.intervalMs || this.defaultIntervalMs);
        return before !== signature(this.hosts.get(inv.host.hostId)!);
      }
      case 'host_started': {
        const info = e.data.host;
        if (!info?.hostId || this.hosts.has(info.hostId)) return false;
        this.#setInventory({ host: info, actors: [], providers: [] }, this.defaultIntervalMs);
        return true;
      }
      case 'host_stopped':
        return this.hosts.delete(e.data.host?.hostId ?? '');
      case 'actor_started':
      case 'actor_updated': {
        const host = this.hosts.get(e.data.hostId ?? '');
        if (!host || !e.data.actor?.actorId) return false;
        host.actors.set(e.data.actor.actorId, e.data.actor);
        return true;
      }
      case 'actor_stopped':
        return this.hosts.get(e.data.hostId ?? '')?.actors.delete(e.data.actorId ?? '') ?? false;
      case 'provider_started': {
        const r = e.data.provider;
        const host = this.hosts.get(r?.hostId ?? '');
        if (!host || !r?.providerId) return false;
        // The event has no config names: keep those known (from a heartbeat or our own start).
        const known = host.providers.get(r.providerId);
        host.providers.set(r.providerId, {
          ...(known?.artifactRef === r.artifactRef ? known : {}),
          providerId: r.providerId,
          artifactRef: r.artifactRef,
          state: 'running',
        });
        return true;
      }
      case 'provider_stopped':
        return this.hosts.get(e.data.hostId ?? '')?.providers.delete(e.data.providerId ?? '') ?? false;
      default:
        return false;
    }
  }

  /** Records a provider this reconciler just started (its config names, which start events do not carry). */
  noteProvider(hostId: string, d: lattice.IProviderDescription): void {
    const host = this.hosts.get(hostId);
    if (host && d.providerId) host.providers.set(d.providerId, { ...host.providers.get(d.providerId), ...d });
  }

  /** Forgets hosts whose heartbeats stopped; returns their ids. */
  expire(now = Date.now()): string[] {
    const lost: string[] = [];
    for (const [id, h] of this.hosts) {
      if (now - h.lastSeenMs > MISSED_HEARTBEATS * h.intervalMs) {
        this.hosts.delete(id);
        lost.push(id);
      }
    }
    return lost;
  }

  /** When the next host counts as lost if it stays silent (ms since the epoch), or undefined without hosts. */
  nextExpiryMs(): number | undefined {
    let next: number | undefined;
    for (const h of this.hosts.values()) {
      const at = h.lastSeenMs + MISSED_HEARTBEATS * h.intervalMs;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** The hosts, for placement. */
  placementHosts(): HostState[] {
    return [...this.hosts.values()];
  }

  /** Where actor `actorId` runs: concurrency per host. */
  actorCounts(actorId: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const h of this.hosts.values()) {
      const a = h.actors.get(actorId);
      if (a) out.set(h.hostId, a.maxConcurrent ?? 0);
    }
    return out;
  }

  /** The hosts running provider `providerId`. */
  providerHosts(providerId: string): Set<string> {
    const out = new Set<string>();
    for (const h of this.hosts.values()) if (h.providers.has(providerId)) out.add(h.hostId);
    return out;
  }

  #setInventory(inv: lattice.IHostInventory, intervalMs: number): void {
    const info = inv.host!;
    this.hosts.set(info.hostId!, {
      hostId: info.hostId!,
      friendlyName: info.friendlyName ?? '',
      labels: { ...info.labels },
      actors: new Map((inv.actors ?? []).map((a) => [a.actorId ?? '', a])),
      providers: new Map((inv.providers ?? []).map((p) => [p.providerId ?? '', p])),
      lastSeenMs: Date.now(),
      intervalMs,
    });
  }
}

/** What placement depends on: labels, actors with their concurrency and module, providers. */
function signature(h: HostState): string {
  const actors = [...h.actors.values()].map((a) => `${a.actorId}:${a.maxConcurrent}:${a.digest}`).sort();
  return JSON.stringify([h.labels, actors, [...h.providers.keys()].sort()]);
}
