/**
 * NATS nkeys whose ed25519 runs in node:crypto (OpenSSL) instead of `@nats-io/nkeys`' tweetnacl.
 *
 * Why: tweetnacl is pure JavaScript. A signature costs milliseconds in plain Node, and about
 * thirty times more inside a `vm` context (jest runs every test file in one; global lookups there go
 * through interceptors): a test process issuing credentials and connecting three clients at once
 * spent 7.5 s in tweetnacl and its NATS connects timed out. Every process signs on each connect
 * (the server's nonce) and an authority signs each JWT it issues, so native signing is worth having
 * everywhere. The encodings (base32 prefixes, CRC-16) stay `@nats-io/nkeys`' own codec; only the
 * curve arithmetic moves. The key pairs implement its `KeyPair`, so `@nats-io/jwt` signs with them.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { NKeysError, NKeysErrorCode, Prefix, type KeyPair } from '@nats-io/nkeys';
// The codec is internal to @nats-io/nkeys (no `exports` map, so the path is reachable).
import { Codec } from '@nats-io/nkeys/lib/codec.js';
import type { ConnectionOptions } from '@nats-io/transport-node';

/** What NATS clients call to answer the server's nonce. */
type Authenticator = NonNullable<ConnectionOptions['authenticator']>;

/** DER prefixes that wrap a raw 32-byte ed25519 seed (PKCS#8) or public key (SPKI), RFC 8410. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** An nkey pair (any role, including prefixes `@nats-io/nkeys` does not list) signing natively. */
class NativeKeyPair implements KeyPair {
  #seed: Uint8Array | undefined;
  readonly #rawPublic: Uint8Array;
  readonly #publicKey: string;
  #private: KeyObject | undefined;

  constructor(seed: Uint8Array) {
    const raw = Codec._decode(seed);
    const [kind, role] = Codec._decodePrefix(raw);
    if (kind !== Prefix.Seed || raw.length !== 34 || role === undefined) {
      throw new NKeysError(NKeysErrorCode.InvalidSeed);
    }
    this.#seed = seed.slice();
    this.#private = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519, raw.subarray(2)]),
      format: 'der',
      type: 'pkcs8',
    });
    this.#rawPublic = new Uint8Array(
      createPublicKey(this.#private).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length),
    );
    this.#publicKey = text(Codec._encode(false, role, this.#rawPublic));
  }

  #key(): KeyObject {
    if (!this.#private) throw new NKeysError(NKeysErrorCode.ClearedPair);
    return this.#private;
  }

  getPublicKey(): string {
    return this.#publicKey;
  }

  getPrivateKey(): Uint8Array {
    const raw = Codec._decode(this.getSeed()).subarray(2);
    return Codec.encode(Prefix.Private, Buffer.concat([raw, this.#rawPublic]));
  }

  getSeed(): Uint8Array {
    if (!this.#seed) throw new NKeysError(NKeysErrorCode.ClearedPair);
    return this.#seed.slice();
  }

  sign(input: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, input, this.#key()));
  }

  verify(input: Uint8Array, sig: Uint8Array): boolean {
    this.#key();
    return verifyWithRawKey(this.#rawPublic, input, sig);
  }

  clear(): void {
    this.#seed?.fill(0);
    this.#seed = undefined;
    this.#private = undefined;
  }

  seal(): Uint8Array {
    throw new NKeysError(NKeysErrorCode.InvalidNKeyOperation);
  }

  open(): Uint8Array | null {
    throw new NKeysError(NKeysErrorCode.InvalidNKeyOperation);
  }
}

function verifyWithRawKey(rawPublic: Uint8Array, input: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, rawPublic]), format: 'der', type: 'spki' });
  return verify(null, input, key, sig);
}

/** The key pair of an encoded seed (`S…`, text or bytes); throws `NKeysError` when it is not one. */
export function nkeyFromSeed(seed: string | Uint8Array): KeyPair {
  return new NativeKeyPair(typeof seed === 'string' ? bytes(seed) : seed);
}

/** A new random key pair of `role` (a `Prefix`, or another role byte such as the module prefix). */
export function createNkey(role: number): KeyPair {
  return new NativeKeyPair(Codec._encode(true, role, randomBytes(32)));
}

/**
 * Whether `sig` is `publicKey`'s ed25519 signature of `input`. False for a malformed key or
 * signature, so a caller checking a token never has to tell the two apart.
 */
export function verifyNkeySignature(publicKey: string, input: Uint8Array, sig: Uint8Array): boolean {
  try {
    const raw = Codec._decode(bytes(publicKey));
    if (raw.length !== 33) return false;
    return verifyWithRawKey(raw.subarray(1), input, sig);
  } catch {
    return false;
  }
}

/**
 * The NATS authenticator of a user JWT and its seed: what `credsAuthenticator` answers (the JWT, the
 * public key and the nonce's signature in standard base64), signed natively with a key decoded once.
 */
export function jwtNkeyAuthenticator(jwt: string, seed: string): Authenticator {
  const user = nkeyFromSeed(seed);
  return (nonce?: string) => ({
    jwt,
    nkey: user.getPublicKey(),
    sig: nonce ? Buffer.from(user.sign(bytes(nonce))).toString('base64') : '',
  });
}
