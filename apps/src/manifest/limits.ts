/**
 * What the lattice can store and carry, checked on the normalized manifest so `validate` refuses
 * exactly what `put` would fail on. The numbers are mirrored in the JSON Schema
 * (`maximum`, `maxItems`, `maxLength`) so editors flag them too; a test keeps both in agreement.
 *
 * - {@link MAX_INSTANCES}: `instances` ends up in `StartActorRequest.max_concurrent`, a protobuf
 *   `uint32`; a larger number would wrap on the wire (4294967296 → 0, "the host's default").
 * - {@link MAX_COMPONENTS}: the reconciler plans every component on every pass.
 * - {@link MAX_DESCRIPTION_LENGTH}: a description is for people; it is stored twice in the model.
 * - {@link MAX_STORED_MANIFEST_BYTES}: the normalized manifest is stored as JSON in the app's KV
 *   record (apps.proto `AppVersion.manifest_json`), which NATS carries as one message of at most
 *   `max_payload` (1 MiB by default). A quarter of it leaves room for the deployed version next to
 *   a new one, plus the record's framing.
 */
import type { ManifestIssue } from '../errors.js';
import type { AppManifest } from './model.js';

/** Largest `instances` (the protobuf `uint32` maximum). */
export const MAX_INSTANCES = 0xffff_ffff;
/** Most components in one manifest. */
export const MAX_COMPONENTS = 1000;
/** Longest `description` annotation, in characters. */
export const MAX_DESCRIPTION_LENGTH = 4096;
/** Largest normalized manifest, in bytes of its stored JSON (256 KiB). */
export const MAX_STORED_MANIFEST_BYTES = 256 * 1024;

/** The size in bytes of `manifest` as the store writes it. */
export function storedManifestBytes(manifest: AppManifest): number {
  return Buffer.byteLength(JSON.stringify(manifest), 'utf8');
}

/**
 * The problems that keep `manifest` out of the lattice (empty when it fits). Run by validation
 * after normalizing and by `AppStore.put` (images resolved after validation change the size).
 */
export function checkStorable(manifest: AppManifest): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  if (manifest.components.length > MAX_COMPONENTS) {
    issues.push({
      path: 'spec.components',
      message: `spec.components: ${manifest.components.length} components; an app may have at most ${MAX_COMPONENTS} (split it into several apps)`,
    });
  }
  const bytes = storedManifestBytes(manifest);
  if (bytes > MAX_STORED_MANIFEST_BYTES) {
    issues.push({
      path: '',
      message: `the normalized manifest is ${bytes} bytes; the lattice stores at most ${MAX_STORED_MANIFEST_BYTES} (256 KiB) per app version (shorten descriptions and config values, or split the app)`,
    });
  }
  return issues;
}
