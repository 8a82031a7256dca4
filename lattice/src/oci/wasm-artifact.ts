/**
 * Wasm modules as OCI artifacts, in the format wasmCloud, wkg and oras use: an OCI image manifest
 * (`application/vnd.oci.image.manifest.v1+json`) with a config of media type
 * `application/vnd.wasm.config.v0+json` and one layer `application/wasm` holding the module.
 * Pulls verify the manifest and the layer against their digests and cap their sizes; a pull through
 * an {@link OciCache} reuses modules already on disk, keyed by manifest digest.
 */
import { WasmeshError } from '../errors.js';
import { DEFAULT_MAX_MODULE_BYTES } from '../file-jail.js';
import { MAX_TIMER_MS } from '../rpc.js';
import type { OciCache } from './cache.js';
import { parseOciRef, pinnedRef, type OciReference } from './reference.js';
import { digestOf } from '../digest.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';

/** The OCI image manifest media type. */
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** The Wasm config media type (CNCF TAG Runtime's Wasm OCI artifact layout). */
export const WASM_CONFIG_MEDIA_TYPE = 'application/vnd.wasm.config.v0+json';
/** The Wasm layer media type. */
export const WASM_LAYER_MEDIA_TYPE = 'application/wasm';
/**
 * Layer media types accepted on pull: the standard one, and the older wasm-to-oci ones that
 * earlier wasmCloud and Krustlet artifacts carry.
 */
const WASM_LAYER_MEDIA_TYPES: readonly string[] = [
  WASM_LAYER_MEDIA_TYPE,
  'application/vnd.wasm.content.layer.v1+wasm',
  'application/vnd.module.wasm.content.layer.v1+wasm',
];
/** Largest manifest read. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Options of a push or pull. */
export interface OciArtifactOptions extends RegistryClientOptions {
  /** Largest module (layer) pulled, in bytes. @default 64 MiB */
  maxModuleBytes?: number;
  /**
   * Deadline of a whole pull (token, manifest and layer requests together), in milliseconds: each
   * request has its own `timeoutMs`, but a registry that answers each one just in time, or trickles
   * a layer, would otherwise hold a start or update for ever. @default {@link DEFAULT_PULL_TIMEOUT_MS}
   */
  pullTimeoutMs?: number;
}

/** Default deadline of a whole pull. */
export const DEFAULT_PULL_TIMEOUT_MS = 60_000;

/** A module pulled from a registry. */
export interface PulledModule {
  /** The module's bytes (verified against the layer digest). */
  bytes: Uint8Array;
  /** The manifest's digest, `sha256:<hex>`. */
  manifestDigest: string;
  /** `oci://REGISTRY/REPO@sha256:<manifest digest>`. */
  pinned: string;
  /** `registry` when the layer was downloaded, `cache` when it was on disk already. */
  source: 'registry' | 'cache';
}

/**
 * Pushes `module` to the `oci://` reference `ref` (config, layer, then the manifest under the tag,
 * or by digest) and returns the pinned reference `oci://REGISTRY/REPO@sha256:<manifest digest>`.
 * The manifest is deterministic: the same module pushed twice has the same digest.
 */
export async function pushWasmArtifact(
  module: Uint8Array,
  ref: string,
  options: OciArtifactOptions = {},
): Promise<{ pinned: string; manifestDigest: string; layerDigest: string; size: number }> {
  const parsed = parseOciRef(ref);
  const client = RegistryClient.for(parsed, options);
  const layerDigest = digestOf(module);
  const config = Buffer.from(JSON.stringify({ architecture: 'wasm', os: 'wasip1', layerDigests: [layerDigest] }));
  const configDigest = digestOf(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: WASM_CONFIG_MEDIA_TYPE, digest: configDigest, size: config.length },
      layers: [{ mediaType: WASM_LAYER_MEDIA_TYPE, digest: layerDigest, size: module.length }],
    }),
  );
  const manifestDigest = digestOf(manifest);
  if (parsed.digest && parsed.digest !== manifestDigest) {
    throw new WasmeshError(
      'WASMESH_ERR_DIGEST_MISMATCH',
      `${ref}: the artifact of this module has the manifest digest ${manifestDigest}, not ${parsed.digest}`,
      { details: { ref, expected: parsed.digest, actual: manifestDigest } },
    );
  }
  await client.pushBlob(config, configDigest);
  await client.pushBlob(module, layerDigest);
  await client.pushManifest(manifest, OCI_MANIFEST_MEDIA_TYPE, parsed.tag ?? manifestDigest);
  return { pinned: pinnedRef(parsed, manifestDigest), manifestDigest, layerDigest, size: module.length };
}

/**
 * Pulls the module the `oci://` reference `ref` names. A tag is resolved on every pull (so a moved
 * tag is seen); with `cache`, a digest reference already cached needs no request at all, and a layer
 * already cached is not downloaded again. The whole pull is bounded by `pullTimeoutMs`: past it,
 * whatever request is in flight is aborted and the pull fails with `WASMESH_ERR_TIMEOUT` naming `ref`.
 */
export async function pullWasmArtifact(
  ref: string,
  options: OciArtifactOptions = {},
  cache?: OciCache,
): Promise<PulledModule> {
  const parsed = parseOciRef(ref);
  if (parsed.digest && cache) {
    const bytes = await cache.module(parsed.digest);
    if (bytes) {
      return { bytes, manifestDigest: parsed.digest, pinned: pinnedRef(parsed, parsed.digest), source: 'cache' };
    }
  }
  const pullTimeoutMs = options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
  if (!Number.isSafeInteger(pullTimeoutMs) || pullTimeoutMs < 1) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `pullTimeoutMs must be a positive integer, got ${pullTimeoutMs}`,
      {
        details: { ref },
      },
    );
  }
  const deadline = AbortSignal.timeout(Math.min(pullTimeoutMs, MAX_TIMER_MS));
  try {
    return await pullFromRegistry(parsed, RegistryClient.for(parsed, { ...options, signal: deadline }), options, cache);
  } catch (err) {
    if (!deadline.aborted) throw err;
    throw new WasmeshError('WASMESH_ERR_TIMEOUT', `${ref}: the pull did not finish within ${pullTimeoutMs} ms`, {
      cause: err,
      details: { ref, timeoutMs: pullTimeoutMs },
    });
  }
}

/** The registry part of {@link pullWasmArtifact}: manifest, then the layer unless it is cached. */
async function pullFromRegistry(
  parsed: OciReference,
  client: RegistryClient,
  options: OciArtifactOptions,
  cache: OciCache | undefined,
): Promise<PulledModule> {
  const maxModuleBytes = options.maxModuleBytes ?? DEFAULT_MAX_MODULE_BYTES;
  const manifest = await client.pullManifest(
    parsed.digest ?? parsed.tag!,
    [OCI_MANIFEST_MEDIA_TYPE],
    MAX_MANIFEST_BYTES,
  );
  const layer = wasmLayer(parsed, manifest.bytes, manifest.mediaType, maxModuleBytes);
  const cached = await cache?.layer(layer.digest);
  if (cached) {
    await cache!.remember(manifest.digest, layer.digest).catch(() => undefined);
    return {
      bytes: cached,
      manifestDigest: manifest.digest,
      pinned: pinnedRef(parsed, manifest.digest),
      source: 'cache',
    };
  }
  const bytes = await client.pullBlob(layer.digest, layer.size, maxModuleBytes);
  // A cache that cannot be written only costs a pull next time.
  await cache?.store(manifest.digest, layer.digest, bytes).catch(() => undefined);
  return { bytes, manifestDigest: manifest.digest, pinned: pinnedRef(parsed, manifest.digest), source: 'registry' };
}

/** The Wasm layer of a manifest; anything that is not a Wasm artifact manifest is BAD_REQUEST. */
function wasmLayer(
  ref: OciReference,
  bytes: Uint8Array,
  contentType: string,
  maxModuleBytes: number,
): { digest: string; size: number } {
  const refuse = (why: string): WasmeshError =>
    new WasmeshError('WASMESH_ERR_BAD_REQUEST', `${ref.ref} is not a Wasm OCI artifact: ${why}`, {
      details: { ref: ref.ref },
    });
  let manifest: unknown;
  try {
    manifest = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw refuse('its manifest is not JSON');
  }
  const m = manifest as {
    schemaVersion?: unknown;
    mediaType?: unknown;
    layers?: unknown;
  } | null;
  const mediaType = typeof m?.mediaType === 'string' ? m.mediaType : contentType;
  if (mediaType !== OCI_MANIFEST_MEDIA_TYPE || m?.schemaVersion !== 2) {
    throw refuse(
      `its manifest has the media type "${String(mediaType).slice(0, 100)}", expected ${OCI_MANIFEST_MEDIA_TYPE}`,
    );
  }
  if (!Array.isArray(m.layers)) throw refuse('its manifest has no layers');
  const layers = (m.layers as { mediaType?: unknown; digest?: unknown; size?: unknown }[]).filter(
    (l) => typeof l?.mediaType === 'string' && WASM_LAYER_MEDIA_TYPES.includes(l.mediaType),
  );
  if (layers.length !== 1) {
    const types = (m.layers as { mediaType?: unknown }[]).map((l) => String(l?.mediaType).slice(0, 100));
    throw refuse(
      `expected one layer of media type ${WASM_LAYER_MEDIA_TYPE}, found ${layers.length ? `${layers.length}` : `[${types.join(', ')}]`}`,
    );
  }
  const { digest, size } = layers[0]!;
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest))
    throw refuse('its layer has no sha256 digest');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw refuse('its layer has no valid size');
  if (size > maxModuleBytes) {
    throw new WasmeshError(
      'WASMESH_ERR_TOO_LARGE',
      `${ref.ref}: the module layer (${size} bytes) is larger than the limit of ${maxModuleBytes} bytes`,
      { details: { ref: ref.ref, limit: maxModuleBytes, size } },
    );
  }
  return { digest, size };
}
