/**
 * What must change for one app to be as its manifest says: a pure comparison of the desired
 * state (placement of its components, its links and config) with the lattice view, the link and
 * config state, and what the app owns from earlier rounds. Only what differs is acted on, so an
 * upgrade restarts nothing that did not change; what the app did not start is never removed.
 *
 * An actor whose image or concurrency differs on a host is updated there (`replace`: a new module,
 * then its concurrency): the host swaps the module in place and lets calls in flight finish on the
 * old one, so no request fails. An image that is an `oci://` tag is the same text while the tag can
 * point at another module: each new app version resolves it again (see {@link needsUpdate}), and
 * the host swaps only when the digest moved. A provider the app started whose image, config
 * names or mode changed is stopped, and started again in the next round (a process cannot change
 * either while it runs, nor move into or out of the host process).
 */
import { isOciTagRef, linkKey, type ProviderMode } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import type { AppManifest, AppProvider } from '../manifest/model.js';
import { placeActor, placeProvider } from './placement.js';
import type { LatticeView } from './view.js';

/** Annotation naming the app that started an actor. */
export const APP_ANNOTATION = 'wasmesh.dev/app';
/** Annotation naming the app version that last placed an actor. */
export const APP_VERSION_ANNOTATION = 'wasmesh.dev/app-version';

/** One actor to start (or re-scale, or upgrade) on one host. */
export interface StartActor {
  hostId: string;
  actorId: string;
  artifactRef: string;
  maxConcurrent: number;
  annotations: Record<string, string>;
  /** Named config the actor reads as its own, in merge order. */
  config: string[];
  /**
   * The host's module must be replaced (or refreshed) first, see {@link needsUpdate}: `actor.update`
   * swaps it in place (calls in flight finish on the old one), since `actor.start` only changes the
   * concurrency and annotations of a running actor and refuses another artifact.
   */
  replace?: boolean;
}

/** One provider to start on one host. */
export interface StartProvider {
  hostId: string;
  providerId: string;
  artifactRef: string;
  config: string[];
  /** Where it runs, when the manifest says (absent: the host's default). */
  mode?: ProviderMode;
}

/** What to do, in the order it must be done (config, providers, links, actors; removals last). */
export interface Plan {
  putConfig: { name: string; values: Record<string, string> }[];
  startProviders: StartProvider[];
  putLinks: lattice.ILink[];
  startActors: StartActor[];
  stopActors: { hostId: string; actorId: string }[];
  deleteLinks: { sourceId: string; contract: string; name: string; key: string }[];
  stopProviders: lattice.IOwnedProvider[];
  deleteConfig: string[];
  /** What cannot be done with the hosts and state there are (the app is `failed` with these). */
  shortfalls: string[];
  /** What the app owns once the plan is done. */
  owned: { providers: lattice.IOwnedProvider[]; links: string[]; config: string[] };
}

/** Everything the planner looks at besides the manifest. */
export interface PlanInput {
  /** The deployed manifest, or undefined when the app is being undeployed. */
  manifest: AppManifest | undefined;
  appName: string;
  view: LatticeView;
  links: ReadonlyMap<string, lattice.ILink>;
  config: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** The app's previous status (what it owns). */
  previous: lattice.IAppStatus | undefined;
  /** Provider ids of the manifest's shared components (run by other apps), by component name; absent: not deployed. */
  shared: ReadonlyMap<string, string>;
}

/** Whether the running actor already is what `want` asks for. */
function actorMatches(running: lattice.IActorDescription, want: StartActor): boolean {
  if ((running.maxConcurrent ?? 0) !== want.maxConcurrent) return false;
  const config = running.config ?? [];
  if (config.length !== want.config.length || config.some((c, i) => want.config[i] !== c)) return false;
  return want.artifactRef.startsWith('sha256:')
    ? running.digest === want.artifactRef
    : running.artifactRef === want.artifactRef;
}

/**
 * Whether the actor running on a host needs `actor.update` before `actor.start`: it runs another
 * artifact, or it runs the same `oci://` tag but was placed by another app version. A tag can have
 * moved since, so a new app version resolves it again; the host pulls the tag and swaps only when
 * the digest changed (it answers "unchanged" otherwise: nothing recompiled). The start that follows
 * records the new version in the actor's annotations, so each version refreshes a host once.
 * A digest reference, `sha256:` image or path cannot move without the image changing: never refreshed.
 */
function needsUpdate(running: lattice.IActorDescription, want: StartActor, version: string): boolean {
  if ((running.artifactRef ?? '') !== want.artifactRef) return !actorMatches(running, want);
  return isOciTagRef(want.artifactRef) && running.annotations?.[APP_VERSION_ANNOTATION] !== version;
}

function sameList(a: readonly string[] | null | undefined, b: readonly string[]): boolean {
  const x = a ?? [];
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

function sameValues(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>>): boolean {
  if (!a) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return sameList(ka, kb) && ka.every((k) => a[k] === b[k]);
}

/** Whether the app's previous status lists provider `providerId` on `hostId` as its own. */
function ownsProvider(previous: lattice.IAppStatus | undefined, providerId: string, hostId: string): boolean {
  return (previous?.providers ?? []).some((p) => p.providerId === providerId && p.hostId === hostId);
}

/**
 * Whether a running provider is what the manifest asks for: same image and, when the host said
 * (heartbeats and inventories do; start events do not), the same config names and, when the
 * manifest names one, the same mode (a manifest without one takes whichever the host chose).
 */
function providerMatches(running: lattice.IProviderDescription, want: AppProvider): boolean {
  if ((running.artifactRef ?? '') !== want.image) return false;
  if (want.mode !== undefined && running.mode && running.mode !== want.mode) return false;
  return running.config === undefined || running.config === null || sameList(running.config, want.config);
}

/** Plans one round for one app; see the module comment. */
export function planApp(input: PlanInput): Plan {
  const { manifest, appName, view, previous } = input;
  const plan: Plan = {
    putConfig: [],
    startProviders: [],
    putLinks: [],
    startActors: [],
    stopActors: [],
    deleteLinks: [],
    stopProviders: [],
    deleteConfig: [],
    shortfalls: [],
    owned: { providers: [], links: [], config: [] },
  };
  const hosts = view.placementHosts();
  const wantedProviders = new Set<string>(); // `${providerId}@${hostId}`
  const wantedLinks = new Set<string>();
  const wantedConfig = new Set<string>();

  if (manifest) {
    for (const c of manifest.config) {
      wantedConfig.add(c.name);
      if (!sameValues(input.config.get(c.name), c.values))
        plan.putConfig.push({ name: c.name, values: { ...c.values } });
    }
    for (const name of manifest.externalConfig) {
      if (!input.config.has(name))
        plan.shortfalls.push(`config "${name}" does not exist (create it: wasmesh config put ${name} key=value)`);
    }
    for (const component of manifest.components) {
      if (component.kind === 'provider') {
        const running = view.providerHosts(component.id);
        const placement = placeProvider(component.scaler, hosts, running);
        plan.shortfalls.push(...placement.shortfalls.map((s) => `provider ${component.name}: ${s}`));
        for (const hostId of placement.perHost.keys()) {
          const desc = view.hosts.get(hostId)?.providers.get(component.id);
          if (desc && ownsProvider(previous, component.id, hostId) && !providerMatches(desc, component)) {
            // An upgrade changed the provider's image, config or mode: stop it here (it is not wanted this
            // round, so the removals below stop it); the next round starts the new one.
            continue;
          }
          wantedProviders.add(`${component.id}@${hostId}`);
          if (!running.has(hostId)) {
            plan.startProviders.push({
              hostId,
              providerId: component.id,
              artifactRef: component.image,
              config: [...component.config],
              ...(component.mode !== undefined && { mode: component.mode }),
            });
          }
        }
      } else if (component.kind === 'actor') {
        const placement = placeActor(component.scaler, hosts, view.actorCounts(component.id));
        plan.shortfalls.push(...placement.shortfalls.map((s) => `actor ${component.name}: ${s}`));
        for (const [hostId, count] of placement.perHost) {
          const want: StartActor = {
            hostId,
            actorId: component.id,
            artifactRef: component.image,
            maxConcurrent: count,
            annotations: { [APP_ANNOTATION]: manifest.name, [APP_VERSION_ANNOTATION]: manifest.version },
            config: [...component.config],
          };
          const running = view.hosts.get(hostId)?.actors.get(component.id);
          if (running && needsUpdate(running, want, manifest.version)) want.replace = true;
          if (!running || want.replace || !actorMatches(running, want)) plan.startActors.push(want);
        }
        for (const [hostId] of view.actorCounts(component.id)) {
          const running = view.hosts.get(hostId)?.actors.get(component.id);
          if (!placement.perHost.has(hostId) && running?.annotations?.[APP_ANNOTATION] === appName) {
            plan.stopActors.push({ hostId, actorId: component.id });
          }
        }
        for (const l of component.links) {
          const targetId = l.targetId ?? input.shared.get(l.target);
          if (!targetId) {
            plan.shortfalls.push(
              `actor ${component.name}: the shared provider ${l.target} is not deployed (or its app does not share its providers)`,
            );
            continue;
          }
          const key = linkKey(component.id, l.contract, l.name);
          wantedLinks.add(key);
          const current = input.links.get(key);
          if (!current || current.targetId !== targetId || !sameList(current.config, l.config)) {
            plan.putLinks.push({
              sourceId: component.id,
              contract: l.contract,
              name: l.name,
              targetId,
              config: [...l.config],
            });
          }
        }
      }
    }
  }

  // Actors of this app that the manifest no longer has (or all of them, when undeployed).
  const actorIds = new Set(manifest?.components.filter((c) => c.kind === 'actor').map((c) => (c as { id: string }).id));
  for (const h of view.hosts.values()) {
    for (const [actorId, a] of h.actors) {
      if (a.annotations?.[APP_ANNOTATION] === appName && !actorIds.has(actorId)) {
        plan.stopActors.push({ hostId: h.hostId, actorId });
      }
    }
  }
  for (const key of previous?.links ?? []) {
    if (wantedLinks.has(key) || !input.links.has(key)) continue;
    const l = input.links.get(key)!;
    plan.deleteLinks.push({ sourceId: l.sourceId ?? '', contract: l.contract ?? '', name: l.name ?? '', key });
  }
  for (const p of previous?.providers ?? []) {
    if (!wantedProviders.has(`${p.providerId}@${p.hostId}`)) plan.stopProviders.push(p);
  }
  for (const name of previous?.config ?? []) {
    if (!wantedConfig.has(name) && input.config.has(name)) plan.deleteConfig.push(name);
  }

  const keptProviders = (previous?.providers ?? []).filter((p) => wantedProviders.has(`${p.providerId}@${p.hostId}`));
  plan.owned = {
    providers: keptProviders,
    links: [...wantedLinks].sort(),
    config: [...wantedConfig].sort(),
  };
  return plan;
}

/** Whether a plan has nothing to do. */
export function isEmptyPlan(plan: Plan): boolean {
  return (
    plan.putConfig.length +
      plan.startProviders.length +
      plan.putLinks.length +
      plan.startActors.length +
      plan.stopActors.length +
      plan.deleteLinks.length +
      plan.stopProviders.length +
      plan.deleteConfig.length ===
    0
  );
}
