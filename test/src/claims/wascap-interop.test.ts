/**
 * Interop with wasmCloud's `wascap` crate (crates.io), both ways, through a tiny cargo program
 * built by the test setup (test/wascap-interop): modules wasmesh signs verify with wascap, and
 * modules wascap signs verify with wasmesh, with the same issuer, subject and module hash.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { accountKeyPair, admitActor, generateKey, readClaims, readSections, signModule } from '@wasmesh/lattice';
import { wascapInteropBin } from '../../scripts/wascap-interop-paths.mjs';
import { paddedSizes, unsignedActor } from './wasm-edit.js';

const run = promisify(execFile);
const issuerKey = generateKey('account');
const issuer = accountKeyPair(issuerKey.seed);
const kvcounter = unsignedActor('kvcounter');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wascap-interop-'));
  writeFileSync(path.join(dir, 'issuer.nk'), `${issuerKey.seed}\n`, { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What wascap says of a module: its claims and validation, and whether it accepts it (exit 0). */
async function wascapVerify(wasm: Buffer): Promise<{ ok: boolean; report: Record<string, unknown> }> {
  const file = path.join(dir, `verify-${Math.random().toString(36).slice(2)}.wasm`);
  writeFileSync(file, wasm);
  const r = await run(wascapInteropBin(), ['verify', file]).then(
    ({ stdout }) => ({ ok: true, stdout }),
    (err: { code?: number; stdout?: string }) => {
      if (err.code !== 1) throw err;
      return { ok: false, stdout: err.stdout ?? '' };
    },
  );
  return { ok: r.ok, report: JSON.parse(r.stdout) as Record<string, unknown> };
}

/** Signs `wasm` with wascap as our issuer; returns the module and the subject wascap generated. */
async function wascapSign(wasm: Buffer): Promise<{ wasm: Buffer; subject: string }> {
  const input = path.join(dir, 'in.wasm');
  const output = path.join(dir, 'signed-by-wascap.wasm');
  writeFileSync(input, wasm);
  const { stdout } = await run(wascapInteropBin(), [
    'sign',
    input,
    output,
    path.join(dir, 'issuer.nk'),
    '--expires-days',
    '30',
  ]);
  return { wasm: readFileSync(output), subject: stdout.trim() };
}

test('a module signed by wasmesh verifies with wascap: same issuer, subject, hash and metadata', async () => {
  const { wasm, claims } = signModule(kvcounter, {
    issuer,
    name: 'kvcounter',
    ver: '0.3.0',
    rev: 3,
    tags: ['example'],
    caps: ['wasmesh:keyvalue', 'wasmesh:httpserver'],
    expires: Math.floor(Date.now() / 1000) + 3600,
  });
  const { ok, report } = await wascapVerify(wasm);
  expect(report).toEqual({
    signed: true,
    issuer: issuerKey.publicKey,
    subject: claims.subject,
    hash: claims.hash,
    name: 'kvcounter',
    ver: '0.3.0',
    rev: 3,
    tags: ['example'],
    signatureValid: true,
    expired: false,
    cannotUseYet: false,
  });
  expect(ok).toBe(true);
});

test('a module signed by wascap verifies with wasmesh (without caps it may call nothing)', async () => {
  const { wasm, subject } = await wascapSign(kvcounter);
  const report = readClaims(wasm);
  expect(report).toMatchObject({
    verdict: 'valid',
    section: 'wasmcloud_jwt',
    claims: {
      issuer: issuerKey.publicKey,
      subject,
      name: 'wascap-signed',
      ver: '1.2.3',
      rev: 7,
      tags: ['interop'],
      caps: [],
      revision: 3,
      hash: signModule(kvcounter, { issuer }).claims.hash,
    },
  });
  expect(admitActor('kvcounter', report, [issuerKey.publicKey])?.caps).toEqual([]);
});

test('both hash the module the same way when its section sizes are not canonical', async () => {
  const padded = paddedSizes(kvcounter);
  expect(readClaims((await wascapSign(padded)).wasm).verdict).toBe('valid');
  const ours = signModule(padded, { issuer });
  expect((await wascapVerify(ours.wasm)).ok).toBe(true);
});

test('both refuse a module changed after signing (one letter of a function name)', async () => {
  const byWascap = (await wascapSign(kvcounter)).wasm;
  const byUs = signModule(kvcounter, { issuer }).wasm;
  for (const signed of [byWascap, byUs]) {
    const tampered = Buffer.from(signed);
    const names = readSections(tampered).find((s) => s.name === 'name')!.data!;
    const letter = names.findIndex((b) => b >= 0x61 && b <= 0x7a);
    const at = names.byteOffset - tampered.byteOffset + letter;
    tampered[at] = tampered[at]! ^ 0x20; // lower → upper case
    expect(readClaims(tampered).verdict).toBe('tampered');
    const { ok, report } = await wascapVerify(tampered);
    expect(ok).toBe(false);
    expect(String(report.error)).toMatch(/hash/i);
  }
});
