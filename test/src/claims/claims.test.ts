/**
 * The claims module of @wasmesh/lattice on its own: signing and reading wascap-format claims,
 * every verdict, module keys, the trust policy and capabilities. (End to end through a lattice:
 * test/src/lattice/claims.test.ts; against wasmCloud's wascap crate: wascap-interop.test.ts.)
 */
import { readFileSync } from 'node:fs';
import type { WasmeshError } from '@wasmesh/lattice';
import {
  accountKeyPair,
  admitActor,
  checkCapability,
  claimsRecord,
  generateKey,
  isAccountKey,
  isModuleKey,
  moduleHash,
  moduleKeyFromSeed,
  nowSeconds,
  parseTrustedIssuers,
  readClaims,
  readSections,
  recordedCaps,
  seedFromText,
  signModule,
  stripClaims,
} from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import { customSectionBytes, jwtOf, paddedSizes, replaceJwt, unsignedActor } from './wasm-edit.js';

const issuerKey = generateKey('account');
const issuer = accountKeyPair(issuerKey.seed);
const echo = unsignedActor('echo');
const fib = unsignedActor('fib');

function sign(wasm: Buffer = echo, extra: Partial<Parameters<typeof signModule>[1]> = {}): Buffer {
  return signModule(wasm, { issuer, name: 'echo', caps: ['wasmesh:keyvalue'], ...extra }).wasm;
}

describe('keys', () => {
  test('account and module keys have the nkey prefixes wasmCloud uses, and seeds give back their keys', () => {
    const account = generateKey('account');
    expect(account.publicKey).toMatch(/^A[A-Z2-7]{55}$/);
    expect(account.seed).toMatch(/^SA[A-Z2-7]{56}$/);
    expect(accountKeyPair(account.seed).getPublicKey()).toBe(account.publicKey);
    const mod = generateKey('module');
    expect(mod.publicKey).toMatch(/^M[A-Z2-7]{55}$/);
    expect(mod.seed).toMatch(/^SM[A-Z2-7]{56}$/);
    expect(moduleKeyFromSeed(mod.seed)).toEqual(mod);
    expect(isModuleKey(mod.publicKey) && isAccountKey(account.publicKey)).toBe(true);
    expect(isModuleKey(account.publicKey) || isAccountKey(mod.publicKey)).toBe(false);
    // A changed character breaks the checksum.
    const bad = `${mod.publicKey.slice(0, 10)}${mod.publicKey[10] === 'A' ? 'B' : 'A'}${mod.publicKey.slice(11)}`;
    expect(isModuleKey(bad)).toBe(false);
  });

  test('the wrong kind of seed is refused, naming what was expected and never echoing the seed', () => {
    const mod = generateKey('module');
    const err = (() => {
      try {
        accountKeyPair(mod.seed);
      } catch (e) {
        return e as WasmeshError;
      }
      throw new Error('accepted a module seed as an issuer');
    })();
    expect(err.code).toBe('WASMESH_ERR_BAD_REQUEST');
    expect(err.message).toMatch(/account seed \(SA…\)/);
    expect(err.message).not.toContain(mod.seed);
    expect(() => moduleKeyFromSeed(issuerKey.seed)).toThrow(/module seed \(SM…\)/);
    expect(() => accountKeyPair('not a seed')).toThrow(/account seed/);
  });

  test('seed files: the first seed line counts (comments and blank lines are fine)', () => {
    expect(seedFromText(`# issuer\n\n${issuerKey.seed}\n`, 'f')).toBe(issuerKey.seed);
    expect(() => seedFromText('nothing here\n', 'issuer.nk')).toThrow(/no nkey seed .* in "issuer.nk"/);
  });
});

describe('signing and reading', () => {
  test('a signed module reads back valid with every claim', () => {
    const now = nowSeconds();
    const { wasm, claims } = signModule(echo, {
      issuer,
      name: 'echo',
      ver: '1.2.3',
      rev: 4,
      tags: ['demo'],
      caps: ['wasmesh:keyvalue', 'wasmesh:actor', 'wasmesh:keyvalue'],
      expires: now + 60,
      notBefore: now - 60,
    });
    const report = readClaims(wasm);
    expect(report).toMatchObject({ verdict: 'valid', reason: '', section: 'wasmcloud_jwt' });
    expect(report.claims).toEqual(claims);
    expect(claims).toMatchObject({
      issuer: issuerKey.publicKey,
      subject: expect.stringMatching(/^M/),
      name: 'echo',
      ver: '1.2.3',
      rev: 4,
      tags: ['demo'],
      caps: ['wasmesh:keyvalue', 'wasmesh:actor'],
      expires: now + 60,
      notBefore: now - 60,
      revision: 3,
      hash: moduleHash(readSections(echo)),
    });
    expect(claims.hash).toMatch(/^[0-9A-F]{64}$/);
  });

  test('the hash covers the module without its claims, so re-signing keeps it and the subject can be kept', () => {
    const first = signModule(echo, { issuer, caps: [] });
    const second = signModule(first.wasm, { issuer, subject: first.claims.subject, caps: ['wasmesh:actor'] });
    expect(second.claims.hash).toBe(first.claims.hash);
    expect(second.claims.subject).toBe(first.claims.subject);
    expect(readSections(second.wasm).filter((s) => s.name === 'wasmcloud_jwt')).toHaveLength(1);
    expect(stripClaims(readSections(second.wasm))).toEqual(stripClaims(readSections(echo)));
  });

  test('the hash is of the re-encoded module (canonical section sizes), as wascap computes it', () => {
    const padded = paddedSizes(echo);
    expect(padded.length).toBeGreaterThan(echo.length);
    expect(moduleHash(readSections(padded))).toBe(moduleHash(readSections(echo)));
    expect(readClaims(sign(padded)).verdict).toBe('valid');
  });

  test('an unsigned module or component is unsigned; something that is neither is an error', () => {
    expect(readClaims(echo)).toEqual({ verdict: 'unsigned', reason: 'the module carries no claims' });
    expect(() => readClaims(Buffer.from('#!/bin/sh\n'))).toThrow(
      expect.objectContaining({ code: 'WASMESH_ERR_INVALID_MODULE' }),
    );
    expect(readClaims(Buffer.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))).toMatchObject({ verdict: 'unsigned' });
    expect(() => readClaims(Buffer.from([0, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0]))).toThrow(
      /neither a core module .* nor a component/,
    );
    expect(() => readClaims(echo.subarray(0, echo.length - 3))).toThrow(/runs past the end/);
  });

  test('a component is signed like a module: its claims are a top-level section, its hash its own', () => {
    const component = readFileSync(actorPath('hello-ts'));
    const { wasm: signed, claims } = signModule(component, { issuer, name: 'hello-ts', caps: ['wasmesh:httpserver'] });
    expect([...signed.subarray(4, 8)]).toEqual([0x0d, 0, 1, 0]);
    expect(readClaims(signed)).toMatchObject({ verdict: 'valid', claims: { name: 'hello-ts', hash: claims.hash } });
    expect(claims.hash).not.toBe(moduleHash(readSections(component)));
    // Any change to what it runs breaks the signature's hash.
    const tampered = Buffer.from(signed);
    tampered[signed.length - customSectionBytes('wasmcloud_jwt', jwtOf(signed)).length - 1]! ^= 1;
    expect(readClaims(tampered).verdict).toBe('tampered');
  });

  test('claims in the legacy "jwt" section are read too', () => {
    const token = jwtOf(sign());
    const legacy = Buffer.concat([echo, customSectionBytes('jwt', token)]);
    expect(readClaims(legacy)).toMatchObject({ verdict: 'valid', section: 'jwt' });
  });
});

describe('verdicts', () => {
  test('tampered: the module changed under its claims', () => {
    // The claims of echo, grafted onto fib.
    const grafted = Buffer.concat([fib, customSectionBytes('wasmcloud_jwt', jwtOf(sign()))]);
    const r = readClaims(grafted);
    expect(r.verdict).toBe('tampered');
    expect(r.reason).toMatch(/hash [0-9A-F]{64} is not the one its claims were signed for/);
  });

  test('tampered: the claims changed without the issuer signing them (more caps)', () => {
    const signed = sign();
    const forged = replaceJwt(signed, (payload) => ({
      ...payload,
      wascap: { ...(payload.wascap as object), caps: ['wasmesh:keyvalue', 'wasmesh:messaging'] },
    }));
    const r = readClaims(forged);
    expect(r).toMatchObject({ verdict: 'tampered', claims: { caps: ['wasmesh:keyvalue', 'wasmesh:messaging'] } });
    expect(r.reason).toMatch(/signature does not match issuer A/);
  });

  test('tampered: signed by one account, claiming another as issuer', () => {
    const other = generateKey('account');
    const r = readClaims(replaceJwt(sign(), (p) => ({ ...p, iss: other.publicKey })));
    expect(r.verdict).toBe('tampered');
  });

  test('expired and not yet valid, by the clock', () => {
    const now = nowSeconds();
    const expired = sign(echo, { expires: now - 1 });
    expect(readClaims(expired)).toMatchObject({ verdict: 'expired', reason: expect.stringMatching(/expired at 20/) });
    expect(readClaims(expired, now - 5).verdict).toBe('valid');
    const later = sign(echo, { notBefore: now + 3600 });
    expect(readClaims(later)).toMatchObject({
      verdict: 'not-yet-valid',
      reason: expect.stringMatching(/not valid before 20/),
    });
    expect(readClaims(later, now + 3601).verdict).toBe('valid');
  });

  test('invalid: unreadable tokens, unknown algorithms, malformed claims', () => {
    const garbage = Buffer.concat([echo, customSectionBytes('wasmcloud_jwt', 'not.a-jwt')]);
    expect(readClaims(garbage)).toMatchObject({ verdict: 'invalid', reason: expect.stringMatching(/not a valid JWT/) });
    const signed = sign();
    const [, body, sig] = jwtOf(signed).split('.');
    const none = `${Buffer.from('{"typ":"jwt","alg":"none"}').toString('base64url')}.${body}.${sig}`;
    expect(readClaims(Buffer.concat([echo, customSectionBytes('wasmcloud_jwt', none)]))).toMatchObject({
      verdict: 'invalid',
      reason: expect.stringMatching(/unsupported JWT algorithm "none"/),
    });
    const noHash = replaceJwt(signed, (p) => ({ ...p, wascap: { name: 'x' } }));
    expect(readClaims(noHash)).toMatchObject({ verdict: 'invalid', reason: expect.stringMatching(/module hash/) });
    const userSubject = replaceJwt(signed, (p) => ({ ...p, sub: 'test.wasm' }));
    expect(readClaims(userSubject)).toMatchObject({
      verdict: 'invalid',
      reason: expect.stringMatching(/module public key/),
    });
    const badCap = replaceJwt(signed, (p) => ({ ...p, wascap: { ...(p.wascap as object), caps: ['Not A Contract'] } }));
    expect(readClaims(badCap)).toMatchObject({
      verdict: 'invalid',
      reason: expect.stringMatching(/not a contract id/),
    });
  });

  test('signing refuses bad input: a contract id that is not one, a non-module subject', () => {
    expect(() => sign(echo, { caps: ['keyvalue'] })).toThrow(
      expect.objectContaining({ code: 'WASMESH_ERR_INVALID_NAME' }),
    );
    expect(() => sign(echo, { subject: issuerKey.publicKey })).toThrow(/not a module public key/);
  });
});

describe('policy', () => {
  const trusted = [issuerKey.publicKey];
  const refusal = (f: () => unknown): WasmeshError => {
    try {
      f();
    } catch (e) {
      return e as WasmeshError;
    }
    throw new Error('not refused');
  };

  test('no policy: unsigned modules run, signed ones only with valid claims', () => {
    expect(admitActor('a', readClaims(echo), [])).toBeUndefined();
    expect(admitActor('a', readClaims(sign()), [])?.caps).toEqual(['wasmesh:keyvalue']);
    const err = refusal(() => admitActor('a', readClaims(sign(echo, { expires: nowSeconds() - 1 })), []));
    expect(err).toMatchObject({ code: 'WASMESH_ERR_UNTRUSTED_ACTOR', details: { actor: 'a', reason: 'expired' } });
    expect(err.message).toMatch(/^actor "a" refused: its claims are expired: the claims expired at/);
  });

  test('trusted issuers: unsigned and other issuers are refused, naming the reason', () => {
    expect(admitActor('a', readClaims(sign()), trusted)?.issuer).toBe(issuerKey.publicKey);
    expect(refusal(() => admitActor('a', readClaims(echo), trusted))).toMatchObject({
      code: 'WASMESH_ERR_UNTRUSTED_ACTOR',
      message: expect.stringMatching(/the module is unsigned, and only actors signed by A\w+ are trusted/),
      details: { reason: 'unsigned' },
    });
    const stranger = accountKeyPair(generateKey('account').seed);
    const theirs = signModule(echo, { issuer: stranger }).wasm;
    expect(refusal(() => admitActor('a', readClaims(theirs), trusted))).toMatchObject({
      message: expect.stringMatching(/signed by A\w+, an untrusted issuer/),
      details: { reason: 'untrusted-issuer', issuer: stranger.getPublicKey() },
    });
    const later = readClaims(sign(echo, { notBefore: nowSeconds() + 60 }));
    expect(refusal(() => admitActor('a', later, trusted)).message).toMatch(/its claims are not yet valid/);
  });

  test('trusted issuers from flags or WASMESH_TRUSTED_ISSUERS; anything but account keys is refused', () => {
    const other = generateKey('account').publicKey;
    expect(parseTrustedIssuers(undefined, ` ${other}, ${issuerKey.publicKey},,`)).toEqual(
      [other, issuerKey.publicKey].sort(),
    );
    expect(parseTrustedIssuers([other], issuerKey.publicKey)).toEqual([other]);
    expect(parseTrustedIssuers(undefined, '')).toEqual([]);
    expect(() => parseTrustedIssuers(['MABC'])).toThrow(
      /invalid --trusted-issuer key "MABC": expected an nkey account public key/,
    );
    expect(() => parseTrustedIssuers(undefined, 'nope')).toThrow(/invalid WASMESH_TRUSTED_ISSUERS key "nope"/);
  });

  test('capabilities: a signed actor calls only what it claims; unsigned actors are not restricted', () => {
    expect(() => checkCapability('kv', 'wasmesh:keyvalue', ['wasmesh:keyvalue'])).not.toThrow();
    expect(() => checkCapability('kv', 'wasmesh:messaging', undefined)).not.toThrow();
    expect(refusal(() => checkCapability('kv', 'wasmesh:messaging', ['wasmesh:keyvalue']))).toMatchObject({
      code: 'WASMESH_ERR_CAPABILITY_DENIED',
      message: expect.stringMatching(
        /actor "kv" may not call contract "wasmesh:messaging": its signed claims grant wasmesh:keyvalue/,
      ),
      details: { actor: 'kv', contract: 'wasmesh:messaging' },
    });
    expect(refusal(() => checkCapability('kv', 'wasmesh:actor', [])).message).toMatch(/grant no capabilities/);
  });

  test('the claims record hosts keep in the lattice, and the caps read back from it', () => {
    const claims = readClaims(sign(echo, { ver: '1', rev: 2, tags: ['a', 'b'] })).claims!;
    const record = claimsRecord(claims);
    expect(record).toMatchObject({
      issuer: claims.issuer,
      subject: claims.subject,
      name: 'echo',
      version: '1',
      revision: '2',
      tags: 'a,b',
      caps: 'wasmesh:keyvalue',
      hash: claims.hash,
    });
    expect(recordedCaps(record)).toEqual(['wasmesh:keyvalue']);
    expect(recordedCaps(claimsRecord(undefined))).toBeUndefined();
    expect(recordedCaps({ ...record, caps: '' })).toEqual([]);
  });
});
