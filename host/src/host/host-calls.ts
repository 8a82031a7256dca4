/**
 * What a guest's `__host_call` reaches on a lattice host. Contract `wasmesh:actor` calls another
 * actor by id over the bus (`binding` = target actor id, `operation` = its operation). Any other
 * contract goes to the provider the actor is linked to for that contract under link name
 * `binding` (empty = "default"); without such a link the error names the actor, the contract and
 * the link name. Both stay within the caller's deadline and trace.
 */
import { DEFAULT_LINK_NAME, invokeActor, WasmeshError, type LatticeObjects, type Subjects } from '@wasmesh/lattice';
import type { LinkTable } from './link-table.js';
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
  links: () => Promise<LinkTable>,
  fallbackTimeoutMs: number,
): HostCallHandler {
  return async ({ binding, namespace, operation, payload, context: ctx }) => {
    const inv = ctx as InvocationContext | undefined;
    const caller = inv?.actorId ?? 'unknown';
    let target = binding;
    let linkName: string | undefined;
    if (namespace !== ACTOR_CONTRACT) {
      linkName = binding || DEFAULT_LINK_NAME;
      const link = (await links()).find(caller, namespace, linkName);
      if (!link?.targetId) {
        throw new WasmeshError(
          'WASMESH_ERR_NO_LINK',
          `actor "${caller}" has no link for contract "${namespace}" named "${linkName}" (add one with \`wasmesh link put ${caller} <provider-id> ${namespace}${linkName === DEFAULT_LINK_NAME ? '' : ` --name ${linkName}`}\`)`,
          { details: { actor: caller, contract: namespace, link: linkName } },
        );
      }
      target = link.targetId;
    }
    return invokeActor(nc, subjects, target, operation, payload, {
      ...(linkName ? { linkName } : {}),
      timeoutMs: inv ? Math.max(1, inv.deadlineMs - Date.now()) : fallbackTimeoutMs,
      ...(inv ? { deadlineMs: inv.deadlineMs, parent: inv.trace } : {}),
      source: caller,
      objects,
    });
  };
}
