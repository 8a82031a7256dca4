/**
 * What hosts (and `wasmesh run`) do with a module's claims, and what the lattice records of them.
 *
 * - Any host refuses a module whose claims are present but not valid (invalid, tampered, expired,
 *   not yet valid): its claims say something false, so its capabilities cannot be known.
 * - A host with trusted issuers (`--trusted-issuer`, env `WASMESH_TRUSTED_ISSUERS`) also refuses
 *   unsigned modules and modules signed by any other issuer.
 * - A signed actor may call only the contracts in its `caps` (`wasmesh:actor` for other actors);
 *   unsigned actors, which only hosts without a policy run, are not restricted.
 * Refusals are `WASMESH_ERR_UNTRUSTED_ACTOR` and `WASMESH_ERR_CAPABILITY_DENIED` (exit status 7).
 */
import { ContractId } from '@wasmesh/proto';
import { WasmeshError } from '../errors.js';
import type { ActorClaims, ClaimsReport } from './actor-claims.js';
import { checkAccountKey } from './keys.js';

/** Why an actor is refused: a claims verdict, or an issuer the host does not trust. */
export type RefusalReason = Exclude<ClaimsReport['verdict'], 'valid'> | 'untrusted-issuer';

/**
 * Parses trusted issuers from flags and/or `WASMESH_TRUSTED_ISSUERS` (comma separated): every key
 * must be an account public key. Returns them sorted and de-duplicated.
 */
export function parseTrustedIssuers(
  keys: readonly string[] | undefined,
  env = process.env.WASMESH_TRUSTED_ISSUERS,
): string[] {
  const raw = keys && keys.length > 0 ? [...keys] : (env ?? '').split(',');
  const source = keys && keys.length > 0 ? '--trusted-issuer' : 'WASMESH_TRUSTED_ISSUERS';
  const cleaned = raw.map((k) => k.trim()).filter((k) => k !== '');
  return [...new Set(cleaned.map((k) => checkAccountKey(k, `${source} key`)))].sort();
}

/**
 * Admits the module of `actor` whose claims are `report` under `trustedIssuers` (empty: no policy).
 * Returns the claims of a signed module, `undefined` for an unsigned one a host without a policy
 * runs; throws `WASMESH_ERR_UNTRUSTED_ACTOR` naming the reason otherwise.
 */
export function admitActor(
  actor: string,
  report: ClaimsReport,
  trustedIssuers: readonly string[],
): ActorClaims | undefined {
  const refuse = (reason: RefusalReason, why: string): never => {
    throw new WasmeshError('WASMESH_ERR_UNTRUSTED_ACTOR', `actor "${actor}" refused: ${why}`, {
      details: {
        actor,
        reason,
        ...(report.claims ? { issuer: report.claims.issuer, subject: report.claims.subject } : {}),
      },
    });
  };
  if (report.verdict === 'unsigned') {
    if (trustedIssuers.length === 0) return undefined;
    return refuse(
      'unsigned',
      `the module is unsigned, and only actors signed by ${trustedIssuers.join(', ')} are trusted`,
    );
  }
  if (report.verdict !== 'valid' || !report.claims) {
    const label = report.verdict === 'not-yet-valid' ? 'not yet valid' : report.verdict;
    return refuse(report.verdict as RefusalReason, `its claims are ${label}: ${report.reason}`);
  }
  if (trustedIssuers.length > 0 && !trustedIssuers.includes(report.claims.issuer)) {
    return refuse(
      'untrusted-issuer',
      `it is signed by ${report.claims.issuer}, an untrusted issuer (trusted: ${trustedIssuers.join(', ')})`,
    );
  }
  return report.claims;
}

/** The contract id of actor-to-actor calls, and the capability they need (from proto/). */
export const ACTOR_CONTRACT = ContractId.ACTOR;

/**
 * Refuses a call of `contract` by `actor` whose capabilities are `caps` (`undefined`: an unsigned
 * actor, unrestricted) with `WASMESH_ERR_CAPABILITY_DENIED` naming the actor and the contract.
 */
export function checkCapability(actor: string, contract: string, caps: readonly string[] | undefined): void {
  if (caps === undefined || caps.includes(contract)) return;
  throw new WasmeshError(
    'WASMESH_ERR_CAPABILITY_DENIED',
    `actor "${actor}" may not call contract "${contract}": its signed claims grant ${caps.length ? caps.join(', ') : 'no capabilities'} (re-sign it with --cap ${contract})`,
    { details: { actor, contract, caps: [...caps] } },
  );
}

/**
 * The string map a host records in the lattice's claims bucket for a signed actor (keys as in
 * wasmCloud's `claims.get`: issuer, subject, name, version, revision, tags; plus caps, hash and
 * the validity window). Unsigned actors are recorded with an empty map.
 */
export function claimsRecord(c: ActorClaims | undefined): Record<string, string> {
  if (!c) return {};
  const opt = (k: string, v: string | number | undefined): Record<string, string> =>
    v === undefined ? {} : { [k]: String(v) };
  return {
    issuer: c.issuer,
    subject: c.subject,
    hash: c.hash,
    caps: c.caps.join(','),
    issued_at: String(c.issuedAt),
    ...opt('name', c.name),
    ...opt('version', c.ver),
    ...opt('revision', c.rev),
    ...opt('tags', c.tags?.join(',')),
    ...opt('expires', c.expires),
    ...opt('not_before', c.notBefore),
  };
}

/** The capabilities recorded for an actor: `undefined` when it is unsigned (or unknown). */
export function recordedCaps(record: Readonly<Record<string, string>> | null | undefined): string[] | undefined {
  if (!record?.subject) return undefined;
  return (record.caps ?? '').split(',').filter((c) => c !== '');
}
