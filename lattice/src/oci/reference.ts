/**
 * `oci://REGISTRY/REPO:TAG` and `oci://REGISTRY/REPO@sha256:<hex>` references, parsed and checked
 * with the OCI distribution grammar before any request is made, so a bad reference fails at the edge.
 */
import { WasmeshError } from '../errors.js';

/** The scheme prefix of an OCI reference. */
export const OCI_SCHEME = 'oci://';

/** A parsed OCI reference. */
export interface OciReference {
  /** `host[:port]` (IPv6 in brackets), as written. */
  readonly registry: string;
  /** The repository path, e.g. `wasmesh/echo`. */
  readonly repository: string;
  /** The tag, when the reference names one (`latest` when it names neither tag nor digest). */
  readonly tag?: string;
  /** `sha256:<hex>`, when the reference pins a manifest digest. */
  readonly digest?: string;
  /** The reference as given, for messages. */
  readonly ref: string;
}

/** Repository path components: lowercase alphanumerics joined by `.`, `_`, `__` or dashes (distribution's grammar). */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** A host name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const REGISTRY =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
/** Longest repository name distribution accepts. */
const MAX_REPOSITORY_CHARS = 255;

/** True when `ref` is an `oci://` reference (whatever its validity). */
export function isOciRef(ref: string): boolean {
  return ref.slice(0, OCI_SCHEME.length).toLowerCase() === OCI_SCHEME;
}

/**
 * True when `ref` is a valid `oci://` reference by tag (no digest): the module it names can change
 * while the reference stays the same, so whoever runs it must resolve it again to notice (the app
 * reconciler does on every new app version; see apps/src/reconciler/plan.ts).
 */
export function isOciTagRef(ref: string): boolean {
  if (!isOciRef(ref)) return false;
  try {
    return parseOciRef(ref).digest === undefined;
  } catch {
    return false;
  }
}

/** Parses an `oci://` reference; anything malformed is `WASMESH_ERR_BAD_REQUEST` naming the part. */
export function parseOciRef(ref: string): OciReference {
  const bad = (what: string): WasmeshError =>
    new WasmeshError('WASMESH_ERR_BAD_REQUEST', `invalid OCI reference "${ref.slice(0, 300)}": ${what}`, {
      details: { ref: ref.slice(0, 300) },
    });
  if (!isOciRef(ref)) throw bad(`expected ${OCI_SCHEME}REGISTRY/REPOSITORY:TAG or …@sha256:<hex>`);
  const rest = ref.slice(OCI_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) throw bad('expected a registry and a repository (oci://REGISTRY/REPOSITORY:TAG)');
  const registry = rest.slice(0, slash);
  if (!REGISTRY.test(registry)) throw bad(`"${registry}" is not a registry host[:port]`);
  const port = /:([0-9]+)$/.exec(registry.replace(/^\[[^\]]*\]/, ''))?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw bad(`port ${port} is out of range`);
  let name = rest.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest.slice(0, 80)}" is not a digest (expected sha256:<64 hex digits>)`);
  }
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag.slice(0, 80)}" is not a tag (letters, digits, _ . -, at most 128)`);
  }
  if (name.length > MAX_REPOSITORY_CHARS || !REPOSITORY.test(name)) {
    throw bad(`"${name.slice(0, 80)}" is not a repository (lowercase path components such as wasmesh/echo)`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: name, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}), ref };
}

/** The pinned form `oci://REGISTRY/REPO@sha256:<hex>` of a reference resolved to `digest`. */
export function pinnedRef(ref: OciReference, digest: string): string {
  return `${OCI_SCHEME}${ref.registry}/${ref.repository}@${digest}`;
}

/**
 * True when plain HTTP is used for `registry` without `--insecure`: loopback names only
 * (`localhost`, `127.0.0.0/8`, `::1`), as docker and oras do; everything else speaks HTTPS.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:[0-9]+$/, '');
  return host.toLowerCase() === 'localhost' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host) || host === '::1';
}
