/**
 * What changed between two versions of an app, per component, so an upgrade touches only what
 * differs (wadm#159: config-only changes went unnoticed). Components are matched by name. An id
 * change is a replacement (remove + add): the lattice knows the component by id.
 */
import { canonicalJson, type AppComponent, type AppManifest } from './model.js';

/** An aspect of a component that can change in place. */
export type ChangeKind = 'image' | 'config' | 'mode' | 'scale' | 'links';

/** One component present in both versions with something different. */
export interface ComponentChange {
  readonly name: string;
  /** What differs (in this order): image, config (provider config or owned config values it uses), mode (providers), scale, links. */
  readonly changes: readonly ChangeKind[];
  readonly before: AppComponent;
  readonly after: AppComponent;
}

/** The difference between two app versions. */
export interface ManifestDiff {
  /** Components only in the new version (or whose id or kind changed). */
  readonly added: readonly AppComponent[];
  /** Components only in the old version (or whose id or kind changed). */
  readonly removed: readonly AppComponent[];
  /** Components in both with changes. */
  readonly changed: readonly ComponentChange[];
  /** Names of components in both, unchanged. */
  readonly unchanged: readonly string[];
  /** Owned config whose values changed, was added or removed, by name. */
  readonly config: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
  };
  /** True when nothing but metadata (version, annotations, labels) differs. */
  readonly empty: boolean;
}

const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

function identity(c: AppComponent): string {
  return c.kind === 'shared' ? `shared:${c.app}/${c.component}` : `${c.kind}:${c.id}`;
}

/** Config names a component uses (its own and its links'). */
function configNames(c: AppComponent): string[] {
  if (c.kind === 'provider') return [...c.config];
  if (c.kind === 'actor') return [...c.config, ...c.links.flatMap((l) => l.config)];
  return [];
}

/** Compares two versions of one app: which components to add, remove, or change in place and how. */
export function diffManifests(before: AppManifest, after: AppManifest): ManifestDiff {
  const oldConfig = new Map(before.config.map((c) => [c.name, c.values]));
  const newConfig = new Map(after.config.map((c) => [c.name, c.values]));
  const configChanged = [...newConfig.keys()].filter(
    (n) => oldConfig.has(n) && !same(oldConfig.get(n), newConfig.get(n)),
  );
  const changedConfig = new Set(configChanged);
  const oldByName = new Map(before.components.map((c) => [c.name, c]));
  const newNames = new Set(after.components.map((c) => c.name));
  const added: AppComponent[] = [];
  const removed: AppComponent[] = before.components.filter((c) => !newNames.has(c.name));
  const changed: ComponentChange[] = [];
  const unchanged: string[] = [];
  for (const c of after.components) {
    const old = oldByName.get(c.name);
    if (!old) {
      added.push(c);
      continue;
    }
    if (identity(old) !== identity(c)) {
      removed.push(old);
      added.push(c);
      continue;
    }
    const changes: ComponentChange['changes'][number][] = [];
    if (old.kind !== 'shared' && c.kind !== 'shared' && old.image !== c.image) changes.push('image');
    const providerConfig = old.kind === 'provider' && c.kind === 'provider' && !same(old.config, c.config);
    if (providerConfig || configNames(c).some((n) => changedConfig.has(n))) changes.push('config');
    if (old.kind === 'provider' && c.kind === 'provider' && old.mode !== c.mode) changes.push('mode');
    if (old.kind !== 'shared' && c.kind !== 'shared' && !same(old.scaler, c.scaler)) changes.push('scale');
    if (old.kind === 'actor' && c.kind === 'actor' && !same(old.links, c.links)) changes.push('links');
    if (changes.length > 0) changed.push({ name: c.name, changes, before: old, after: c });
    else unchanged.push(c.name);
  }
  const config = {
    added: [...newConfig.keys()].filter((n) => !oldConfig.has(n)),
    removed: [...oldConfig.keys()].filter((n) => !newConfig.has(n)),
    changed: configChanged,
  };
  const empty =
    added.length === 0 &&
    removed.length === 0 &&
    changed.length === 0 &&
    config.added.length + config.removed.length + config.changed.length === 0 &&
    same(before.externalConfig, after.externalConfig);
  return { added, removed, changed, unchanged, config, empty };
}
