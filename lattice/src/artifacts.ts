/**
 * Actor artifacts: stored in the lattice's JetStream object store under their SHA-256, and
 * referenced as `sha256:<hex>`; pulled from an OCI registry (`oci://REGISTRY/REPO:TAG` or
 * `…@sha256:<hex>`); or read from a file (`file:///abs/path` or a plain path). A stored or pulled
 * artifact is pinned: its bytes are checked against the digest on every fetch.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import { digestOf } from './digest.js';
import { WasmeshError } from './errors.js';
import { isOciRef, parseOciRef, type OciReference } from './oci/reference.js';
import type { Subjects } from './subjects.js';

export { digestOf };

const DIGEST_REF = /^sha256:[0-9a-f]{64}$/;

/** Where an artifact reference points. */
export type ArtifactRef =
  { kind: 'store'; digest: string } | { kind: 'file'; path: string } | { kind: 'oci'; oci: OciReference };

/**
 * Parses `sha256:<hex>`, `oci://REGISTRY/REPO:TAG` (or `…@sha256:<hex>`), `file:///abs/path` or a
 * path; anything else is `WASMESH_ERR_BAD_REQUEST`.
 */
export function parseArtifactRef(ref: string, cwd = process.cwd()): ArtifactRef {
  if (isOciRef(ref)) return { kind: 'oci', oci: parseOciRef(ref) };
  if (ref.startsWith('sha256:')) {
    if (!DIGEST_REF.test(ref)) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `invalid artifact reference "${ref}": expected sha256:<64 hex digits>`,
        {
          details: { ref },
        },
      );
    }
    return { kind: 'store', digest: ref };
  }
  if (ref.startsWith('file://')) {
    try {
      return { kind: 'file', path: fileURLToPath(ref) };
    } catch (err) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `invalid artifact reference "${ref}": ${(err as Error).message}`,
        {
          cause: err,
          details: { ref },
        },
      );
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `unsupported artifact reference "${ref}": use sha256:<hex> (from \`wasmesh push\`), oci://REGISTRY/REPO:TAG or a file path`,
      { details: { ref } },
    );
  }
  if (ref === '') throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'empty artifact reference');
  return { kind: 'file', path: path.resolve(cwd, ref) };
}

/** The lattice's object store (artifacts and large payloads). */
export class LatticeObjects {
  private constructor(private readonly store: ObjectStore) {}

  /** Opens (creating if needed) the object store of this lattice. */
  static async open(nc: NatsConnection, subjects: Subjects): Promise<LatticeObjects> {
    const name = subjects.objectStore();
    try {
      return new LatticeObjects(await new Objm(nc).create(name));
    } catch (err) {
      throw new WasmeshError(
        'WASMESH_ERR_UNAVAILABLE',
        `cannot open the lattice object store ${name}: ${(err as Error).message} (is JetStream enabled on the NATS server?)`,
        { cause: err, details: { store: name } },
      );
    }
  }

  /**
   * Stores an artifact and returns its reference, `sha256:<hex>`. Storing the same bytes twice is a
   * no-op; an object that is missing, deleted (its info survives as a delete marker) or holds other
   * bytes is stored again. Resolves only once the store's own record says the object is there with
   * these bytes, so a reference it returns can be started.
   */
  async pushArtifact(bytes: Uint8Array, description = ''): Promise<string> {
    const digest = digestOf(bytes);
    const name = artifactName(digest);
    if (!holds(await this.store.info(name), digest, bytes.length)) {
      await this.store.putBlob({ name, description }, bytes);
      const stored = await this.store.info(name);
      if (!holds(stored, digest, bytes.length)) {
        throw new WasmeshError(
          'WASMESH_ERR_UNAVAILABLE',
          `artifact ${digest} was written but the lattice object store does not hold it (${stored ? (stored.deleted ? 'deleted' : 'other content') : 'absent'}); push it again`,
          { details: { ref: digest } },
        );
      }
    }
    return digest;
  }

  /** Fetches an artifact by digest, checking the bytes against it. */
  async fetchArtifact(digest: string): Promise<Uint8Array> {
    const bytes = await this.store.getBlob(artifactName(digest));
    if (!bytes) {
      throw new WasmeshError(
        'WASMESH_ERR_NOT_FOUND',
        `artifact ${digest} is not in the lattice (push it with \`wasmesh push\`)`,
        {
          details: { ref: digest },
        },
      );
    }
    const actual = digestOf(bytes);
    if (actual !== digest) {
      throw new WasmeshError(
        'WASMESH_ERR_DIGEST_MISMATCH',
        `artifact ${digest} has the wrong content: its bytes hash to ${actual}`,
        {
          details: { ref: digest, actual },
        },
      );
    }
    return bytes;
  }

  /** Stores the large `part` of invocation `invocationId` (deleted by its reader); returns the object's name. */
  async putPayload(invocationId: string, part: PayloadPart, bytes: Uint8Array): Promise<string> {
    const name = payloadObjectName(invocationId, part);
    await this.store.putBlob({ name }, bytes);
    return name;
  }

  /**
   * Reads and deletes the large `part` of invocation `invocationId`. It addresses payload objects
   * only, by construction: no invocation can read or delete an artifact through it.
   */
  async takePayload(invocationId: string, part: PayloadPart): Promise<Uint8Array> {
    const name = payloadObjectName(invocationId, part);
    const bytes = await this.store.getBlob(name);
    if (!bytes)
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `payload object ${name} is missing`, { details: { name } });
    await this.store.delete(name).catch(() => undefined);
    return bytes;
  }

  /** Raw access for tests and tools. */
  get raw(): ObjectStore {
    return this.store;
  }
}

/** The object-store name of an artifact. */
export function artifactName(digest: string): string {
  return `artifacts/${digest.replace(':', '-')}`;
}

/** How the object store spells the digest of an object's content. */
const STORE_DIGEST_PREFIX = 'SHA-256=';

/**
 * True when `info` describes a live object with the content of `digest` (`sha256:<hex>`): the
 * store's own SHA-256 of what it holds (`SHA-256=<base64url>`) and size agree.
 */
function holds(info: ObjectInfo | null, digest: string, size: number): boolean {
  if (!info || info.deleted || info.size !== size || !info.digest.startsWith(STORE_DIGEST_PREFIX)) return false;
  const stored = Buffer.from(info.digest.slice(STORE_DIGEST_PREFIX.length), 'base64url').toString('hex');
  return `sha256:${stored}` === digest;
}

/** Which half of an invocation a payload object carries. */
export type PayloadPart = 'request' | 'response';

/** What an invocation id must look like to name payload objects (`invoke` uses UUIDs). */
const INVOCATION_ID = /^[0-9A-Za-z-]{1,64}$/;

/**
 * The object-store name of the large request or response of an invocation:
 * `payloads/<invocationId>/<part>`, apart from artifacts. Payload names are derived from the
 * invocation, never taken from a message, so an invocation can only reach its own payloads.
 * An id that cannot name one is `WASMESH_ERR_BAD_REQUEST`.
 */
export function payloadObjectName(invocationId: string, part: PayloadPart): string {
  if (!INVOCATION_ID.test(invocationId)) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `invocation id "${invocationId.slice(0, 80)}" cannot name a payload object: expected 1-64 letters, digits or dashes`,
      { details: { field: 'id' } },
    );
  }
  return `payloads/${invocationId}/${part}`;
}

/**
 * Reads the bytes an artifact reference points at: the lattice store via `objects`, a registry via
 * `pullOci` (a host passes its registry options and cache), or a file through `readFile`, which
 * decides what may be read (a host passes its file jail), so this package never opens a file a
 * request names.
 */
export async function loadArtifact(
  ref: string,
  objects: () => Promise<LatticeObjects>,
  readFile: (file: string) => Promise<Uint8Array>,
  pullOci: (ref: string) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const parsed = parseArtifactRef(ref);
  switch (parsed.kind) {
    case 'store':
      return (await objects()).fetchArtifact(parsed.digest);
    case 'oci':
      return pullOci(ref);
    case 'file':
      return readFile(parsed.path);
  }
}
