/**
 * `wasmesh top`: a live view of the lattice in the terminal. Per actor: calls/s, failures/s, p50
 * and p99 duration, calls in flight and hosts; per provider: health, state and restarts. Computed
 * from what the hosts already keep and answer in their inventories (top-model.ts), so there is no
 * metrics server to run. It refreshes in place every interval until Ctrl-C; `--json` (or a stdout
 * that is not a terminal, or `--once`) prints one snapshot over one interval and exits.
 */
import type { Command } from 'commander';
import { intFlag, type LatticeClient } from '@wasmesh/lattice';
import {
  CONNECT_TIMEOUT,
  examples,
  latticeOptions,
  printJson,
  printLines,
  table,
  watchLattice,
  type LatticeOptions,
} from '../common.js';
import { snapshot, type Inventory, type TopSnapshot } from '../top-model.js';

interface TopOptions extends LatticeOptions {
  intervalMs: number;
  once?: boolean;
}

/** Every host's inventory now (a host that vanishes between the ping and its answer is left out). */
async function readInventories(client: LatticeClient): Promise<Inventory[]> {
  const hosts = await client.control.ping();
  const answers = await Promise.all(hosts.map((h) => client.control.inventory(h.hostId).catch(() => null)));
  return answers.filter((a): a is NonNullable<typeof a> => a !== null);
}

/** A duration in ms for the table. */
function ms(v: number | null): string {
  return v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

/** The snapshot as the terminal shows it. */
export function render(s: TopSnapshot, lattice: string, at: Date): string[] {
  const header = `wasmesh top — lattice "${lattice}", ${s.hosts} host${s.hosts === 1 ? '' : 's'}, ${at.toLocaleTimeString()} (every ${Math.round(s.intervalS * 10) / 10} s; Ctrl-C to quit)`;
  const actors = s.actors.length
    ? table(
        ['ACTOR', 'CALLS/S', 'ERRORS/S', 'P50 MS', 'P99 MS', 'IN FLIGHT', 'HOSTS', 'TOTAL'],
        s.actors.map((a) => [
          a.actorId,
          String(a.callsPerS),
          String(a.errorsPerS),
          ms(a.p50Ms),
          ms(a.p99Ms),
          String(a.inFlight),
          String(a.hosts),
          `${a.totalCalls}${a.totalErrors ? ` (${a.totalErrors} failed)` : ''}`,
        ]),
      )
    : ['no actors run'];
  const providers = s.providers.length
    ? table(
        ['PROVIDER', 'HOST', 'MODE', 'STATE', 'HEALTH', 'RESTARTS'],
        s.providers.map((p) => [
          p.providerId,
          p.hostId.slice(0, 12),
          p.mode,
          p.state,
          p.healthy ? 'healthy' : `unhealthy${p.message ? `: ${p.message}` : ''}`,
          String(p.restarts),
        ]),
      )
    : ['no providers run'];
  return [header, '', ...actors, '', ...providers];
}

/** Registers `top` on `program`. */
export function registerTop(program: Command): void {
  const cmd = latticeOptions(
    program
      .command('top')
      .description(
        'a live view of every actor (calls/s, errors, p50/p99, in flight, hosts) and provider (health, restarts)',
      )
      .option(
        '--interval-ms <n>',
        'how often to refresh, in ms; rates are over this interval',
        intFlag('--interval-ms', 200, 3_600_000),
        2000,
      )
      .option('--once', 'print one snapshot (over one interval) and exit'),
    CONNECT_TIMEOUT,
  );
  examples(
    cmd,
    [
      'wasmesh top',
      'wasmesh top --interval-ms 5000',
      'wasmesh top --json | jq ".actors[] | {actorId, callsPerS, p99Ms}"',
    ],
    'With --json (or --once, or when stdout is not a terminal): one snapshot over one interval,\n' +
      '{intervalS, hosts, actors: [{actorId, hosts, callsPerS, errorsPerS, p50Ms, p99Ms, inFlight,\n' +
      'totalCalls, totalErrors}], providers: [{providerId, hostId, mode, state, healthy, restarts, message}]}.\n' +
      'Durations are from a call reaching its host to its answer; TOTAL counts since the actor started\n' +
      'on the hosts running it now. Needs no metrics server: hosts keep these counts in their inventories.',
  ).action(async (opts: TopOptions) => {
    await watchLattice(opts, async (client) => {
      const live = !opts.json && !opts.once && process.stdout.isTTY === true;
      let before = await readInventories(client);
      let at = Date.now();
      let stopped = false;
      const stop = (): void => {
        stopped = true;
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        do {
          await new Promise((r) => setTimeout(r, opts.intervalMs));
          if (stopped || client.nc.isClosed()) break;
          const after = await readInventories(client);
          const now = Date.now();
          const s = snapshot(before, after, Math.max(0.001, (now - at) / 1000));
          [before, at] = [after, now];
          if (opts.json) printJson(s);
          else if (live) process.stdout.write(`\x1b[H\x1b[2J${render(s, client.lattice, new Date(now)).join('\n')}\n`);
          else printLines(render(s, client.lattice, new Date(now)));
        } while (live && !stopped);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
  });
}
