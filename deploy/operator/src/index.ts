/**
 * `@wasmesh/operator`: the Kubernetes operator. Application custom resources (the OAM format of
 * deploy/apps/*.yaml) are deployed to a lattice through its app store, and their status is
 * written back; HostGroups become Deployments (or DaemonSets) of host pods. A small controller
 * runtime (informers, a keyed work queue with backoff, Lease leader election, Events) carries the
 * controllers. Run it with the `wasmesh-operator` bin.
 */
export { Operator, OPERATOR_NAME, type OperatorOptions } from './operator.js';
export { ApplicationController, FINALIZER, type ApplicationControllerOptions } from './application/controller.js';
export {
  APPLICATION,
  SOURCE_ANNOTATION,
  latticeAppName,
  keyOfApp,
  versionOf,
  manifestOf,
  type ApplicationObject,
  type ApplicationStatus,
  type Condition,
  type Phase,
} from './application/mapping.js';
export { applicationStatus, sameStatus, type SyncOutcome, type StatusInputs } from './application/status.js';
export {
  HostGroupController,
  hostGroupStatus,
  FIELD_MANAGER,
  type HostGroupControllerOptions,
} from './hostgroup/controller.js';
export {
  HOSTGROUP,
  HOSTGROUP_LABEL,
  HOST_LABEL_PREFIX,
  DEFAULT_HOST_IMAGE,
  configMapOf,
  configMapName,
  workloadOf,
  selectorLabels,
  selectorString,
  type HostGroupDefaults,
  type HostGroupObject,
  type HostGroupSpec,
  type HostGroupStatus,
  type HostGroupCondition,
} from './hostgroup/resources.js';
export { Controller, type ControllerOptions, type ReconcileFn, type ReconcileResult } from './runtime/controller.js';
export { WorkQueue, type WorkQueueOptions } from './runtime/queue.js';
export { KindInformer, keyOf, splitKey, type ListFn } from './runtime/informer.js';
export { LeaderElector, type LeaderElectorOptions } from './runtime/leader.js';
export { EventRecorder, type EventType } from './runtime/events.js';
export { loadKubeConfig, inCluster, podNamespace, apiMessage, statusOf } from './runtime/kube.js';
