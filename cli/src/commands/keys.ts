/**
 * `wasmesh keys gen account|module`: new nkeys for signing actors. An account key (A…, seed SA…)
 * is an issuer: it signs modules and hosts trust it (`--trusted-issuer`); a module key (M…, seed
 * SM…) is an actor's identity, the subject of its claims. Seeds are secrets.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { generateKey, UsageError, type KeyKind } from '@wasmesh/lattice';
import { commandGroup, examples, note, printJson, printLines } from '../common.js';

const SECRET_NOTE =
  'The seed is a secret: whoever has it signs as this key. Keep it in a file only you can read, never commit it.';

/** Registers `keys gen` on `program`. */
export function registerKeysCommands(program: Command): void {
  const keys = commandGroup(program, 'keys', 'nkeys for signing actors (issuer accounts, module identities)', [
    'wasmesh keys gen account --out issuer.nk',
  ]);
  examples(
    keys
      .command('gen')
      .description('generate a key pair: an account (issuer, A…) or a module (actor identity, M…)')
      .argument('<kind>', 'account | module')
      .option('--out <file>', 'write the seed to this new file (mode 0600) instead of printing it')
      .option('--json', 'print {ok, kind, publicKey, seed | seedFile} as JSON'),
    [
      'wasmesh keys gen account',
      'wasmesh keys gen account --out ~/.wasmesh/issuer.nk    # then: wasmesh sign … --issuer-seed ~/.wasmesh/issuer.nk',
      'wasmesh keys gen module --json',
    ],
    `Prints the public key and the seed. ${SECRET_NOTE}\n` +
      'Hosts trust an issuer by its public key: wasmesh host --trusted-issuer A…',
  ).action(async (kind: string, opts: { out?: string; json?: boolean }) => {
    if (kind !== 'account' && kind !== 'module') {
      throw new UsageError(`unknown key kind "${kind}": expected account or module`, { details: { kind } });
    }
    const key = generateKey(kind as KeyKind);
    if (opts.out) {
      try {
        await writeFile(opts.out, `${key.seed}\n`, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new UsageError(
          `cannot write the seed to "${opts.out}": ${reason} (an existing file is never overwritten)`,
          {
            cause: err,
            details: { file: opts.out },
          },
        );
      }
    }
    if (opts.json) {
      printJson({
        ok: true,
        kind,
        publicKey: key.publicKey,
        ...(opts.out ? { seedFile: opts.out } : { seed: key.seed }),
      });
    } else {
      printLines([
        `public key: ${key.publicKey}`,
        opts.out ? `seed:       written to ${opts.out} (mode 0600)` : `seed:       ${key.seed}`,
      ]);
    }
    note(SECRET_NOTE);
  });
}
