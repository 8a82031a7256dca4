/**
 * Links: `wasmesh link put|del` and `wasmesh get links`. A link binds an actor's calls of one
 * contract (under a link name) to a provider; links live in the lattice's KV state, where hosts and
 * providers watch them. `link put` waits for the provider's verdict (link_status), so a config the
 * provider rejects reaches the user.
 */
import type { Command } from 'commander';
import {
  DEFAULT_LINK_NAME,
  describeLink,
  fromErrorInfo,
  WasmeshError,
  checkToken,
  type EventBodies,
} from '@wasmesh/lattice';
import {
  collect,
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
import { EventWatch } from '../lattice-ops.js';

type RawLink = NonNullable<EventBodies['link_set']['link']>;

/** A link, as commands print it. */
export interface LinkView {
  sourceId: string;
  contract: string;
  name: string;
  targetId: string;
  config: string[];
}

/** Plain-JSON view of a link. */
export function linkView(l: RawLink | null | undefined): LinkView {
  return {
    sourceId: l?.sourceId ?? '',
    contract: l?.contract ?? '',
    name: l?.name || DEFAULT_LINK_NAME,
    targetId: l?.targetId ?? '',
    config: [...(l?.config ?? [])],
  };
}

interface PutOptions extends LatticeOptions {
  name?: string;
  config?: string[];
}

interface DelOptions extends LatticeOptions {
  name?: string;
}

const CONFIRM_TIMEOUT = {
  defaultMs: 10_000,
  help: "how long to wait in ms for the provider's verdict on the link",
};

/** Registers `link put`, `link del` and `get links` on `program`. */
export function registerLinkCommands(program: Command): void {
  const link = commandGroup(program, 'link', 'bind actors to capability providers', [
    'wasmesh link put counter kv wasmesh:keyvalue --config kv-prefix',
    'wasmesh link del counter wasmesh:keyvalue',
  ]);

  examples(
    latticeOptions(
      link
        .command('put')
        .description("link an actor's calls of a contract to a provider (replacing its config if it exists)")
        .argument('<actor-id>', 'the calling actor')
        .argument('<provider-id>', 'the provider serving the contract (it must be running)')
        .argument('<contract>', 'the contract id, e.g. wasmesh:keyvalue')
        .option(
          '--name <link>',
          `link name, for an actor with several links of one contract (default "${DEFAULT_LINK_NAME}")`,
        )
        .option('--config <name>', 'named config for this link (repeatable, merged in order)', collect),
      CONFIRM_TIMEOUT,
    ),
    [
      'wasmesh link put counter kv wasmesh:keyvalue',
      'wasmesh config put cache-cfg prefix=cache/ && wasmesh link put web kv wasmesh:keyvalue --name cache --config cache-cfg',
      'wasmesh link put counter kv wasmesh:keyvalue --json',
    ],
    'The provider must be registered and serve the contract, and every config name must exist (exit\n' +
      'status 6 otherwise). A link of the same actor, contract and name to another provider conflicts\n' +
      '(exit status 2; delete it first or use another --name). The command then waits for the\n' +
      "provider's verdict: a config it rejects fails with the provider's error (the link stays stored:\n" +
      'fix the config or delete the link); no verdict within --timeout-ms is reported on stderr but is\n' +
      'not a failure. With --json: {ok, link: {sourceId, contract, name, targetId, config}, replaced, confirmed}.',
  ).action(async (actorId: string, providerId: string, contract: string, opts: PutOptions) => {
    const timeoutMs = opts.timeoutMs ?? CONFIRM_TIMEOUT.defaultMs;
    await withLattice(opts, async (client) => {
      const state = await client.state();
      const watch = new EventWatch(client, ['link_status']);
      try {
        const { link, replaced } = await state.putLink(
          {
            sourceId: actorId,
            targetId: providerId,
            contract,
            name: opts.name ?? DEFAULT_LINK_NAME,
            config: opts.config ?? [],
          },
          'cli',
        );
        const view = linkView(link);
        const verdict = await watch.waitFor((e) => {
          if (e.type !== 'link_status') return undefined;
          const l = linkView(e.data.link);
          const same =
            l.sourceId === view.sourceId &&
            l.contract === view.contract &&
            l.name === view.name &&
            l.targetId === view.targetId &&
            (e.data.providerId || l.targetId) === view.targetId;
          return same ? e.data : undefined;
        }, Date.now() + timeoutMs);
        if (verdict && !verdict.ok) {
          const err = fromErrorInfo(verdict.error ?? { code: 'WASMESH_ERR_CONFIG', message: 'no reason given' });
          throw new WasmeshError(
            err.code,
            `provider "${view.targetId}" rejected the link ${describeLink(link)}: ${err.message} ` +
              '(the link is stored: fix its config or delete it with `wasmesh link del`)',
            { cause: err, details: { ...err.details, link: describeLink(link), provider: view.targetId } },
          );
        }
        const confirmed = verdict !== undefined;
        if (!confirmed) {
          note(`provider "${view.targetId}" did not confirm the link within ${timeoutMs} ms (it is stored)`);
        }
        if (opts.json) {
          printJson({ ok: true, link: view, replaced, confirmed });
        } else {
          printLines([
            `${replaced ? 'updated' : 'created'} link ${describeLink(link)}${confirmed ? ', confirmed by the provider' : ''}`,
          ]);
        }
      } finally {
        watch.close();
      }
    });
  });

  examples(
    latticeOptions(
      link
        .command('del')
        .description("delete an actor's link for a contract")
        .argument('<actor-id>', 'the calling actor')
        .argument('<contract>', 'the contract id, e.g. wasmesh:keyvalue')
        .option('--name <link>', `link name (default "${DEFAULT_LINK_NAME}")`),
    ),
    ['wasmesh link del counter wasmesh:keyvalue', 'wasmesh link del web wasmesh:keyvalue --name cache --json'],
    "The actor's calls of the contract under that name then fail with WASMESH_ERR_NO_LINK. A link that\n" +
      'does not exist is WASMESH_ERR_NOT_FOUND (exit status 6). With --json: {ok, link}.',
  ).action(async (actorId: string, contract: string, opts: DelOptions) => {
    checkToken('actor id', actorId);
    await withLattice(opts, async (client) => {
      const link = await (await client.state()).deleteLink(actorId, contract, opts.name ?? DEFAULT_LINK_NAME, 'cli');
      if (opts.json) printJson({ ok: true, link: linkView(link) });
      else printLines([`deleted link ${describeLink(link)}`]);
    });
  });

  const get = commandGroup(program, 'get', 'show the hosts, links and config of the lattice and what hosts run', [
    'wasmesh get links',
  ]);
  examples(
    latticeOptions(get.command('links').description('list the links of the lattice')),
    ['wasmesh get links', 'wasmesh get links --json'],
    'With --json: an array of {sourceId, contract, name, targetId, config}.',
  ).action(async (opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const links = (await (await client.state()).allLinks())
        .map(linkView)
        .sort(
          (a, b) =>
            a.sourceId.localeCompare(b.sourceId) ||
            a.contract.localeCompare(b.contract) ||
            a.name.localeCompare(b.name),
        );
      if (opts.json) return printJson(links);
      if (links.length === 0) return note(`no links in lattice "${client.lattice}"`);
      printLines(
        table(
          ['SOURCE', 'CONTRACT', 'NAME', 'TARGET', 'CONFIG'],
          links.map((l) => [l.sourceId, l.contract, l.name, l.targetId, l.config.length ? l.config.join(',') : '-']),
        ),
      );
    });
  });
}
