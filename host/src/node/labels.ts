/**
 * Changes to a running host's labels (`label.put`, `label.del`): users set and remove their own
 * labels, the built-in `hostcore.*` ones stay, and a host keeps at most {@link MAX_LABELS} (they
 * travel in every heartbeat). Each change is announced, so schedulers see it before the next beat.
 */
import { WasmeshError } from '@wasmesh/lattice';
import { BUILTIN_LABEL_PREFIX, checkLabelKey, checkLabelValue, MAX_LABELS } from './identity.js';

/** Throws `WASMESH_ERR_BAD_REQUEST` for a built-in key (`what`: "changed" or "removed"). */
function checkUserKey(key: string, what: string): void {
  checkLabelKey(key);
  if (key.startsWith(BUILTIN_LABEL_PREFIX)) {
    throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `label "${key}" is built in and cannot be ${what}`, {
      details: { key },
    });
  }
}

/** The label changes of one host. */
export class LabelEditor {
  constructor(
    /** The host's labels, changed in place. */
    private readonly labels: Record<string, string>,
    private readonly hostId: string,
    /** Announces the labels after a change (`labels_changed`). */
    private readonly changed: () => void,
  ) {}

  /** Sets the user label `key` to `value`; returns the acknowledgement. */
  put(key: string, value: string): string {
    checkUserKey(key, 'changed');
    checkLabelValue(key, value);
    // Own keys only (`in` would see `constructor`, `toString`, … of every object: found by fuzzing).
    if (!Object.hasOwn(this.labels, key) && Object.keys(this.labels).length >= MAX_LABELS) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `host ${this.hostId} already has ${MAX_LABELS} labels, the most it keeps`,
        {
          details: { key, limit: MAX_LABELS },
        },
      );
    }
    this.labels[key] = value;
    this.changed();
    return `label ${key}=${value} set`;
  }

  /** Removes the user label `key`; returns the acknowledgement. */
  delete(key: string): string {
    checkUserKey(key, 'removed');
    if (!Object.hasOwn(this.labels, key)) {
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `host ${this.hostId} has no label "${key}"`, {
        details: { key },
      });
    }
    delete this.labels[key];
    this.changed();
    return `label ${key} removed`;
  }
}
