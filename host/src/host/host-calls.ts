/**
 * What a guest's `__host_call` reaches on a lattice host. Contract `wasmesh:actor` calls another
 * actor by id over the bus (`binding` = target actor id, `operation` = its operation), inside the
 * caller's deadline and trace. Other contracts need links to providers, which come later; calling
 * one is an error that names the actor, the contract and the link name.
 */
import { invokeActor, WasmeshError, type LatticeObjects, type Subjects } from '@wasmesh/lattice';
import type { NatsConnection } from '@nats-io/transport-node';
import type { HostCallHandler } from '../runtime/runtime.js';
import type { InvocationContext } from './running-actor.js';

/** The contract id of actor-to-actor calls. */
export const ACTOR_CONTRACT = 'wasmesh:actor';

/** Builds the host-call handler of actors on this host. */
export function hostCallHandler(
  nc: NatsConnection,
  subjects: Subjects,
  objects: () => Promise<LatticeObjects>,
  fallbackTimeoutMs: number,
): HostCallHandler {
  return async ({ binding, namespace, operation, payload, context: ctx }) => {
    const inv = ctx as InvocationContext | undefined;
    const caller = inv?.actorId ?? 'unknown';
    if (namespace !== ACTOR_CONTRACT) {
      throw new WasmeshError(
        'WASMESH_ERR_NO_LINK',
        `actor "${caller}" has no link for contract "${namespace}" (link name "${binding}")`,
        { details: { actor: caller, contract: namespace, link: binding } },
      );
    }
    return invokeActor(nc, subjects, binding, operation, payload, {
      timeoutMs: inv ? Math.max(1, inv.deadlineMs - Date.now()) : fallbackTimeoutMs,
      ...(inv ? { deadlineMs: inv.deadlineMs, parent: inv.trace } : {}),
      source: caller,
      objects,
    });
  };
}
