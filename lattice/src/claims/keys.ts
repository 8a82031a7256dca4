/**
 * nkeys of signed actors: issuers are account keys (`A…`, seeds `SA…`) and actors are module keys
 * (`M…`, seeds `SM…`), as in wasmCloud. `@nats-io/nkeys` does all the cryptography (random seeds,
 * ed25519 via tweetnacl, base32 and CRC-16); it only lacks the module prefix (byte 12 << 3 of the
 * Rust `nkeys` crate), so module keys reuse its codec with that prefix: a module key is the same
 * ed25519 key as the account key of the same seed, printed with another prefix.
 */
import { createAccount, fromPublic, fromSeed, Prefix, type KeyPair } from '@nats-io/nkeys';
// The codec is internal to @nats-io/nkeys (no `exports` map, so the path is reachable); it is the
// library's own encoder, used here only for the module prefix it does not list.
import { Codec } from '@nats-io/nkeys/lib/codec.js';
import { WasmeshError } from '../errors.js';

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

/** The raw 32-byte ed25519 seed of an encoded seed, and the prefix byte of its role. */
function decodeSeed(seed: string): { role: number; raw: Uint8Array } {
  const raw = Codec._decode(bytes(seed));
  const [kind, role] = Codec._decodePrefix(raw);
  if (kind !== Prefix.Seed || raw.length !== 34) throw new Error('not a seed');
  return { role: role!, raw: raw.slice(2) };
}

/** The module key of a raw ed25519 seed. */
function moduleKeyOf(rawSeed: Uint8Array): NamedKey {
  const account = fromSeed(Codec._encode(true, Prefix.Account, rawSeed));
  const rawPublic = Codec.decode(Prefix.Account, bytes(account.getPublicKey()));
  account.clear();
  return {
    kind: 'module',
    publicKey: text(Codec._encode(false, MODULE_PREFIX, rawPublic)),
    seed: text(Codec._encode(true, MODULE_PREFIX, rawSeed)),
  };
}

/** Generates a new key of `kind`. */
export function generateKey(kind: KeyKind): NamedKey {
  const account = createAccount();
  try {
    if (kind === 'account') return { kind, publicKey: account.getPublicKey(), seed: text(account.getSeed()) };
    return moduleKeyOf(decodeSeed(text(account.getSeed())).raw);
  } finally {
    account.clear();
  }
}

/** The signing key pair of an account seed (`SA…`); `what` names the input in errors. */
export function accountKeyPair(seed: string, what = 'issuer seed'): KeyPair {
  let kp: KeyPair;
  try {
    kp = fromSeed(bytes(seed.trim()));
  } catch (err) {
    throw badKey(what, seed, 'an nkey account seed (SA…)', err);
  }
  if (!kp.getPublicKey().startsWith('A')) throw badKey(what, seed, 'an nkey account seed (SA…), not another kind');
  return kp;
}

/** The module key of a module seed (`SM…`). */
export function moduleKeyFromSeed(seed: string, what = 'module seed'): NamedKey {
  let decoded: { role: number; raw: Uint8Array };
  try {
    decoded = decodeSeed(seed.trim());
  } catch (err) {
    throw badKey(what, seed, 'an nkey module seed (SM…)', err);
  }
  if (decoded.role !== MODULE_PREFIX) throw badKey(what, seed, 'an nkey module seed (SM…), not another kind');
  return moduleKeyOf(decoded.raw);
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
