/**
 * The normalized app: what the reconciler works from. Every default is applied, so nothing
 * downstream re-reads the manifest's shorthand:
 *
 * - ids resolved (default: the component name); `type: component` is an actor;
 * - every component has exactly one scaler (default: spreadscaler, 1 instance, one spread group
 *   `default` over every host); spread weights default to 100, daemonscaler instances to 1;
 * - link names defaulted to `default`, link targets resolved to provider ids;
 * - a provider's `mode` kept only when the manifest gives one (the host's default otherwise);
 * - config turned into named config names (see `config.ts`); owned config listed once at app level.
 *
 * `instances` keeps wadm's meaning so manifests carry over: for actors, invocations that may run at
 * once across the lattice (each host runs an actor id once, with its share as its concurrency); for
 * providers, processes on distinct hosts. Plain JSON (no Maps, no classes), so it can be stored in KV and compared as is.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_LINK_NAME, type ProviderMode } from '@wasmesh/lattice';
import { ContractId } from '@wasmesh/proto';
import { resolveConfig, type OwnedConfig } from './config.js';
import type { RawComponent, RawManifest, RawSpread, RawTrait } from './raw.js';

export type { OwnedConfig } from './config.js';

/** The annotation that says whether other apps may use this app's capability components. */
export const SHARED_PROVIDERS_ANNOTATION = 'wasmesh.dev/shared-providers';
/** The spread name used when a scaler gives none. */
export const DEFAULT_SPREAD_NAME = 'default';
/** The weight of a spread that gives none. */
export const DEFAULT_SPREAD_WEIGHT = 100;

/** Contracts of the first-party providers, so a link to the wrong one is caught before deploying. */
export const BUILTIN_CONTRACTS: Readonly<Record<string, string>> = Object.freeze({
  'http-server': ContractId.HTTPSERVER,
  keyvalue: ContractId.KEYVALUE,
  messaging: ContractId.MESSAGING,
});

/** A spread group: hosts meeting every requirement get `weight` parts of the instances. */
export interface SpreadGroup {
  readonly name: string;
  /** Host labels that must all match (empty: every host). */
  readonly requirements: Readonly<Record<string, string>>;
  /** Relative share 0-100 (default 100; daemonscaler groups: 100, unused). */
  readonly weight: number;
}

/**
 * How a component scales. `spread`: `instances` in total, shared among groups by weight. `daemon`:
 * on every host meeting a group's requirements, `instances` each (actors: concurrency per host;
 * providers: one process per host whatever it says).
 */
export interface Scaler {
  readonly kind: 'spread' | 'daemon';
  readonly instances: number;
  /** Never empty: a scaler without spreads gets one group `default` over every host. */
  readonly spread: readonly SpreadGroup[];
}

/** A link of an actor: its calls of `contract` under link `name` go to provider `targetId`. */
export interface AppLink {
  readonly contract: string;
  /** The link name (default `default`). */
  readonly name: string;
  /** The target component's name in this manifest. */
  readonly target: string;
  /** The provider id, or null when the target is a shared capability (resolved from its app at deploy). */
  readonly targetId: string | null;
  /** Named config of the link, in merge order. */
  readonly config: readonly string[];
}

/** An actor component. */
export interface AppActor {
  readonly kind: 'actor';
  readonly name: string;
  readonly id: string;
  /** A path (relative paths are resolved by the deploying client), `file://` URL or `sha256:<hex>`. */
  readonly image: string;
  readonly scaler: Scaler;
  readonly links: readonly AppLink[];
  /** Named config the actor reads as its own (contract `wasmesh:config`), in merge order. */
  readonly config: readonly string[];
}

/** A capability provider the app runs. */
export interface AppProvider {
  readonly kind: 'provider';
  readonly name: string;
  readonly id: string;
  /** `builtin:<name>`, or a path or `file://` URL of the provider's entry module. */
  readonly image: string;
  /** The contract it serves when known (builtin providers), else null. */
  readonly contract: string | null;
  /** The provider's own named config, in merge order. */
  readonly config: readonly string[];
  /**
   * Where it runs, as the manifest asks; absent (not null: digests of apps that never say stay as
   * they were) when it leaves the choice to the host.
   */
  readonly mode?: ProviderMode;
  readonly scaler: Scaler;
}

/** A capability of another (shared) app this app links to; nothing is run for it. */
export interface AppSharedProvider {
  readonly kind: 'shared';
  readonly name: string;
  /** The app that runs it (must set `wasmesh.dev/shared-providers: "true"`). */
  readonly app: string;
  /** Its component name in that app. */
  readonly component: string;
}

/** One component of the app. */
export type AppComponent = AppActor | AppProvider | AppSharedProvider;

/** A validated, normalized app manifest. */
export interface AppManifest {
  readonly name: string;
  readonly version: string;
  /** The `description` annotation, or ''. */
  readonly description: string;
  /** True when other apps may use this app's providers ({@link SHARED_PROVIDERS_ANNOTATION}). */
  readonly sharedProviders: boolean;
  /** Every annotation as given (version and description included). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** In manifest order. */
  readonly components: readonly AppComponent[];
  /** Config the app owns (created, updated and deleted with it), by name. */
  readonly config: readonly OwnedConfig[];
  /** Named config the app uses but does not own: it must exist before the links or providers using it. */
  readonly externalConfig: readonly string[];
  /** `sha256:<hex>` of the normalized content (this object without `digest`): equal digests, equal apps. */
  readonly digest: string;
}

function groups(spread: readonly RawSpread[] | undefined): SpreadGroup[] {
  return (spread ?? [{ name: DEFAULT_SPREAD_NAME }]).map((g) => ({
    name: g.name,
    requirements: { ...(g.requirements ?? {}) },
    weight: g.weight ?? DEFAULT_SPREAD_WEIGHT,
  }));
}

/** The component's scaler trait, or the default (spreadscaler, 1 instance, every host). */
export function scalerOf(traits: readonly RawTrait[] | undefined): Scaler {
  const t = (traits ?? []).find((x) => x.type === 'spreadscaler' || x.type === 'daemonscaler');
  if (t?.type === 'daemonscaler') {
    return { kind: 'daemon', instances: t.properties?.instances ?? 1, spread: groups(t.properties?.spread) };
  }
  if (t?.type === 'spreadscaler') {
    return { kind: 'spread', instances: t.properties.instances, spread: groups(t.properties.spread) };
  }
  return { kind: 'spread', instances: 1, spread: groups(undefined) };
}

/** The id a component gets in the lattice: `properties.id`, else its name. */
export function componentId(c: RawComponent): string {
  return c.properties.id ?? c.name;
}

/** The name of a provider's inline config: `<app>-<component>`. */
export function providerConfigBase(app: string, component: string): string {
  return `${app}-${component}`;
}

/** The name of a link's inline config: `<app>-<component>-<trait index>`. */
export function linkConfigBase(app: string, component: string, traitIndex: number): string {
  return `${app}-${component}-${traitIndex}`;
}

/** True for `type: actor` and its alias `type: component`. */
export function isActor(c: RawComponent): boolean {
  return c.type === 'actor' || c.type === 'component';
}

/** The provider id a link's target resolves to (null for shared, undefined when there is no such capability). */
function targetIdOf(raw: RawManifest, target: string): string | null | undefined {
  const c = raw.spec.components.find((x) => x.name === target);
  if (!c || isActor(c)) return undefined;
  return c.properties.application ? null : componentId(c);
}

/** Builds the model from a manifest that passed the schema and the semantic checks. */
export function normalize(raw: RawManifest): AppManifest {
  const app = raw.metadata.name;
  const owned = new Map<string, OwnedConfig>();
  const external = new Set<string>();
  const use = (r: ReturnType<typeof resolveConfig>): string[] => {
    for (const o of r.owned) owned.set(o.config.name, o.config);
    const ownedNames = new Set(r.owned.map((o) => o.config.name));
    for (const n of r.names) if (!ownedNames.has(n)) external.add(n);
    return r.names;
  };
  const components = raw.spec.components.map((c, ci): AppComponent => {
    const path = ['spec', 'components', ci, 'properties', 'config'];
    if (isActor(c)) {
      const links: AppLink[] = [];
      (c.traits ?? []).forEach((t, ti) => {
        if (t.type !== 'link') return;
        const cfg = resolveConfig(app, linkConfigBase(app, c.name, ti), t.properties.config, [
          ...['spec', 'components', ci, 'traits', ti, 'properties', 'config'],
        ]);
        links.push({
          contract: t.properties.contract,
          name: t.properties.name ?? DEFAULT_LINK_NAME,
          target: t.properties.target,
          targetId: targetIdOf(raw, t.properties.target) ?? null,
          config: use(cfg),
        });
      });
      return {
        kind: 'actor',
        name: c.name,
        id: componentId(c),
        image: c.properties.image!,
        scaler: scalerOf(c.traits),
        links,
        config: use(resolveConfig(app, providerConfigBase(app, c.name), c.properties.config, path)),
      };
    }
    if (c.properties.application) {
      return {
        kind: 'shared',
        name: c.name,
        app: c.properties.application.name,
        component: c.properties.application.component,
      };
    }
    const image = c.properties.image!;
    const builtin = /^builtin:(.+)$/.exec(image)?.[1];
    return {
      kind: 'provider',
      name: c.name,
      id: componentId(c),
      image,
      contract: (builtin && BUILTIN_CONTRACTS[builtin]) || null,
      config: use(resolveConfig(app, providerConfigBase(app, c.name), c.properties.config, path)),
      ...(c.properties.mode !== undefined && { mode: c.properties.mode }),
      scaler: scalerOf(c.traits),
    };
  });
  for (const n of owned.keys()) external.delete(n);
  const annotations = { ...raw.metadata.annotations };
  const body: Omit<AppManifest, 'digest'> = {
    name: app,
    version: annotations.version,
    description: annotations.description ?? '',
    sharedProviders: annotations[SHARED_PROVIDERS_ANNOTATION] === 'true',
    annotations,
    labels: { ...(raw.metadata.labels ?? {}) },
    components,
    config: [...owned.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    externalConfig: [...external].sort(),
  };
  return { ...body, digest: digestOfApp(body) };
}

/** JSON with object keys sorted at every depth: the same content always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** `sha256:<hex>` of an app's canonical JSON, ignoring any `digest` field. */
export function digestOfApp(app: Omit<AppManifest, 'digest'> | AppManifest): string {
  const { digest: _ignored, ...body } = app as AppManifest;
  return `sha256:${createHash('sha256').update(canonicalJson(body)).digest('hex')}`;
}
