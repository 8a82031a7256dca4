/**
 * Signed actors: wascap-compatible claims embedded in a module, written by `wasmesh sign` and read
 * by hosts, `wasmesh inspect` and `wasmesh run`.
 *
 * The JWT payload is wascap's `Claims<Component>`: `iss` (account key A…), `sub` (module key M…),
 * `iat`, `jti`, optional `exp`/`nbf` (seconds since the epoch), `wascap_revision` 3, and
 * `wascap` = {`name`, `hash`, `tags`, `rev`, `ver`, `call_alias`, `prov`} plus wasmesh's `caps`:
 * the contract ids the actor may call (pre-1.0 wascap had the same field; wascap 1.x ignores it).
 * A module signed without `caps` (e.g. by wascap 1.x) may call nothing: capabilities are denied by
 * default.
 */
import { randomBytes } from 'node:crypto';
import type { KeyPair } from '@nats-io/nkeys';
import { WasmeshError } from '../errors.js';
import { checkContract } from '../links.js';
import { decodeJwt, encodeJwt, MalformedJwt } from './jwt.js';
import { generateKey, isAccountKey, isModuleKey } from './keys.js';
import {
  customSection,
  isClaimsSection,
  binaryHeader,
  moduleHash,
  readSections,
  encodeModule,
  CLAIMS_SECTIONS,
} from './wasm-sections.js';

/** The wascap revision written into claims (the one that hashes modules as we do). */
export const WASCAP_REVISION = 3;

/** The claims of a signed actor, as wasmesh uses them. */
export interface ActorClaims {
  /** Account public key of the signer (A…). */
  issuer: string;
  /** Module public key: the actor's identity (M…). */
  subject: string;
  /** Token id (`jti`). */
  id: string;
  /** Seconds since the epoch when signed. */
  issuedAt: number;
  /** Seconds since the epoch after which the claims are expired. */
  expires?: number;
  /** Seconds since the epoch before which the claims are not valid. */
  notBefore?: number;
  /** Upper-case hex SHA-256 of the module without its claims sections. */
  hash: string;
  name?: string;
  ver?: string;
  rev?: number;
  tags?: string[];
  callAlias?: string;
  /** Contract ids the actor may call; an absent field means none. */
  caps: string[];
  /** `wascap_revision` of the token. */
  revision?: number;
}

/** What a module's claims are worth. `invalid`: present but unreadable or malformed. */
export type ClaimsVerdict = 'valid' | 'unsigned' | 'invalid' | 'tampered' | 'expired' | 'not-yet-valid';

/** The result of reading a module's claims. */
export interface ClaimsReport {
  verdict: ClaimsVerdict;
  /** Why the verdict is not `valid`, in words; empty when valid. */
  reason: string;
  /** The claims, when they could be decoded (also for tampered, expired, not-yet-valid). */
  claims?: ActorClaims;
  /** The custom section the claims were read from (`wasmcloud_jwt` or legacy `jwt`). */
  section?: string;
}

/** What `signModule` writes besides what it computes. */
export interface SignOptions {
  /** The issuer's account key pair. */
  issuer: KeyPair;
  /** The module public key (M…); a new one is generated when absent. */
  subject?: string;
  name?: string;
  ver?: string;
  rev?: number;
  tags?: string[];
  caps?: string[];
  callAlias?: string;
  /** Seconds since the epoch. */
  expires?: number;
  /** Seconds since the epoch. */
  notBefore?: number;
  /** Seconds since the epoch used as `iat`. @default now */
  issuedAt?: number;
}

/** Seconds since the epoch. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Builds {@link ActorClaims} from a JWT payload, or says what is wrong with it. */
function claimsFromPayload(p: Record<string, unknown>): ActorClaims | string {
  const meta = p.wascap;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return 'the claims have no "wascap" metadata';
  const m = meta as Record<string, unknown>;
  if (typeof p.iss !== 'string' || !isAccountKey(p.iss)) return 'the issuer ("iss") is not an account public key (A…)';
  if (typeof p.sub !== 'string' || !isModuleKey(p.sub)) return 'the subject ("sub") is not a module public key (M…)';
  if (typeof p.jti !== 'string') return 'the claims have no token id ("jti")';
  for (const f of ['iat', 'exp', 'nbf'] as const) {
    if ((f === 'iat' || p[f] !== undefined) && !isInt(p[f], 0, Number.MAX_SAFE_INTEGER))
      return `"${f}" is not a time in seconds`;
  }
  if (typeof m.hash !== 'string' || !/^[0-9A-F]{64}$/.test(m.hash))
    return 'the module hash ("wascap.hash") is missing or malformed';
  if (m.name !== undefined && typeof m.name !== 'string') return '"wascap.name" is not a string';
  if (m.ver !== undefined && typeof m.ver !== 'string') return '"wascap.ver" is not a string';
  if (m.call_alias !== undefined && typeof m.call_alias !== 'string') return '"wascap.call_alias" is not a string';
  if (m.rev !== undefined && !isInt(m.rev, -(2 ** 31), 2 ** 31 - 1)) return '"wascap.rev" is not a 32-bit integer';
  if (m.tags !== undefined && !isStrings(m.tags)) return '"wascap.tags" is not a list of strings';
  if (m.caps !== undefined && m.caps !== null && !isStrings(m.caps)) return '"wascap.caps" is not a list of strings';
  const caps = (m.caps as string[] | null | undefined) ?? [];
  const badCap = caps.find((c) => {
    try {
      checkContract(c);
      return false;
    } catch {
      return true;
    }
  });
  if (badCap !== undefined) return `capability "${badCap}" is not a contract id (namespace:name)`;
  if (p.wascap_revision !== undefined && !isInt(p.wascap_revision, 0, 2 ** 32 - 1))
    return '"wascap_revision" is not a number';
  return {
    issuer: p.iss,
    subject: p.sub,
    id: p.jti,
    issuedAt: p.iat as number,
    ...(p.exp === undefined ? {} : { expires: p.exp as number }),
    ...(p.nbf === undefined ? {} : { notBefore: p.nbf as number }),
    hash: m.hash,
    ...(m.name === undefined ? {} : { name: m.name }),
    ...(m.ver === undefined ? {} : { ver: m.ver }),
    ...(m.rev === undefined ? {} : { rev: m.rev as number }),
    ...(m.tags === undefined ? {} : { tags: m.tags as string[] }),
    ...(m.call_alias === undefined ? {} : { callAlias: m.call_alias }),
    caps: [...caps],
    ...(p.wascap_revision === undefined ? {} : { revision: p.wascap_revision as number }),
  };
}

/** The JWT payload of `claims`, field for field as wascap serializes `Claims<Component>`. */
function payloadOf(c: ActorClaims): Record<string, unknown> {
  return {
    ...(c.expires === undefined ? {} : { exp: c.expires }),
    jti: c.id,
    iat: c.issuedAt,
    iss: c.issuer,
    sub: c.subject,
    ...(c.notBefore === undefined ? {} : { nbf: c.notBefore }),
    wascap: {
      ...(c.name === undefined ? {} : { name: c.name }),
      hash: c.hash,
      ...(c.tags === undefined ? {} : { tags: c.tags }),
      ...(c.rev === undefined ? {} : { rev: c.rev }),
      ...(c.ver === undefined ? {} : { ver: c.ver }),
      ...(c.callAlias === undefined ? {} : { call_alias: c.callAlias }),
      prov: false,
      caps: c.caps,
    },
    wascap_revision: WASCAP_REVISION,
  };
}

/**
 * Reads and verifies the claims of the module (or component) `wasm` at time `now` (seconds). Throws
 * `WASMESH_ERR_INVALID_MODULE` only when `wasm` is neither; anything wrong with the claims is the
 * report's verdict.
 */
export function readClaims(wasm: Uint8Array, now = nowSeconds()): ClaimsReport {
  const sections = readSections(wasm);
  const section = sections.find(isClaimsSection);
  if (!section) return { verdict: 'unsigned', reason: 'the module carries no claims' };
  const where = { section: section.name! };
  let token: string;
  try {
    token = new TextDecoder('utf-8', { fatal: true }).decode(section.data);
  } catch {
    return { verdict: 'invalid', reason: `the "${section.name}" section is not UTF-8 text`, ...where };
  }
  let decoded;
  try {
    decoded = decodeJwt(token);
  } catch (err) {
    if (!(err instanceof MalformedJwt)) throw err;
    return { verdict: 'invalid', reason: `the claims are not a valid JWT: ${err.message}`, ...where };
  }
  const claims = claimsFromPayload(decoded.payload);
  if (typeof claims === 'string') return { verdict: 'invalid', reason: claims, ...where };
  const report = (verdict: ClaimsVerdict, reason: string): ClaimsReport => ({ verdict, reason, claims, ...where });
  if (!decoded.signatureValid)
    return report('tampered', `the claims' signature does not match issuer ${claims.issuer}`);
  const hash = moduleHash(sections, binaryHeader(wasm));
  if (hash !== claims.hash) {
    const old =
      (claims.revision ?? 0) < WASCAP_REVISION
        ? ` (claims of wascap revision ${claims.revision ?? 0} hash modules differently: re-sign it)`
        : '';
    return report(
      'tampered',
      `the module's hash ${hash} is not the one its claims were signed for (${claims.hash})${old}`,
    );
  }
  if (claims.expires !== undefined && claims.expires < now)
    return report('expired', `the claims expired at ${new Date(claims.expires * 1000).toISOString()}`);
  if (claims.notBefore !== undefined && now < claims.notBefore)
    return report(
      'not-yet-valid',
      `the claims are not valid before ${new Date(claims.notBefore * 1000).toISOString()}`,
    );
  return report('valid', '');
}

/**
 * Signs the module (or component) `wasm`: any claims it carries are replaced by new ones, issued
 * by `options.issuer` for its hash. Returns the signed binary and its claims.
 */
export function signModule(wasm: Uint8Array, options: SignOptions): { wasm: Buffer; claims: ActorClaims } {
  const header = binaryHeader(wasm);
  const sections = readSections(wasm).filter((s) => !isClaimsSection(s));
  const issuer = options.issuer.getPublicKey();
  if (!isAccountKey(issuer)) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `the issuer must be an account key (A…), not ${issuer.slice(0, 1)}…`,
    );
  }
  const subject = options.subject ?? generateKey('module').publicKey;
  if (!isModuleKey(subject)) {
    throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `the subject "${subject}" is not a module public key (M…)`);
  }
  const caps = [...new Set((options.caps ?? []).map(checkContract))];
  if (options.rev !== undefined && !isInt(options.rev, -(2 ** 31), 2 ** 31 - 1)) {
    throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `revision ${options.rev} is not a 32-bit integer`);
  }
  const claims: ActorClaims = {
    issuer,
    subject,
    id: randomBytes(16).toString('base64url'),
    issuedAt: options.issuedAt ?? nowSeconds(),
    ...(options.expires === undefined ? {} : { expires: options.expires }),
    ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
    hash: moduleHash(sections, header),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.ver === undefined ? {} : { ver: options.ver }),
    ...(options.rev === undefined ? {} : { rev: options.rev }),
    ...(options.tags === undefined ? {} : { tags: [...options.tags] }),
    ...(options.callAlias === undefined ? {} : { callAlias: options.callAlias }),
    caps,
    revision: WASCAP_REVISION,
  };
  const jwt = encodeJwt(payloadOf(claims), options.issuer);
  const signed = encodeModule([...sections, customSection(CLAIMS_SECTIONS[0]!, Buffer.from(jwt, 'utf8'))], header);
  return { wasm: signed, claims };
}
