/**
 * Native nkeys (node:crypto ed25519) against `@nats-io/nkeys`: the same seed gives the same public
 * key, each side verifies the other's signatures, and the module prefix works like the others.
 */
import { createAccount, createUser, fromPublic, fromSeed, Prefix } from '@nats-io/nkeys';
import { createNkey, nkeyFromSeed, verifyNkeySignature } from '@wasmesh/lattice';

const data = new TextEncoder().encode('nonce-1234');
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('a seed gives the same public key, seed and private key as @nats-io/nkeys', () => {
  for (const reference of [createUser(), createAccount()]) {
    const native = nkeyFromSeed(reference.getSeed());
    expect(native.getPublicKey()).toBe(reference.getPublicKey());
    expect(text(native.getSeed())).toBe(text(reference.getSeed()));
    expect(text(native.getPrivateKey())).toBe(text(reference.getPrivateKey()));
  }
});

test('signatures verify both ways, and a changed message or key does not', () => {
  const native = createNkey(Prefix.User);
  const reference = fromSeed(native.getSeed());
  const sig = native.sign(data);
  expect(Buffer.from(sig)).toEqual(Buffer.from(reference.sign(data))); // ed25519 is deterministic
  expect(fromPublic(native.getPublicKey()).verify(data, sig)).toBe(true);
  expect(native.verify(data, reference.sign(data))).toBe(true);
  expect(verifyNkeySignature(native.getPublicKey(), data, sig)).toBe(true);
  expect(verifyNkeySignature(native.getPublicKey(), new TextEncoder().encode('nonce-1235'), sig)).toBe(false);
  expect(verifyNkeySignature(createNkey(Prefix.User).getPublicKey(), data, sig)).toBe(false);
  expect(verifyNkeySignature('not-a-key', data, sig)).toBe(false);
  expect(verifyNkeySignature(native.getPublicKey(), data, sig.subarray(1))).toBe(false);
});

test('keys of any role, malformed seeds refused, cleared pairs unusable', () => {
  expect(createNkey(Prefix.Server).getPublicKey()).toMatch(/^N[A-Z2-7]{55}$/);
  expect(createNkey(Prefix.Operator).getPublicKey()).toMatch(/^O/);
  expect(text(createNkey(12 << 3).getSeed())).toMatch(/^SM/); // modules, a prefix @nats-io/nkeys lacks
  expect(() => nkeyFromSeed('SUNOTASEED')).toThrow();
  expect(() => nkeyFromSeed(createUser().getPublicKey())).toThrow();
  const kp = createNkey(Prefix.Account);
  kp.clear();
  expect(() => kp.sign(data)).toThrow(/clear/i);
  expect(() => kp.getSeed()).toThrow(/clear/i);
});
