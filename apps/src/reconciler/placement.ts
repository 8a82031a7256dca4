/**
 * Where an app's components should run, from their scalers and the hosts alive now. Pure
 * functions: the reconciler compares their answer with what runs and acts on the difference.
 *
 * Actors (wadm's meaning of `instances`: how many invocations may run at once in the lattice):
 *   - spreadscaler: `instances` are shared among the spread groups by weight (largest remainder,
 *     in the groups' order); a group's share is split evenly across the hosts whose labels meet
 *     its requirements, and a host runs the actor with that many concurrent invocations. Hosts
 *     already running it keep their share first, so a rescale moves as little as possible.
 *   - daemonscaler: every host meeting a group's requirements runs `instances` each.
 * Providers (one process per host):
 *   - spreadscaler: `instances` processes on distinct hosts, shared among groups by weight;
 *   - daemonscaler: one process on every host meeting the requirements.
 * A group that no host meets, or that cannot take its share, is reported as a shortfall (the app
 * is then `failed` with that reason, and placed again when hosts change).
 */

import type { Scaler, SpreadGroup } from '../manifest/model.js';

/** A host as placement sees it. */
export interface PlacementHost {
  hostId: string;
  labels: Readonly<Record<string, string>>;
}

/** A placement: instances per host id (hosts left out run nothing), and what could not be placed. */
export interface Placement {
  perHost: Map<string, number>;
  shortfalls: string[];
}

const EVERYWHERE: SpreadGroup = { name: 'all hosts', requirements: {}, weight: 1 };

/** Whether `host` has every label of `requirements`. */
export function meets(host: PlacementHost, requirements: Readonly<Record<string, string>>): boolean {
  return Object.entries(requirements).every(([k, v]) => host.labels[k] === v);
}

function describeRequirements(r: Readonly<Record<string, string>>): string {
  const entries = Object.entries(r);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : 'any host';
}

/** `total` split by `weights` with the largest-remainder method (ties to the earlier group). */
export function shareByWeight(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + Math.max(0, b), 0);
  if (sum === 0 || total <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * Math.max(0, w)) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left-- <= 0) break;
    shares[i]!++;
  }
  return shares;
}

/** Hosts meeting `group`, those with the most `current` instances first, then by id (stable). */
function eligible(group: SpreadGroup, hosts: readonly PlacementHost[], current: ReadonlyMap<string, number>): string[] {
  return hosts
    .filter((h) => meets(h, group.requirements))
    .map((h) => h.hostId)
    .sort((a, b) => (current.get(b) ?? 0) - (current.get(a) ?? 0) || a.localeCompare(b));
}

function add(perHost: Map<string, number>, hostId: string, n: number): void {
  if (n > 0) perHost.set(hostId, (perHost.get(hostId) ?? 0) + n);
}

/** Where an actor runs and with how many concurrent invocations per host. */
export function placeActor(
  scaler: Scaler,
  hosts: readonly PlacementHost[],
  current: ReadonlyMap<string, number> = new Map(),
): Placement {
  const groups = scaler.spread.length ? scaler.spread : [EVERYWHERE];
  const perHost = new Map<string, number>();
  const shortfalls: string[] = [];
  const shares =
    scaler.kind === 'spread'
      ? shareByWeight(
          scaler.instances,
          groups.map((g) => g.weight),
        )
      : groups.map(() => scaler.instances);
  groups.forEach((group, i) => {
    const share = shares[i] ?? 0;
    const candidates = eligible(group, hosts, current);
    if (candidates.length === 0) {
      if (share > 0 || scaler.kind === 'daemon')
        shortfalls.push(`spread "${group.name}": no host has ${describeRequirements(group.requirements)}`);
      return;
    }
    if (scaler.kind === 'daemon') {
      for (const h of candidates) add(perHost, h, share);
      return;
    }
    const base = Math.floor(share / candidates.length);
    const extra = share % candidates.length;
    candidates.forEach((h, j) => add(perHost, h, base + (j < extra ? 1 : 0)));
  });
  return { perHost, shortfalls };
}

/** On which hosts a provider runs (one process each; the count per host is 1). */
export function placeProvider(
  scaler: Scaler,
  hosts: readonly PlacementHost[],
  current: ReadonlySet<string> = new Set(),
): Placement {
  const groups = scaler.spread.length ? scaler.spread : [EVERYWHERE];
  const currentCounts = new Map([...current].map((h) => [h, 1]));
  const perHost = new Map<string, number>();
  const shortfalls: string[] = [];
  const shares = shareByWeight(
    scaler.instances,
    groups.map((g) => g.weight),
  );
  groups.forEach((group, i) => {
    const matching = eligible(group, hosts, currentCounts);
    const wantedShare = scaler.kind === 'spread' ? (shares[i] ?? 0) : undefined;
    if (matching.length === 0) {
      if (wantedShare === undefined || wantedShare > 0)
        shortfalls.push(`spread "${group.name}": no host has ${describeRequirements(group.requirements)}`);
      return;
    }
    const free = matching.filter((h) => !perHost.has(h));
    const wanted = wantedShare ?? free.length;
    const placed = free.slice(0, wanted);
    for (const h of placed) perHost.set(h, 1);
    if (placed.length < wanted) {
      shortfalls.push(
        `spread "${group.name}": ${wanted} provider instance(s) wanted but ${placed.length} host(s) have ${describeRequirements(group.requirements)}`,
      );
    }
  });
  return { perHost, shortfalls };
}
