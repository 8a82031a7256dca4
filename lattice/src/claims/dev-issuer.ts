/**
 * The development issuer: an account key kept under the user's home that the build signs the
 * example actors with, and that `wasmesh up` trusts, so a local lattice runs with a policy from
 * the first `npm start`. It is created once (mode 0600) and never leaves the machine; a lattice
 * beyond one laptop should trust real issuers instead (`wasmesh keys gen account`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountKeyPair, generateKey, seedFromText } from './keys.js';

/** Where the development issuer's seed lives: `WASMESH_DEV_ISSUER_FILE`, else `~/.wasmesh/dev-issuer.nk`. */
export function devIssuerPath(): string {
  return process.env.WASMESH_DEV_ISSUER_FILE || path.join(os.homedir(), '.wasmesh', 'dev-issuer.nk');
}

function readSeed(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return seedFromText(text, file);
}

/** The development issuer's seed, created on first use. */
export function devIssuerSeed(): string {
  const file = devIssuerPath();
  const existing = readSeed(file);
  if (existing) return existing;
  const key = generateKey('account');
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // `wx`: two builds racing keep the first key.
    writeFileSync(file, `${key.seed}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readSeed(file)!;
  }
  return key.seed;
}

/**
 * The development issuer's public key (A…), or `undefined` when none was created yet (nothing
 * was signed with it, so there is nothing to trust).
 */
export function devIssuerPublicKey(): string | undefined {
  const seed = readSeed(devIssuerPath());
  if (!seed) return undefined;
  return accountKeyPair(seed, `seed in ${devIssuerPath()}`).getPublicKey();
}
