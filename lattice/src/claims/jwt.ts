/**
 * JWTs as wascap writes them: header `{"typ":"jwt","alg":"Ed25519"}`, base64url segments without
 * padding, and an ed25519 signature by the issuer's nkey over `header.payload`. wascap refuses any
 * other `alg` when it validates a token, so that is the header written; `ed25519-nkey` (the header
 * of NATS's own JWTs, same signature scheme) is accepted when reading.
 */
import type { KeyPair } from '@nats-io/nkeys';
import { verifyNkeySignature } from '../nkeys.js';

/** The header wascap writes and requires. */
const HEADER = Object.freeze({ typ: 'jwt', alg: 'Ed25519' });
/** Algorithms accepted when reading: wascap's, and NATS JWT v2's name of the same scheme. */
const ALGORITHMS: readonly string[] = ['Ed25519', 'ed25519-nkey'];

/** A decoded token: its parsed payload and whether the signature holds for `payload.iss`. */
export interface DecodedJwt {
  payload: Record<string, unknown>;
  signatureValid: boolean;
}

/** Why a token could not be read at all (not a JWT, unknown algorithm, unreadable payload). */
export class MalformedJwt extends Error {}

const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

function fromB64(segment: string, what: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new MalformedJwt(`the ${what} is not base64url`);
  return Buffer.from(segment, 'base64url');
}

function parseJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(fromB64(segment, what).toString('utf8'));
  } catch (err) {
    if (err instanceof MalformedJwt) throw err;
    throw new MalformedJwt(`the ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedJwt(`the ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Signs `payload` with `issuer` (its `iss` must be the issuer's public key). */
export function encodeJwt(payload: Record<string, unknown>, issuer: KeyPair): string {
  const signingInput = `${b64(JSON.stringify(HEADER))}.${b64(JSON.stringify(payload))}`;
  return `${signingInput}.${b64(issuer.sign(Buffer.from(signingInput, 'utf8')))}`;
}

/**
 * Decodes `token` and checks its signature against the public key in its `iss` claim. Throws
 * {@link MalformedJwt} when it cannot be read; a wrong signature is `signatureValid: false`.
 */
export function decodeJwt(token: string): DecodedJwt {
  const segments = token.trim().split('.');
  if (segments.length !== 3) throw new MalformedJwt(`a JWT has 3 segments, this one has ${segments.length}`);
  const [head, body, sig] = segments as [string, string, string];
  const header = parseJson(head, 'JWT header');
  if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg)) {
    throw new MalformedJwt(`unsupported JWT algorithm ${JSON.stringify(header.alg)} (expected Ed25519)`);
  }
  const payload = parseJson(body, 'JWT payload');
  const signature = fromB64(sig, 'JWT signature');
  const signatureValid =
    typeof payload.iss === 'string' &&
    verifyNkeySignature(payload.iss, Buffer.from(`${head}.${body}`, 'utf8'), signature);
  return { payload, signatureValid };
}
