/** Content digests as artifacts, OCI registries and caches name them. */
import { createHash } from 'node:crypto';

/** `sha256:<hex>` of `bytes`: the one spelling of a content digest across the lattice and OCI registries. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
