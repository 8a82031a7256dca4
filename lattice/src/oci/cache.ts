/**
 * The on-disk cache of modules pulled from OCI registries, so a host that restarts does not pull
 * them again: `blobs/sha256/<hex>` holds a module under its layer digest, `manifests/sha256/<hex>`
 * names the layer of a manifest digest. Every read is verified against its digest (a damaged entry
 * is dropped and pulled again); writes are atomic (temp file, then rename).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { digestOf } from '../digest.js';

/** Default cache directory: env WASMESH_OCI_CACHE_DIR, else `~/.cache/wasmesh/oci` (next to the compiled-code cache). */
export function defaultOciCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WASMESH_OCI_CACHE_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'oci');
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The module cache in one directory. */
export class OciCache {
  constructor(
    /** The cache directory (created, mode 0700, on the first write). */
    readonly dir: string = defaultOciCacheDir(),
  ) {}

  /** The module of the manifest `manifestDigest`, if cached and intact. */
  async module(manifestDigest: string): Promise<Uint8Array | undefined> {
    const layer = await this.#read(this.#path('manifests', manifestDigest));
    if (!layer) return undefined;
    return this.layer(Buffer.from(layer).toString('utf8').trim());
  }

  /** The module with the layer digest `layerDigest`, if cached and intact (a damaged copy is removed). */
  async layer(layerDigest: string): Promise<Uint8Array | undefined> {
    if (!DIGEST.test(layerDigest)) return undefined;
    const file = this.#path('blobs', layerDigest);
    const bytes = await this.#read(file);
    if (!bytes) return undefined;
    if (digestOf(bytes) !== layerDigest) {
      await rm(file, { force: true });
      return undefined;
    }
    return bytes;
  }

  /** Caches `bytes` (already verified against `layerDigest`) as the module of `manifestDigest`. */
  async store(manifestDigest: string, layerDigest: string, bytes: Uint8Array): Promise<void> {
    await this.#write(this.#path('blobs', layerDigest), bytes);
    await this.remember(manifestDigest, layerDigest);
  }

  /** Records that the manifest `manifestDigest` has the (cached) layer `layerDigest`. */
  async remember(manifestDigest: string, layerDigest: string): Promise<void> {
    await this.#write(this.#path('manifests', manifestDigest), Buffer.from(layerDigest));
  }

  #path(kind: 'blobs' | 'manifests', digest: string): string {
    const hex = DIGEST.exec(digest)?.[1];
    if (!hex) throw new Error(`not a sha256 digest: ${digest.slice(0, 80)}`);
    return path.join(this.dir, kind, 'sha256', hex);
  }

  async #read(file: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(file);
    } catch {
      return undefined;
    }
  }

  async #write(file: string, bytes: Uint8Array): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, bytes, { mode: 0o600 });
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}
