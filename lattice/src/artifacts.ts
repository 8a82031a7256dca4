/**
 * Actor artifacts: stored in the lattice's JetStream object store under their SHA-256, and
 * referenced as `sha256:<hex>`; or read from a file (`file:///abs/path` or a plain path). A stored
 * artifact is pinned: its bytes are checked against the digest on every fetch.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { WasmeshError } from './errors.js';
import type { Subjects } from './subjects.js';

/** `sha256:<hex>` of `bytes`. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const DIGEST_REF = /^sha256:[0-9a-f]{64}$/;

/** Where an artifact reference points. */
export type ArtifactRef = { kind: 'store'; digest: string } | { kind: 'file'; path: string };

/** Parses `sha256:<hex>`, `file:///abs/path` or a path; anything else is `WASMESH_ERR_BAD_REQUEST`. */
export function parseArtifactRef(ref: string, cwd = process.cwd()): ArtifactRef {
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
      `unsupported artifact reference "${ref}": use sha256:<hex> (from \`wasmesh push\`) or a file path`,
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

  /** Stores an artifact and returns its reference, `sha256:<hex>`. Storing the same bytes twice is a no-op. */
  async pushArtifact(bytes: Uint8Array, description = ''): Promise<string> {
    const digest = digestOf(bytes);
    const name = artifactName(digest);
    if (!(await this.store.info(name))) await this.store.putBlob({ name, description }, bytes);
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

  /** Stores a large payload under `name` (deleted by its reader). */
  async putPayload(name: string, bytes: Uint8Array): Promise<void> {
    await this.store.putBlob({ name }, bytes);
  }

  /** Reads and deletes a large payload. */
  async takePayload(name: string): Promise<Uint8Array> {
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

/**
 * Reads the bytes an artifact reference points at: the lattice store via `objects`, or a file
 * through `readFile`, which decides what may be read (a host passes its file jail), so this
 * package never opens a file a request names.
 */
export async function loadArtifact(
  ref: string,
  objects: () => Promise<LatticeObjects>,
  readFile: (file: string) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const parsed = parseArtifactRef(ref);
  return parsed.kind === 'store' ? (await objects()).fetchArtifact(parsed.digest) : readFile(parsed.path);
}
