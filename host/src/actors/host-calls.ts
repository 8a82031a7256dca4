/**
 * What a guest's `__host_call` reaches on a lattice host. Contract `wasmesh:actor` calls another
 * actor by id over the bus (`binding` = target actor id, `operation` = its operation). Any other
 * contract goes (on the provider's own subject) to the provider the actor is linked to for that
 * contract under link name `binding` (empty = "default"); without such a link the error names the
 * actor, the contract and the link name. Both stay within the caller's deadline and trace, and reach a target served in this
 * host's process directly (local dispatch) while it accepts calls.
 *
 * Contract `wasmesh:config` (the actor's own config, whether it may make an outgoing HTTP request)
 * is answered here, by the host, for every actor (actor-config.ts).
 *
 * A signed actor calls only the contracts its claims grant (`caps`; `wasmesh:actor` for other
 * actors): anything else fails with `WASMESH_ERR_CAPABILITY_DENIED` before any link is looked up,
 * so a link never widens what a signed actor may do.
 */
import {
  ACTOR_CONTRACT,
  checkCapability,
  DEFAULT_LINK_NAME,
  invoke,
  WasmeshError,
  type InvocationTarget,
  type LatticeObjects,
  type LocalDispatch,
  type Subjects,
} from '@wasmesh/lattice';
import type { LinkTable } from './link-table.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { HostCallHandler } from '../runtime/runtime.js';
import type { InvocationContext } from './running-actor.js';
import type { ActorMetrics } from './actor-metrics.js';
import { ACTOR_CONFIG_CONTRACT, answerActorConfig } from './actor-config.js';

/** What the host calls of an actor need from the host. */
export interface HostCallEnv {
  nc: NatsConnection;
  subjects: Subjects;
  objects: () => Promise<LatticeObjects>;
  links: () => Promise<LinkTable>;
  /** The deadline of a call made outside any invocation. */
  fallbackTimeoutMs: number;
  /** The targets served in this process (absent: every call goes over the bus). */
  local: LocalDispatch | undefined;
  /** Where host calls are counted and timed. */
  metrics: ActorMetrics;
  /** The merged values of the named config actor `actorId` runs with (contract `wasmesh:config`). */
  actorConfig: (actorId: string) => Promise<Record<string, string>>;
}

/**
 * Builds the host-call handler of one actor module on this host; `caps` are the contracts its
 * signed claims grant (`undefined` for an unsigned module: unrestricted).
 */
export function hostCallHandler(env: HostCallEnv, caps: readonly string[] | undefined): HostCallHandler {
  const { nc, subjects, objects, links, fallbackTimeoutMs, local, metrics, actorConfig } = env;
  return (call) => {
    const caller = (call.context as InvocationContext | undefined)?.actorId ?? 'unknown';
    return metrics.hostCall(caller, call.namespace, () => hostCall(call, caller));
  };

  async function hostCall(
    { binding, namespace, operation, payload, context: ctx }: Parameters<HostCallHandler>[0],
    caller: string,
  ): Promise<Uint8Array> {
    const inv = ctx as InvocationContext | undefined;
    if (namespace === ACTOR_CONFIG_CONTRACT) {
      return answerActorConfig(caller, operation, payload, () => actorConfig(caller), caps);
    }
    checkCapability(caller, namespace, caps);
    let target: InvocationTarget = { actor: binding };
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
      target = { provider: link.targetId };
    }
    const { payload: out } = await invoke(nc, subjects, target, operation, payload, {
      ...(linkName ? { linkName } : {}),
      timeoutMs: inv ? Math.max(1, inv.deadlineMs - Date.now()) : fallbackTimeoutMs,
      ...(inv ? { deadlineMs: inv.deadlineMs, parent: inv.trace } : {}),
      source: caller,
      objects,
      ...(local ? { local } : {}),
    });
    return out;
  }
}
