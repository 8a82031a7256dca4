/**
 * `@wasmesh/apps`: wasmesh applications. This part is the app manifest (issue 5): the OAM-shaped
 * format wadm users know, its JSON Schema (`@wasmesh/apps/schema.json`), parsing with limits,
 * validation that reports every problem at once, the normalized model the reconciler consumes and
 * a per-component diff for in-place upgrades. Format reference: apps/README.md. The manifest and
 * the store are also `@wasmesh/apps/client` (client.ts), without the reconciler that follows here.
 */
export * from './client.js';
export {
  placeActor,
  placeProvider,
  shareByWeight,
  meets,
  type Placement,
  type PlacementHost,
} from './reconciler/placement.js';
export { Reconciler, type ReconcilerOptions, type ReconcilerState } from './reconciler/reconciler.js';
export { planApp, isEmptyPlan, APP_ANNOTATION, APP_VERSION_ANNOTATION, type Plan } from './reconciler/plan.js';
export { LatticeView, MISSED_HEARTBEATS } from './reconciler/view.js';
