/**
 * The signing commands as a user runs them: `wasmesh keys gen`, `wasmesh sign`, `wasmesh inspect`
 * showing claims and their verdict, and `wasmesh run --trusted-issuer` (exit status 7 when refused).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { devIssuerPublicKey, ExitCode } from '@wasmesh/lattice';
import { customSectionBytes, jwtOf, unsignedActor } from '../claims/wasm-edit.js';
import { actorPath } from '../fixtures.js';
import { wasmesh } from './run-cli.js';

let dir: string;
let issuerPublic: string;
const issuerFile = (): string => path.join(dir, 'issuer.nk');

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-signing-'));
  const r = await wasmesh(['keys', 'gen', 'account', '--out', issuerFile(), '--json']);
  expect(r.code).toBe(0);
  issuerPublic = (JSON.parse(r.stdout) as { publicKey: string }).publicKey;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('keys gen prints a public key and its seed, and says the seed is a secret', async () => {
  const human = await wasmesh(['keys', 'gen', 'account']);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/^public key: A[A-Z2-7]{55}\nseed: +SA[A-Z2-7]{56}\n$/);
  expect(human.stderr).toMatch(/The seed is a secret/);
  const json = JSON.parse((await wasmesh(['keys', 'gen', 'module', '--json'])).stdout);
  expect(json).toEqual({
    ok: true,
    kind: 'module',
    publicKey: expect.stringMatching(/^M[A-Z2-7]{55}$/),
    seed: expect.stringMatching(/^SM[A-Z2-7]{56}$/),
  });
});

test('keys gen --out writes the seed to a new file only its owner reads, and never overwrites one', async () => {
  expect(readFileSync(issuerFile(), 'utf8')).toMatch(/^SA[A-Z2-7]{56}\n$/);
  expect(statSync(issuerFile()).mode & 0o777).toBe(0o600);
  const again = await wasmesh(['keys', 'gen', 'account', '--out', issuerFile()]);
  expect(again.code).toBe(ExitCode.USAGE);
  expect(again.stderr).toMatch(/cannot write the seed to ".*issuer.nk": EEXIST/);
  const bad = await wasmesh(['keys', 'gen', 'operator']);
  expect(bad.code).toBe(ExitCode.USAGE);
  expect(bad.stderr).toMatch(/unknown key kind "operator": expected account or module/);
});

test('sign embeds claims that inspect shows with the verdict valid', async () => {
  const out = path.join(dir, 'kvcounter.signed.wasm');
  const r = await wasmesh([
    'sign',
    actorPath('kvcounter'),
    '--issuer-seed',
    issuerFile(),
    '--cap',
    'wasmesh:keyvalue',
    '--cap',
    'wasmesh:httpserver',
    '--ver',
    '1.0.0',
    '--rev',
    '2',
    '--expires-in-days',
    '30',
    '-o',
    out,
  ]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`signed .*kvcounter.signed.wasm\\n  issuer: +${issuerPublic}\\n  subject: +M`));
  expect(r.stdout).toMatch(/caps: +wasmesh:keyvalue, wasmesh:httpserver/);

  const human = await wasmesh(['inspect', out]);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/claims: +valid\n {2}issuer: +A/);
  expect(human.stdout).toMatch(/name: +kvcounter \(ver 1\.0\.0, rev 2\)/);
  expect(human.stdout).toMatch(/hash: +[0-9A-F]{64}/);
  expect(human.stdout).toMatch(/expires: +20\d\d-/);
  const { claims } = JSON.parse((await wasmesh(['inspect', out, '--json'])).stdout);
  expect(claims).toMatchObject({
    verdict: 'valid',
    reason: '',
    section: 'wasmcloud_jwt',
    issuer: issuerPublic,
    subject: expect.stringMatching(/^M/),
    caps: ['wasmesh:keyvalue', 'wasmesh:httpserver'],
    hash: expect.stringMatching(/^[0-9A-F]{64}$/),
    expires: expect.any(Number),
  });

  // Re-signing keeps the subject (the actor's identity) unless another is given.
  const again = JSON.parse((await wasmesh(['sign', out, '--issuer-seed', issuerFile(), '-o', out, '--json'])).stdout);
  expect(again).toMatchObject({ ok: true, claims: { subject: claims.subject, caps: [] } });
});

test('inspect names what is wrong: tampered, not yet valid', async () => {
  const signed = path.join(dir, 'echo.signed.wasm');
  expect((await wasmesh(['sign', actorPath('echo'), '--issuer-seed', issuerFile(), '-o', signed])).code).toBe(0);
  // The claims moved onto another module.
  const grafted = path.join(dir, 'grafted.wasm');
  const claims = customSectionBytes('wasmcloud_jwt', jwtOf(readFileSync(signed)));
  writeFileSync(grafted, Buffer.concat([unsignedActor('fib'), claims]));
  const tampered = JSON.parse((await wasmesh(['inspect', grafted, '--json'])).stdout);
  expect(tampered.claims).toMatchObject({ verdict: 'tampered', reason: expect.stringMatching(/hash/) });
  expect((await wasmesh(['inspect', grafted])).stdout).toMatch(/claims: +tampered: the module's hash/);

  const later = path.join(dir, 'later.wasm');
  await wasmesh(['sign', actorPath('echo'), '--issuer-seed', issuerFile(), '--not-before-days', '2', '-o', later]);
  expect((await wasmesh(['inspect', later])).stdout).toMatch(/claims: +not yet valid: the claims are not valid before/);
});

test('sign refuses bad input with usage errors that name it', async () => {
  const noSeed = await wasmesh(['sign', actorPath('echo'), '--issuer-seed', path.join(dir, 'none.nk'), '-o', 'x']);
  expect(noSeed.code).toBe(ExitCode.USAGE);
  expect(noSeed.stderr).toMatch(/cannot read --issuer-seed ".*none.nk": ENOENT/);
  const moduleSeed = path.join(dir, 'module.nk');
  await wasmesh(['keys', 'gen', 'module', '--out', moduleSeed]);
  const wrongKind = await wasmesh(['sign', actorPath('echo'), '--issuer-seed', moduleSeed, '-o', 'x']);
  expect(wrongKind.code).toBe(ExitCode.USAGE);
  expect(wrongKind.stderr).toMatch(/invalid seed in .*module\.nk "SM…": expected an nkey account seed \(SA…\)/);
  expect(wrongKind.stderr).not.toContain(readFileSync(moduleSeed, 'utf8').trim());
  const badCap = await wasmesh(['sign', actorPath('echo'), '--issuer-seed', issuerFile(), '--cap', 'kv', '-o', 'x']);
  expect(badCap.code).toBe(ExitCode.USAGE);
  expect(badCap.stderr).toMatch(/invalid contract "kv"/);
  const noOut = await wasmesh(['sign', actorPath('echo'), '--issuer-seed', issuerFile()]);
  expect(noOut.code).toBe(ExitCode.USAGE);
});

test('run --trusted-issuer runs modules of that issuer and refuses others with exit status 7', async () => {
  const signed = path.join(dir, 'echo.trusted.wasm');
  await wasmesh(['sign', actorPath('echo'), '--issuer-seed', issuerFile(), '-o', signed]);
  const ok = await wasmesh(['run', signed, 'Echo', '--data', 'hi', '--trusted-issuer', issuerPublic]);
  expect(ok).toMatchObject({ code: 0, stdout: 'hi' });

  const unsignedFile = path.join(dir, 'echo.wasm');
  writeFileSync(unsignedFile, unsignedActor('echo'));
  const unsigned = await wasmesh(['run', unsignedFile, 'Echo', '--trusted-issuer', issuerPublic]);
  expect(unsigned.code).toBe(ExitCode.DENIED);
  expect(unsigned.stderr).toMatch(
    /^wasmesh: WASMESH_ERR_UNTRUSTED_ACTOR: actor "echo.wasm" refused: the module is unsigned/,
  );

  const other = JSON.parse((await wasmesh(['keys', 'gen', 'account', '--json'])).stdout).publicKey as string;
  const untrusted = await wasmesh(['run', signed, 'Echo', '--json'], { WASMESH_TRUSTED_ISSUERS: other });
  expect(untrusted.code).toBe(ExitCode.DENIED);
  expect(JSON.parse(untrusted.stdout)).toMatchObject({
    ok: false,
    error: { code: 'WASMESH_ERR_UNTRUSTED_ACTOR', reason: 'untrusted-issuer', issuer: issuerPublic },
  });

  const badKey = await wasmesh(['run', signed, 'Echo', '--trusted-issuer', 'nope']);
  expect(badKey.code).toBe(ExitCode.USAGE);
  expect(badKey.stderr).toMatch(/invalid --trusted-issuer key "nope"/);
});

test('keys and sign have --help with examples', async () => {
  for (const args of [
    ['keys', 'gen', '--help'],
    ['sign', '--help'],
  ]) {
    const r = await wasmesh(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:\n {2}\$ wasmesh/);
  }
});

test('the build signs the example actors with the development issuer and the caps they use', async () => {
  const dev = devIssuerPublicKey();
  expect(dev).toMatch(/^A/);
  const expected: Record<string, string[]> = {
    kvcounter: ['wasmesh:keyvalue', 'wasmesh:httpserver'],
    hello: ['wasmesh:httpserver'],
    responder: ['wasmesh:messaging'],
    echo: [],
  };
  for (const [name, caps] of Object.entries(expected)) {
    const { claims } = JSON.parse((await wasmesh(['inspect', actorPath(name), '--json'])).stdout);
    expect({ name, ...claims }).toMatchObject({ name, verdict: 'valid', issuer: dev, caps });
  }
  const testbed = JSON.parse((await wasmesh(['inspect', actorPath('testbed'), '--json'])).stdout);
  expect(testbed.claims).toBeNull();
});
