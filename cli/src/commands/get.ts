/**
 * `wasmesh get hosts` and `wasmesh get inventory [HOST_ID]`: what the lattice is made of and what
 * each host runs.
 */
import type { Command } from 'commander';
import {
  commandGroup,
  examples,
  formatDuration,
  formatLabels,
  latticeOptions,
  note,
  printJson,
  printLines,
  shortDigest,
  table,
  withLattice,
  type LatticeOptions,
} from '../common.js';
import { allInventories, controlFor, hostLabel, hostView, inventoryView, type InventoryView } from '../lattice-ops.js';

const TIMEOUT = { defaultMs: 5000, help: 'deadline of each inventory request in ms' };

/** Registers `get` and its subcommands on `program`. */
export function registerGet(program: Command): void {
  const get = commandGroup(program, 'get', 'show the hosts, links and config of the lattice and what hosts run', [
    'wasmesh get hosts',
    'wasmesh get inventory --json',
  ]);

  examples(
    latticeOptions(get.command('hosts').description('list the hosts of the lattice (those that answer a ping)')),
    ['wasmesh get hosts', 'wasmesh get hosts --lattice staging --json | jq -r ".[].hostId"'],
    'With --json: an array of {hostId, friendlyName, labels, lattice, version, startedAtMs, uptimeMs}.',
  ).action(async (opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const hosts = (await client.control.ping()).map(hostView);
      if (opts.json) return printJson(hosts);
      if (hosts.length === 0) return note(`no hosts answered in lattice "${client.lattice}"`);
      printLines(
        table(
          ['HOST ID', 'NAME', 'LABELS', 'UPTIME', 'VERSION'],
          hosts.map((h) => [h.hostId, h.friendlyName, formatLabels(h.labels), formatDuration(h.uptimeMs), h.version]),
        ),
      );
    });
  });

  examples(
    latticeOptions(
      get
        .command('inventory')
        .description("show the actors one host runs, or every host's when HOST_ID is omitted")
        .argument('[HOST_ID]', 'the host (its id, as `wasmesh get hosts` shows)'),
      TIMEOUT,
    ),
    ['wasmesh get inventory', 'wasmesh get inventory NBX3…QW --json'],
    'With --json: {host, actors: [{actorId, artifactRef, digest, maxConcurrent, inFlight, …}],\n' +
      'providers: [{providerId, artifactRef, state, pid, healthy, restarts, mode}]} for one host, an array\n' +
      'of those for all hosts. MODE: in-process (inside the host process) or process (its own).',
  ).action(async (hostId: string | undefined, opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const control = controlFor(client, opts.timeoutMs ?? TIMEOUT.defaultMs);
      if (hostId !== undefined) {
        const inv = inventoryView(await control.inventory(hostId));
        return opts.json ? printJson(inv) : printLines(inventoryLines(inv));
      }
      const all = await allInventories(control);
      if (opts.json) return printJson(all);
      if (all.length === 0) return note(`no hosts answered in lattice "${client.lattice}"`);
      printLines(all.flatMap((inv, i) => [...(i > 0 ? [''] : []), ...inventoryLines(inv)]));
    });
  });
}

/** The text rendering of one host's inventory. */
function inventoryLines(inv: InventoryView): string[] {
  const lines = [`HOST ${hostLabel(inv.host)}`];
  if (inv.actors.length === 0) lines.push('  (no actors)');
  else {
    const rows = inv.actors.map((a) => [
      a.actorId,
      shortDigest(a.digest),
      String(a.maxConcurrent),
      String(a.inFlight),
      a.artifactRef,
    ]);
    lines.push(...table(['ACTOR', 'DIGEST', 'MAX CONCURRENT', 'IN FLIGHT', 'REF'], rows).map((l) => `  ${l}`));
  }
  if (inv.providers.length > 0) {
    const rows = inv.providers.map((p) => [
      p.providerId,
      p.state,
      p.healthy ? 'yes' : 'no',
      String(p.restarts),
      p.mode || '-',
      String(p.pid || '-'),
      p.artifactRef,
    ]);
    lines.push(...table(['PROVIDER', 'STATE', 'HEALTHY', 'RESTARTS', 'MODE', 'PID', 'REF'], rows).map((l) => `  ${l}`));
  }
  return lines;
}
