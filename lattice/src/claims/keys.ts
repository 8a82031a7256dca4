/**
 * nkeys of signed actors: issuers are account keys (`A…`, seeds `SA…`) and actors are module keys
 * (`M…`, seeds `SM…`), as in wasmCloud. `@nats-io/nkeys` encodes them (base32, CRC-16) and
 * node:crypto does the ed25519 (see ../nkeys.ts); the codec only lacks the module prefix (byte
 * 12 << 3 of the Rust `nkeys` crate), which it encodes all the same.
 */
import { fromPublic, Prefix, type KeyPair } from '@nats-io/nkeys';
// The codec is internal to @nats-io/nkeys (no `exports` map, so the path is reachable); it is the
// library's own encoder, used here only for the module prefix it does not list.
import { Codec } from '@nats-io/nkeys/lib/codec.js';
import { WasmeshError } from '../errors.js';
import { createNkey, nkeyFromSeed } from '../nkeys.js';

/** The nkey prefix byte of modules (`M…`), as defined by the Rust nkeys crate wasmCloud uses. */
const MODULE_PREFIX = 12 << 3;

/** The kinds of keys `wasmesh keys gen` makes. */
export type KeyKind = 'account' | 'module';

/** A generated or loaded key: its public key and its seed (a secret). */
export interface NamedKey {
  kind: KeyKind;
  publicKey: string;
  seed: string;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function badKey(what: string, value: string, expected: string, cause?: unknown): WasmeshError {
  // Never echo a seed: its first two characters (the kind) are enough to say what it is.
  const shown = value.length > 12 ? `${value.slice(0, 2)}…` : value;
  return new WasmeshError('WASMESH_ERR_BAD_REQUEST', `invalid ${what} "${shown}": expected ${expected}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { what },
  });
}

/** `kp` as a named key of `kind` (the pair is cleared: only the returned text remains). */
function namedKey(kind: KeyKind, kp: KeyPair): NamedKey {
  try {
    return { kind, publicKey: kp.getPublicKey(), seed: text(kp.getSeed()) };
  } finally {
    kp.clear();
  }
}

/** Generates a new key of `kind`. */
export function generateKey(kind: KeyKind): NamedKey {
  return namedKey(kind, createNkey(kind === 'account' ? Prefix.Account : MODULE_PREFIX));
}

/** The key pair of `seed`, whose public keys must start with `letter`; `expected` says what in errors. */
function seedOfKind(seed: string, what: string, letter: 'A' | 'M', expected: string): KeyPair {
  let kp: KeyPair;
  try {
    kp = nkeyFromSeed(seed.trim());
  } catch (err) {
    throw badKey(what, seed, expected, err);
  }
  if (kp.getPublicKey().startsWith(letter)) return kp;
  kp.clear();
  throw badKey(what, seed, `${expected}, not another kind`);
}

/** The signing key pair of an account seed (`SA…`); `what` names the input in errors. */
export function accountKeyPair(seed: string, what = 'issuer seed'): KeyPair {
  return seedOfKind(seed, what, 'A', 'an nkey account seed (SA…)');
}

/** The module key of a module seed (`SM…`). */
export function moduleKeyFromSeed(seed: string, what = 'module seed'): NamedKey {
  return namedKey('module', seedOfKind(seed, what, 'M', 'an nkey module seed (SM…)'));
}

/** True when `key` is a well-formed account public key (`A…`, checksum valid). */
export function isAccountKey(key: string): boolean {
  try {
    return key.startsWith('A') && fromPublic(key).getPublicKey() === key;
  } catch {
    return false;
  }
}

/** True when `key` is a well-formed module public key (`M…`, checksum valid). */
export function isModuleKey(key: string): boolean {
  try {
    const raw = Codec._decode(bytes(key));
    return raw.length === 33 && raw[0] === MODULE_PREFIX;
  } catch {
    return false;
  }
}

/** Checks an account public key (a trusted issuer); `what` names the input in errors. */
export function checkAccountKey(key: string, what = 'issuer key'): string {
  if (!isAccountKey(key)) {
    throw new WasmeshError('WASMESH_ERR_CONFIG', `invalid ${what} "${key}": expected an nkey account public key (A…)`, {
      details: { what, key },
    });
  }
  return key;
}

/**
 * Reads a seed from the text of a seed file: the first line that looks like an nkey seed (files
 * written by `wasmesh keys gen --out`, `nk` and `wash keys gen` all qualify).
 */
export function seedFromText(textContent: string, file: string): string {
  const seed = textContent
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => /^S[A-Z2-7]{50,}$/.test(l));
  if (!seed) {
    throw new WasmeshError('WASMESH_ERR_USAGE', `no nkey seed (a line starting with S…) in "${file}"`, {
      details: { file },
    });
  }
  return seed;
}
