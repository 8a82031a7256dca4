/**
 * Config in a manifest → named config, the lattice's only kind. Decisions:
 *
 * - A map (`config: {path: /counter}`) is inline config the app owns. The reconciler creates it as
 *   named config with a deterministic name: `<app>-<component>` for a capability's own config,
 *   `<app>-<component>-<trait index>` for a link's.
 * - A list is merged in order (later keys win, like `mergeConfig`): `{name: x}` is named config that
 *   must already exist (not owned: the app never writes or deletes it); `{properties: {...}}` is owned
 *   inline config named `<base>-<item index>`; `{name: x, properties: {...}}` is owned config named
 *   `<app>-<x>` (the wadm form, scoped by app name so two apps never fight over one name). Two places
 *   may own the same name only with the same values.
 */
import type { PathSegment } from './paths.js';
import type { RawConfig, StringMap } from './raw.js';

/** Config the app owns: the reconciler creates, updates and deletes it. */
export interface OwnedConfig {
  /** The named config's name. */
  readonly name: string;
  /** Its values. */
  readonly values: Readonly<Record<string, string>>;
}

/** One config list, resolved. */
export interface ResolvedConfig {
  /** Named config names in merge order (what a link or provider start carries). */
  readonly names: string[];
  /** The owned entries among them, with the path of the manifest field that defines each. */
  readonly owned: { config: OwnedConfig; path: PathSegment[] }[];
}

/** Resolves `raw` (at `path`) for app `app`; `base` is the name of its unnamed inline config. */
export function resolveConfig(
  app: string,
  base: string,
  raw: RawConfig | undefined,
  path: readonly PathSegment[],
): ResolvedConfig {
  const out: ResolvedConfig = { names: [], owned: [] };
  const own = (name: string, values: StringMap, at: PathSegment[]): void => {
    out.names.push(name);
    out.owned.push({ config: { name, values: { ...values } }, path: at });
  };
  if (raw === undefined) return out;
  if (!Array.isArray(raw)) {
    own(base, raw, [...path]);
    return out;
  }
  raw.forEach((entry, i) => {
    if (entry.properties === undefined) out.names.push(entry.name!);
    else if (entry.name === undefined) own(`${base}-${i}`, entry.properties, [...path, i]);
    else own(`${app}-${entry.name}`, entry.properties, [...path, i]);
  });
  return out;
}
