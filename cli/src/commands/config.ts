/**
 * Named config: `wasmesh config put|get|del` and `wasmesh get config`. Named config is a set of
 * string values stored in the lattice that links (and providers) refer to by name.
 */
import type { Command } from 'commander';
import { checkToken, UsageError } from '@wasmesh/lattice';
import {
  commandGroup,
  examples,
  latticeOptions,
  note,
  printJson,
  printLines,
  table,
  withLattice,
  type LatticeOptions,
} from '../common.js';

/** Parses `key=value` arguments (values may contain `=`; a later key wins); anything else is a usage error. */
export function parsePairs(pairs: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq);
    if (eq <= 0 || !key.trim())
      throw new UsageError(`config values are key=value, got "${pair}"`, { details: { pair } });
    values[key] = pair.slice(eq + 1);
  }
  return values;
}

/** `key=value` lines, sorted by key. */
function valueLines(values: Record<string, string>): string[] {
  return Object.entries(values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
}

/** Registers `config put|get|del` and `get config` on `program`. */
export function registerConfigCommands(program: Command): void {
  const config = commandGroup(program, 'config', 'manage named config (string values links and providers use)', [
    'wasmesh config put kv-prefix prefix=counter/ ttl=60',
    'wasmesh config get kv-prefix',
  ]);

  examples(
    latticeOptions(
      config
        .command('put')
        .description('store named config (replacing it if it exists)')
        .argument('<name>', "config name (letters, digits, '-', '_')")
        .argument('<key=value...>', 'the values (strings; a value may contain "=")'),
    ),
    [
      'wasmesh config put kv-prefix prefix=counter/',
      'wasmesh config put db url=postgres://db:5432/app?sslmode=require pool=4',
      'wasmesh config put kv-prefix prefix=cache/ --json',
    ],
    'Links (`wasmesh link put --config NAME`) and providers (`wasmesh start provider --config NAME`)\n' +
      'refer to it by name. With --json: {ok, name, values}.',
  ).action(async (name: string, pairs: string[], opts: LatticeOptions) => {
    checkToken('config name', name);
    const values = parsePairs(pairs);
    await withLattice(opts, async (client) => {
      await (await client.state()).putConfig(name, values, 'cli');
    });
    if (opts.json) printJson({ ok: true, name, values });
    else
      printLines([
        `stored config ${name} (${Object.keys(values).length} value${Object.keys(values).length === 1 ? '' : 's'})`,
      ]);
  });

  examples(
    latticeOptions(
      config.command('get').description('show the values of named config').argument('<name>', 'config name'),
    ),
    ['wasmesh config get kv-prefix', 'wasmesh config get kv-prefix --json'],
    'Prints key=value lines sorted by key. Unknown config is WASMESH_ERR_NOT_FOUND (exit status 6).\n' +
      'With --json: {name, values}.',
  ).action(async (name: string, opts: LatticeOptions) => {
    const values = await withLattice(opts, async (client) => (await client.state()).getConfig(name));
    if (opts.json) printJson({ name, values });
    else printLines(valueLines(values));
  });

  examples(
    latticeOptions(config.command('del').description('delete named config').argument('<name>', 'config name')),
    ['wasmesh config del kv-prefix', 'wasmesh config del kv-prefix --json'],
    'Refused while a link uses it (WASMESH_ERR_CONFLICT, exit status 2; the message names the links).\n' +
      'Unknown config is WASMESH_ERR_NOT_FOUND (exit status 6). With --json: {ok, name}.',
  ).action(async (name: string, opts: LatticeOptions) => {
    await withLattice(opts, async (client) => (await client.state()).deleteConfig(name, 'cli'));
    if (opts.json) printJson({ ok: true, name });
    else printLines([`deleted config ${name}`]);
  });

  const get = commandGroup(program, 'get', 'show the hosts, links and config of the lattice and what hosts run', [
    'wasmesh get config',
  ]);
  examples(
    latticeOptions(get.command('config').description('list the named config of the lattice')),
    ['wasmesh get config', 'wasmesh get config --json'],
    'Shows names and keys; `wasmesh config get NAME` shows the values. With --json: an array of\n' + '{name, keys}.',
  ).action(async (opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const entries = [...(await (await client.state()).config.entries())]
        .map(([name, c]) => ({ name, keys: Object.keys(c.values ?? {}).sort() }))
        .sort((a, b) => a.name.localeCompare(b.name));
      if (opts.json) return printJson(entries);
      if (entries.length === 0) return note(`no config in lattice "${client.lattice}"`);
      printLines(
        table(
          ['NAME', 'KEYS'],
          entries.map((e) => [e.name, e.keys.join(',') || '-']),
        ),
      );
    });
  });
}
