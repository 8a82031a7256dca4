/**
 * The checks a JSON Schema cannot express, run on a manifest that passed the schema (they need its
 * shape). Each problem names the path at fault and, when another place is involved, that one too:
 *
 * - component names unique; resolved ids (actors and providers share the invocation subject space)
 *   unique;
 * - images: an actor's is a path, `file://` URL, `sha256:<64 hex>` or `oci://…` (the lattice's
 *   `parseArtifactRef`); a capability's is `builtin:<name>`, a path or a `file://` URL; a shared
 *   capability (`application`) has no image, id, config, mode or traits;
 * - links only on actors, to a capability of this manifest (not itself, not an actor), one per
 *   (contract, link name), with the contract a builtin provider actually serves;
 * - at most one scaler per component; spread names unique; spreadscaler weights that can place the
 *   instances (a positive sum when instances > 0);
 * - owned config names that are valid and not claimed twice with different values.
 */
import { checkToken, DEFAULT_LINK_NAME, parseArtifactRef } from '@wasmesh/lattice';
import type { ManifestIssue } from '../errors.js';
import { resolveConfig } from './config.js';
import { BUILTIN_CONTRACTS, componentId, isActor, linkConfigBase, providerConfigBase } from './model.js';
import { formatPath, type PathSegment } from './paths.js';
import type { RawComponent, RawManifest, RawSpread } from './raw.js';

const BUILTIN = /^builtin:([a-z][a-z0-9-]{0,62})$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Every semantic problem of `raw` (empty when there is none). */
export function checkSemantics(raw: RawManifest): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const report = (path: readonly PathSegment[], message: string): void => {
    const p = formatPath(path);
    issues.push({ path: p, message: `${p}: ${message}` });
  };
  const app = raw.metadata.name;
  const components = raw.spec.components;
  const comp = (i: number): PathSegment[] => ['spec', 'components', i];

  // Names and ids.
  const byName = new Map<string, number>();
  const byId = new Map<string, number>();
  components.forEach((c, i) => {
    const first = byName.get(c.name);
    if (first !== undefined) {
      report(
        [...comp(i), 'name'],
        `duplicate component name "${c.name}" (also ${formatPath([...comp(first), 'name'])})`,
      );
    } else byName.set(c.name, i);
    if (!isActor(c) && c.properties.application) return;
    if (first !== undefined && c.properties.id === undefined) return; // the same problem, said once
    const id = componentId(c);
    const other = byId.get(id);
    if (other !== undefined) {
      const at = c.properties.id === undefined ? [...comp(i), 'name'] : [...comp(i), 'properties', 'id'];
      report(
        at,
        `duplicate id "${id}": components "${components[other]!.name}" and "${c.name}" would both run as "${id}" (set properties.id on one)`,
      );
    } else byId.set(id, i);
  });

  components.forEach((c, i) => {
    checkImage(c, comp(i), report);
    checkShared(raw, c, comp(i), report);
    checkScalers(c, comp(i), report);
    checkLinks(components, c, comp(i), report);
  });
  checkOwnedConfig(app, components, report);
  return issues;
}

type Report = (path: readonly PathSegment[], message: string) => void;

function checkImage(c: RawComponent, at: PathSegment[], report: Report): void {
  const image = c.properties.image;
  const path = [...at, 'properties', 'image'];
  if (isActor(c)) {
    if (image === undefined) return; // the schema requires it
    if (image.startsWith('builtin:')) {
      report(
        path,
        `"${image}" is a first-party provider; an actor's image is a path, a file:// URL or sha256:<digest> (use type: capability for providers)`,
      );
      return;
    }
    try {
      parseArtifactRef(image);
    } catch (err) {
      report(path, (err as Error).message);
    }
    return;
  }
  if (image === undefined) {
    if (!c.properties.application) {
      report(
        [...at, 'properties'],
        'a capability needs image (builtin:<name> or a provider entry module) or application',
      );
    }
    return;
  }
  if (c.properties.application) {
    report(path, "give either image (run a provider) or application (use a shared app's), not both");
    return;
  }
  if (image.startsWith('builtin:')) {
    if (!BUILTIN.test(image)) {
      report(
        path,
        `invalid provider reference "${image}": builtin:<name> takes a lower-case name, e.g. builtin:keyvalue`,
      );
    }
    return;
  }
  if (image.startsWith('file://')) {
    try {
      parseArtifactRef(image);
    } catch (err) {
      report(path, `invalid provider reference "${image}": ${(err as Error).message}`);
    }
    return;
  }
  if (SCHEME.test(image) && !/^[A-Za-z]:[\\/]/.test(image)) {
    report(
      path,
      `unsupported provider reference "${image}": use builtin:<name> or the path or file:// URL of a provider's JavaScript entry module`,
    );
  }
}

function checkShared(raw: RawManifest, c: RawComponent, at: PathSegment[], report: Report): void {
  const shared = c.properties.application;
  if (!shared || isActor(c)) return;
  if (shared.name === raw.metadata.name) {
    report(
      [...at, 'properties', 'application', 'name'],
      `"${shared.name}" is this app; link to component "${shared.component}" directly`,
    );
  }
  for (const field of ['id', 'config', 'mode'] as const) {
    if (c.properties[field] !== undefined) {
      report(
        [...at, 'properties', field],
        `a shared capability (application) has no ${field}: app "${shared.name}" runs it`,
      );
    }
  }
  (c.traits ?? []).forEach((_t, ti) => {
    report(
      [...at, 'traits', ti],
      `a shared capability (application) has no traits: app "${shared.name}" runs and scales it`,
    );
  });
}

function checkSpreadNames(spread: readonly RawSpread[] | undefined, at: PathSegment[], report: Report): void {
  const seen = new Map<string, number>();
  (spread ?? []).forEach((s, i) => {
    const first = seen.get(s.name);
    if (first !== undefined) report([...at, i, 'name'], `duplicate spread name "${s.name}" (also spread[${first}])`);
    else seen.set(s.name, i);
  });
}

function checkScalers(c: RawComponent, at: PathSegment[], report: Report): void {
  if (!isActor(c) && c.properties.application) return;
  const scalers = (c.traits ?? []).map((t, i) => ({ t, i })).filter(({ t }) => t.type !== 'link');
  if (scalers.length > 1) {
    const list = scalers.map(({ t, i }) => `traits[${i}] ${t.type}`).join(', ');
    report(
      [...at, 'traits', scalers[1]!.i],
      `more than one scaler (${list}); a component has one spreadscaler or one daemonscaler`,
    );
  }
  for (const { t, i } of scalers) {
    const path = [...at, 'traits', i, 'properties', 'spread'];
    if (t.type === 'daemonscaler') checkSpreadNames(t.properties?.spread, path, report);
    if (t.type !== 'spreadscaler') continue;
    checkSpreadNames(t.properties.spread, path, report);
    const spread = t.properties.spread;
    if (!spread || t.properties.instances === 0) continue;
    const total = spread.reduce((sum, s) => sum + (s.weight ?? 100), 0);
    if (total === 0) {
      report(
        path,
        `every spread has weight 0, so the ${t.properties.instances} instances cannot be placed; give a spread a positive weight`,
      );
    }
  }
}

function checkLinks(components: readonly RawComponent[], c: RawComponent, at: PathSegment[], report: Report): void {
  const seen = new Map<string, number>();
  (c.traits ?? []).forEach((t, ti) => {
    if (t.type !== 'link') return;
    const path = [...at, 'traits', ti, 'properties'];
    if (!isActor(c)) {
      report([...at, 'traits', ti], `a link belongs on the actor that calls the contract; "${c.name}" is a capability`);
      return;
    }
    const { target, contract } = t.properties;
    const name = t.properties.name ?? DEFAULT_LINK_NAME;
    const key = `${contract}\u0000${name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      report(
        [...at, 'traits', ti],
        `duplicate link: contract ${contract} with link name "${name}" is already linked by traits[${first}]; give one of them another name`,
      );
    } else seen.set(key, ti);
    if (target === c.name) {
      report([...path, 'target'], `a component cannot link to itself ("${target}")`);
      return;
    }
    const dest = components.find((x) => x.name === target);
    if (!dest) {
      const names = components.filter((x) => !isActor(x)).map((x) => x.name);
      report(
        [...path, 'target'],
        `no component named "${target}" in this manifest (capabilities: ${names.length > 0 ? names.join(', ') : 'none'})`,
      );
      return;
    }
    if (isActor(dest)) {
      report([...path, 'target'], `"${target}" is an actor; a link targets a capability`);
      return;
    }
    const builtin = dest.properties.image && BUILTIN.exec(dest.properties.image)?.[1];
    const serves = builtin ? BUILTIN_CONTRACTS[builtin] : undefined;
    if (serves !== undefined && serves !== contract) {
      report([...path, 'contract'], `capability "${target}" (builtin:${builtin}) serves ${serves}, not ${contract}`);
    }
  });
}

function checkOwnedConfig(app: string, components: readonly RawComponent[], report: Report): void {
  const owners = new Map<string, { values: string; path: PathSegment[] }>();
  const claim = (r: ReturnType<typeof resolveConfig>): void => {
    for (const { config, path } of r.owned) {
      try {
        checkToken('config name', config.name);
      } catch (err) {
        report(path, `the owned config's name is not valid: ${(err as Error).message}; use shorter names`);
        continue;
      }
      const values = JSON.stringify(Object.entries(config.values).sort());
      const first = owners.get(config.name);
      if (first && first.values !== values) {
        report(path, `config "${config.name}" is also defined at ${formatPath(first.path)} with other values`);
      } else if (!first) owners.set(config.name, { values, path });
    }
  };
  components.forEach((c, ci) => {
    const at: PathSegment[] = ['spec', 'components', ci];
    claim(resolveConfig(app, providerConfigBase(app, c.name), c.properties.config, [...at, 'properties', 'config']));
    (c.traits ?? []).forEach((t, ti) => {
      if (t.type !== 'link') return;
      const path = [...at, 'traits', ti, 'properties', 'config'];
      claim(resolveConfig(app, linkConfigBase(app, c.name, ti), t.properties.config, path));
    });
  });
}
