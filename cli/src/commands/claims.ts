/**
 * `wasmesh get claims`: the claims hosts recorded for the actors they run (issuer, identity,
 * capabilities, validity), as wasmCloud's `wash get claims` shows them. Unsigned actors are listed
 * with `-`.
 */
import type { Command } from 'commander';
import { commandGroup, examples, latticeOptions, note, printJson, printLines, table, withLattice } from '../common.js';
import type { LatticeOptions } from '../common.js';

/** A recorded claims entry, as `--json` prints it. */
interface ClaimsView {
  actorId: string;
  digest: string;
  signed: boolean;
  claims: Record<string, string>;
}

const short = (key: string | undefined): string => (key ? `${key.slice(0, 8)}…` : '-');
const when = (seconds: string | undefined): string =>
  seconds ? new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ') : 'never';

/** Registers `get claims` on `program`. */
export function registerGetClaims(program: Command): void {
  const get = commandGroup(program, 'get', 'show the hosts, links and config of the lattice and what hosts run', [
    'wasmesh get claims',
  ]);
  examples(
    latticeOptions(
      get.command('claims').description('show the claims of the actors hosts run (issuer, identity, capabilities)'),
    ),
    ['wasmesh get claims', 'wasmesh get claims --json | jq ".[] | select(.signed) | .claims.caps"'],
    'With --json: an array of {actorId, digest, signed, claims: {issuer, subject, name, version,\n' +
      'revision, tags, caps, hash, issued_at, expires, not_before}} (claims empty when unsigned).',
  ).action(async (opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const views: ClaimsView[] = (await client.control.getClaims())
        .map((c) => ({
          actorId: c.actorId ?? '',
          digest: c.digest ?? '',
          signed: Boolean(c.claims?.subject),
          claims: { ...(c.claims ?? {}) },
        }))
        .sort((a, b) => a.actorId.localeCompare(b.actorId));
      if (opts.json) return printJson(views);
      if (views.length === 0) return note(`no claims recorded in lattice "${client.lattice}"`);
      printLines(
        table(
          ['ACTOR', 'ISSUER', 'SUBJECT', 'NAME', 'CAPS', 'EXPIRES'],
          views.map((v) =>
            v.signed
              ? [
                  v.actorId,
                  short(v.claims.issuer),
                  short(v.claims.subject),
                  v.claims.name ?? '-',
                  v.claims.caps || 'none',
                  when(v.claims.expires),
                ]
              : [v.actorId, '-', '-', '-', 'unsigned', '-'],
          ),
        ),
      );
    });
  });
}
