/**
 * `@wasmesh/apps/client`: what a client of the app store needs — the manifest (parsing, schema,
 * validation, the normalized model, diffs), the app store and image resolution — without the
 * reconciler. The `wasmesh` CLI imports this entry only, so it never loads the reconciler, which
 * runs in its own process (`wasmesh-reconciler`, bin/wasmesh-reconciler.ts).
 */
export { INVALID_MANIFEST, invalidManifest, type ManifestIssue } from './errors.js';
export { loadManifest, validateManifest, type LoadOptions } from './manifest/load.js';
export {
  parseManifestText,
  MAX_MANIFEST_BYTES,
  MAX_ALIAS_COUNT,
  MAX_NESTING_DEPTH,
  type ParseResult,
} from './manifest/parse.js';
export { checkSchema, manifestSchema, MANIFEST_SCHEMA_URL, AJV_OPTIONS } from './manifest/schema.js';
export { checkSemantics } from './manifest/semantic.js';
export {
  checkStorable,
  storedManifestBytes,
  MAX_INSTANCES,
  MAX_COMPONENTS,
  MAX_DESCRIPTION_LENGTH,
  MAX_STORED_MANIFEST_BYTES,
} from './manifest/limits.js';
export {
  normalize,
  canonicalJson,
  digestOfApp,
  SHARED_PROVIDERS_ANNOTATION,
  DEFAULT_SPREAD_NAME,
  DEFAULT_SPREAD_WEIGHT,
  BUILTIN_CONTRACTS,
  type AppManifest,
  type AppComponent,
  type AppActor,
  type AppProvider,
  type AppSharedProvider,
  type AppLink,
  type Scaler,
  type SpreadGroup,
  type OwnedConfig,
} from './manifest/model.js';
export { diffManifests, type ManifestDiff, type ComponentChange, type ChangeKind } from './manifest/diff.js';
export type { RawManifest } from './manifest/raw.js';
export {
  AppStore,
  claimedIds,
  manifestOf,
  MAX_VERSIONS,
  MAX_RECORD_BYTES,
  type AppState,
  type AppSummary,
} from './store.js';
export { resolveImages, type PushArtifact, type ReadImage } from './images.js';
