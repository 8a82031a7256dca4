/**
 * `@wasmesh/apps`: wasmesh applications. This part is the app manifest (issue 5): the OAM-shaped
 * format wadm users know, its JSON Schema (`@wasmesh/apps/schema.json`), parsing with limits,
 * validation that reports every problem at once, the normalized model the reconciler consumes and
 * a per-component diff for in-place upgrades. Format reference: apps/README.md.
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
  placeActor,
  placeProvider,
  shareByWeight,
  meets,
  type Placement,
  type PlacementHost,
} from './reconciler/placement.js';
export {
  AppStore,
  claimedIds,
  manifestOf,
  MAX_VERSIONS,
  MAX_RECORD_BYTES,
  type AppState,
  type AppSummary,
} from './store.js';
export { Reconciler, type ReconcilerOptions, type ReconcilerState } from './reconciler/reconciler.js';
export { planApp, isEmptyPlan, APP_ANNOTATION, APP_VERSION_ANNOTATION, type Plan } from './reconciler/plan.js';
export { LatticeView, MISSED_HEARTBEATS } from './reconciler/view.js';
export { resolveImages, type PushArtifact, type ReadImage } from './images.js';
