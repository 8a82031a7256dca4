/**
 * The trust check every module passes before it is compiled, on a host and in `wasmesh run`:
 * its claims are read and verified, and the policy (lattice/src/claims/policy.ts) admits or
 * refuses it with `WASMESH_ERR_UNTRUSTED_ACTOR`.
 */
import { admitActor, isWasmeshError, readClaims, type ActorClaims, type ClaimsReport } from '@wasmesh/lattice';
import type { ActorRuntime } from '../runtime/runtime.js';

/**
 * The claims of `wasm`. A module the claims reader cannot parse is handed to the runtime first,
 * which names the problem best (magic bytes, offsets, components); if the runtime accepts it,
 * the reader's own error stands, so no module ever skips the policy.
 */
export async function claimsOf(runtime: ActorRuntime, wasm: Uint8Array): Promise<ClaimsReport> {
  try {
    return readClaims(wasm);
  } catch (err) {
    if (isWasmeshError(err, 'WASMESH_ERR_INVALID_MODULE')) await runtime.inspect(wasm);
    throw err;
  }
}

/**
 * Admits the module `wasm` of `actor` under `trustedIssuers` (empty: no policy): its verified
 * claims, or `undefined` for an unsigned module on a host without a policy.
 */
export async function admitModule(
  runtime: ActorRuntime,
  actor: string,
  wasm: Uint8Array,
  trustedIssuers: readonly string[],
): Promise<ActorClaims | undefined> {
  return admitActor(actor, await claimsOf(runtime, wasm), trustedIssuers);
}
