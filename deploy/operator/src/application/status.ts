/**
 * The status of an Application, from the lattice (status flows lattice → Kubernetes):
 *
 * - `Synced`: whether the object's desired state reached the app store — True once this
 *   generation's version is put and deployed; False with the refusal (InvalidManifest,
 *   VersionConflict, DeployRefused, ImageUnavailable, …) otherwise.
 * - `Ready`: the lattice reconciler's verdict on that version — True when it reports it
 *   `deployed`; False with reason `Reconciling` while it works, `ReconcileFailed` with its message
 *   when it fails.
 * - `phase`: Failed when either is failing, Deployed when Ready, Undeployed while the object is
 *   being deleted and its app removed, else Reconciling.
 * - `deployedVersion`: the version the reconciler last reported deployed; `observedGeneration`:
 *   the generation acted on.
 *
 * `lastTransitionTime` changes only when a condition's status changes.
 */
import type { lattice } from '@wasmesh/proto';
import type { ApplicationStatus, Condition, Phase } from './mapping.js';

/** The outcome of syncing the object to the app store. */
export interface SyncOutcome {
  ok: boolean;
  reason: string;
  message: string;
}

/** What the status is computed from. */
export interface StatusInputs {
  generation: number;
  /** The version this generation deploys. */
  version: string;
  /** The lattice app name. */
  app: string;
  sync: SyncOutcome;
  /** The reconciler's status of the app, if it wrote one. */
  reconciler: lattice.IAppStatus | undefined;
  /** The object is being deleted and its app undeployed. */
  deleting?: boolean;
  previous: ApplicationStatus | undefined;
}

function condition(
  type: Condition['type'],
  ok: boolean | undefined,
  reason: string,
  message: string,
  generation: number,
  previous: ApplicationStatus | undefined,
): Condition {
  const status = ok === undefined ? 'Unknown' : ok ? 'True' : 'False';
  const before = previous?.conditions?.find((c) => c.type === type);
  return {
    type,
    status,
    reason,
    message: message.slice(0, 32_768),
    lastTransitionTime: before && before.status === status ? before.lastTransitionTime : new Date().toISOString(),
    observedGeneration: generation,
  };
}

/** The status to write (see the module comment). */
export function applicationStatus(inputs: StatusInputs): ApplicationStatus {
  const { generation, version, app, sync, reconciler, previous } = inputs;
  // `app` names the lattice app in messages; the status holds only the CRD's fields.
  const deployedVersion =
    reconciler?.state === 'deployed' ? (reconciler.version ?? '') : (previous?.deployedVersion ?? '');
  const synced = condition('Synced', sync.ok, sync.reason, sync.message, generation, previous);
  let phase: Phase;
  let ready: Condition;
  if (inputs.deleting) {
    phase = 'Undeployed';
    ready = condition('Ready', false, 'Undeploying', `removing app ${app} from the lattice`, generation, previous);
  } else if (!sync.ok) {
    phase = 'Failed';
    ready = condition('Ready', false, sync.reason, sync.message, generation, previous);
  } else if (reconciler?.version === version && reconciler.state === 'deployed') {
    phase = 'Deployed';
    ready = condition('Ready', true, 'Deployed', `version ${version} is deployed`, generation, previous);
  } else if (reconciler?.version === version && reconciler.state === 'failed') {
    phase = 'Failed';
    ready = condition('Ready', false, 'ReconcileFailed', reconciler.message ?? '', generation, previous);
  } else {
    phase = 'Reconciling';
    const doing = reconciler?.version === version && reconciler.message ? `: ${reconciler.message}` : '';
    ready = condition('Ready', false, 'Reconciling', `deploying version ${version}${doing}`, generation, previous);
  }
  return {
    phase,
    observedGeneration: generation,
    deployedVersion: inputs.deleting ? '' : deployedVersion,
    conditions: [ready, synced],
  };
}

/** True when `a` and `b` say the same (transition times aside): no need to write the status. */
export function sameStatus(a: ApplicationStatus | undefined, b: ApplicationStatus): boolean {
  const gist = (s: ApplicationStatus | undefined): string =>
    JSON.stringify([
      s?.phase,
      s?.observedGeneration,
      s?.deployedVersion ?? '',
      (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
    ]);
  return gist(a) === gist(b);
}
