/**
 * `wasmesh sign <file.wasm>`: embeds wascap-format claims in a module, signed by an issuer
 * account: the module's hash, its identity (a module key), name, version and the capabilities
 * (contract ids) it may call. Modules signed here verify with wasmCloud's tools and vice versa.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import {
  accountKeyPair,
  intFlag,
  MAX_CONFIG_FILE_BYTES,
  readInputFile,
  moduleKeyFromSeed,
  nowSeconds,
  readClaims,
  seedFromText,
  signModule,
  UsageError,
} from '@wasmesh/lattice';
import { collect, examples, printJson, printLines } from '../common.js';
import { readModule } from './push.js';

interface SignOptions {
  issuerSeed: string;
  subjectSeed?: string;
  out: string;
  cap?: string[];
  tag?: string[];
  name?: string;
  ver?: string;
  rev?: number;
  expiresInDays?: number;
  notBeforeDays?: number;
  json?: boolean;
}

const DAY_SECONDS = 86_400;

/** Reads the seed in `file` (usage error when unreadable). */
async function readSeedFile(file: string, flag: string): Promise<string> {
  const text = (await readInputFile(file, flag, MAX_CONFIG_FILE_BYTES)).toString('utf8');
  return seedFromText(text, file);
}

/** The subject of the new claims: the given module seed's key, else the module's current subject, else a new key. */
async function subjectFor(wasm: Uint8Array, opts: SignOptions): Promise<string | undefined> {
  if (opts.subjectSeed) return moduleKeyFromSeed(await readSeedFile(opts.subjectSeed, '--subject-seed')).publicKey;
  return readClaims(wasm).claims?.subject;
}

/** Registers `sign` on `program`. */
export function registerSign(program: Command): void {
  examples(
    program
      .command('sign')
      .description('embed signed claims (wascap format) in a module: issuer, identity, hash, capabilities')
      .argument('<file.wasm>', 'the module (any claims it carries are replaced)')
      .requiredOption(
        '--issuer-seed <file>',
        'file with the issuer account seed (SA…, from `wasmesh keys gen account`)',
      )
      .requiredOption('-o, --out <file>', 'where to write the signed module (may be the input file)')
      .option('--cap <contract>', 'a contract the actor may call, e.g. wasmesh:keyvalue (repeatable)', collect)
      .option(
        '--subject-seed <file>',
        "file with the module seed (SM…) of the actor's identity (default: the module's current subject, else a new key)",
      )
      .option('--name <name>', 'the actor name in the claims (default: the file name)')
      .option('--ver <version>', 'a human version, e.g. 1.2.0')
      .option('--rev <n>', 'a revision number', intFlag('--rev', 0, 2 ** 31 - 1))
      .option('--tag <tag>', 'a tag (repeatable)', collect)
      .option(
        '--expires-in-days <n>',
        'the claims expire after this many days (default: never)',
        intFlag('--expires-in-days', 0, 36_500),
      )
      .option(
        '--not-before-days <n>',
        'the claims are valid only after this many days',
        intFlag('--not-before-days', 0, 36_500),
      )
      .option('--json', 'print {ok, file, claims} as JSON'),
    [
      'wasmesh keys gen account --out issuer.nk',
      'wasmesh sign actors/build/kvcounter.wasm --issuer-seed issuer.nk --cap wasmesh:keyvalue --cap wasmesh:httpserver -o kvcounter.signed.wasm',
      'wasmesh sign hello.wasm --issuer-seed issuer.nk --cap wasmesh:httpserver --ver 1.0.0 --rev 3 --expires-in-days 90 -o hello.wasm',
      'wasmesh inspect kvcounter.signed.wasm',
    ],
    'A signed actor may call only the contracts given with --cap (wasmesh:actor to call other actors);\n' +
      'hosts started with --trusted-issuer <issuer public key> run only actors signed by that issuer.',
  ).action(async (file: string, opts: SignOptions) => {
    const wasm = await readModule(file);
    const issuer = accountKeyPair(await readSeedFile(opts.issuerSeed, '--issuer-seed'), `seed in ${opts.issuerSeed}`);
    const now = nowSeconds();
    const subject = await subjectFor(wasm, opts);
    const { wasm: signed, claims } = signModule(wasm, {
      issuer,
      ...(subject ? { subject } : {}),
      name: opts.name ?? path.basename(file).replace(/\.wasm$/, ''),
      caps: opts.cap ?? [],
      ...(opts.tag ? { tags: opts.tag } : {}),
      ...(opts.ver === undefined ? {} : { ver: opts.ver }),
      ...(opts.rev === undefined ? {} : { rev: opts.rev }),
      issuedAt: now,
      ...(opts.expiresInDays === undefined ? {} : { expires: now + opts.expiresInDays * DAY_SECONDS }),
      ...(opts.notBeforeDays === undefined ? {} : { notBefore: now + opts.notBeforeDays * DAY_SECONDS }),
    });
    try {
      await writeFile(opts.out, signed);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new UsageError(`cannot write "${opts.out}": ${reason}`, { cause: err, details: { file: opts.out } });
    }
    if (opts.json) {
      printJson({ ok: true, file: opts.out, claims });
      return;
    }
    printLines([
      `signed ${opts.out}`,
      `  issuer:  ${claims.issuer}`,
      `  subject: ${claims.subject}`,
      `  hash:    ${claims.hash}`,
      `  caps:    ${claims.caps.length ? claims.caps.join(', ') : 'none'}`,
      `  expires: ${claims.expires === undefined ? 'never' : new Date(claims.expires * 1000).toISOString()}`,
    ]);
  });
}
