/**
 * Capability providers across the lattice: `wasmesh start provider <ref>`, `wasmesh stop provider
 * <id>` and `wasmesh get providers`. A host starts the provider's process and supervises it
 * (restarts, health checks); the commands wait for the provider to register (provider_started) or
 * for the host to report it gone.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import {
  checkToken,
  PROVIDER_MODES,
  UsageError,
  WasmeshError,
  type EventBodies,
  type ControlClient,
  type LatticeClient,
  type ProviderMode,
} from '@wasmesh/lattice';
import {
  collect,
  commandGroup,
  examples,
  formatDuration,
  latticeOptions,
  note,
  printJson,
  printLines,
  table,
  toNumber,
  withLattice,
  withProgress,
  type LatticeOptions,
} from '../common.js';
import { allOrFirstError, hostLabel, inventoryView, withOps, type HostRef, type OpContext } from '../lattice-ops.js';

/** How long to look for the provider_started event once the host acknowledged the start. */
const EVENT_AFTER_ACK_MS = 250;

const TIMEOUT = {
  defaultMs: 30_000,
  help: 'how long to wait in ms for the host to do it (a provider has 15 s to register)',
};

type RawProviderRecord = NonNullable<EventBodies['provider_started']['provider']>;

/** A provider record, as commands print it. */
export interface ProviderView {
  providerId: string;
  contract: string;
  hostId: string;
  artifactRef: string;
  startedAtMs: number;
  pid: number;
  /** What the provider tells operators (e.g. the HTTP server's `url`). */
  annotations: Record<string, string>;
  /** in-process or process, as its host says ('' when it does not); a provider without a host is a process. */
  mode: string;
}

/** Plain-JSON view of a provider record. */
export function providerView(r: RawProviderRecord | null | undefined): ProviderView {
  return {
    providerId: r?.providerId ?? '',
    contract: r?.contract ?? '',
    hostId: r?.hostId ?? '',
    artifactRef: r?.artifactRef ?? '',
    startedAtMs: toNumber(r?.startedAtMs),
    pid: r?.instance ?? 0,
    annotations: { ...r?.annotations },
    mode: r && !r.hostId ? 'process' : '',
  };
}

/** Checks a provider id given on the command line. */
function checkProviderId(id: string): string {
  return checkToken('provider id', id);
}

/**
 * The reference to send to the host: `builtin:<name>` as it is, a path or `file://` URL as an
 * absolute path (the host reads it from its own file system).
 */
export function providerRef(ref: string): { ref: string; builtin?: string; file?: string } {
  if (ref.startsWith('builtin:')) return { ref, builtin: ref.slice('builtin:'.length) };
  if (ref.startsWith('file://')) {
    try {
      const file = fileURLToPath(ref);
      return { ref: file, file };
    } catch (err) {
      throw new UsageError(`invalid provider reference "${ref}": ${(err as Error).message}`, { cause: err });
    }
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
    throw new UsageError(
      `unsupported provider reference "${ref}": use builtin:<name> or the path of a provider's JavaScript entry module`,
    );
  }
  const file = path.resolve(ref);
  return { ref: file, file };
}

const GENERIC_ENTRY = /^(main|index)$/;
const BUILD_DIRS = new Set(['dist', 'src', 'lib', 'build', 'out']);

/**
 * The provider id for `start provider`: `--id`, else the builtin name, else the entry file's name
 * without its extension (for `main.js`/`index.js`, the name of the folder above the build folder:
 * providers/keyvalue/dist/main.js → keyvalue).
 */
export function defaultProviderId(ref: { ref: string; builtin?: string; file?: string }, explicit?: string): string {
  if (explicit !== undefined) return checkProviderId(explicit);
  let id = ref.builtin ?? '';
  if (ref.file) {
    id = path.basename(ref.file).replace(/\.[cm]?js$/i, '');
    if (GENERIC_ENTRY.test(id)) {
      let dir = path.dirname(ref.file);
      while (BUILD_DIRS.has(path.basename(dir)) && path.dirname(dir) !== dir) dir = path.dirname(dir);
      id = path.basename(dir);
    }
  }
  try {
    return checkProviderId(id);
  } catch (err) {
    throw new WasmeshError(
      'WASMESH_ERR_INVALID_NAME',
      `the reference gives provider id "${id}", which is not valid (use 1-128 letters, digits, '-' or '_'); pass --id`,
      { cause: err, details: { what: 'provider id', value: id } },
    );
  }
}

interface StartOptions extends LatticeOptions {
  id?: string;
  host?: string;
  config?: string[];
  mode?: ProviderMode;
}

interface StopOptions extends LatticeOptions {
  host?: string;
}

/** The records of the lattice's providers, by id. */
async function providerRecords(client: LatticeClient): Promise<Map<string, ProviderView>> {
  const entries = await (await client.state()).providers.entries();
  return new Map([...entries].map(([id, r]) => [id, providerView(r)]));
}

/**
 * Where providers run, by `<providerId>@<hostId>`, from the inventories of `hostIds` (the registry
 * has no mode: the supervising host knows it). A host that does not answer is left out: its
 * providers' mode shows as unknown rather than failing the listing.
 */
async function providerModes(control: ControlClient, hostIds: Iterable<string>): Promise<Map<string, string>> {
  const inventories = await Promise.all([...new Set(hostIds)].map((h) => control.inventory(h).catch(() => null)));
  const modes = new Map<string, string>();
  for (const inv of inventories) {
    for (const p of inv?.providers ?? []) modes.set(`${p.providerId}@${inv!.host?.hostId}`, p.mode ?? '');
  }
  return modes;
}

/**
 * Where a provider goes without --host: the host supervising the fewest providers (by the
 * registry), then running the fewest actors, then the first by id.
 */
async function pickHost(ctx: OpContext): Promise<HostRef> {
  const hosts = await ctx.control.ping();
  if (hosts.length === 0) {
    throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `no hosts answered in lattice "${ctx.client.lattice}"`);
  }
  const providersOn = new Map<string, number>();
  for (const r of (await providerRecords(ctx.client)).values()) {
    providersOn.set(r.hostId, (providersOn.get(r.hostId) ?? 0) + 1);
  }
  const loads = await Promise.all(
    hosts.map(async (h) => {
      const actors = await ctx.control
        .inventory(h.hostId)
        .then((inv) => inv.actors.length)
        .catch(() => Number.MAX_SAFE_INTEGER);
      return { host: h, providers: providersOn.get(h.hostId) ?? 0, actors };
    }),
  );
  loads.sort((a, b) => a.providers - b.providers || a.actors - b.actors || a.host.hostId.localeCompare(b.host.hostId));
  const best = loads[0]!.host;
  return { hostId: best.hostId, friendlyName: best.friendlyName };
}

/** Registers `start provider`, `stop provider` and `get providers` on `program`. */
export function registerProviderCommands(program: Command): void {
  registerStart(program);
  registerStop(program);
  registerGetProviders(program);
}

function registerStart(program: Command): void {
  const start = commandGroup(program, 'start', 'start something in the lattice', [
    'wasmesh start provider builtin:keyvalue',
  ]);
  examples(
    latticeOptions(
      start
        .command('provider')
        .description('start a capability provider on one host, which supervises it')
        .argument('<ref>', 'builtin:<name> (a first-party provider) or the path of a provider entry module (.js)')
        .option(
          '--id <id>',
          "provider id (letters, digits, '-', '_'); default: the builtin name, or the entry file's name",
        )
        .option('--host <host-id>', 'start it on this host (default: the host supervising the fewest providers)')
        .option('--config <name>', 'named config for the provider itself (repeatable, merged in order)', collect)
        .addOption(
          new Option(
            '--mode <mode>',
            "in-process (inside the host process) or process (its own); default: the host's",
          ).choices(PROVIDER_MODES),
        ),
      TIMEOUT,
    ),
    [
      'wasmesh start provider builtin:keyvalue',
      'wasmesh start provider builtin:http-server --id http --mode process    # isolated from the host',
      'wasmesh config put kv-mem backend=memory && wasmesh start provider builtin:keyvalue --id kv --config kv-mem',
      'wasmesh start provider ./my-provider/dist/main.js --host NBX3…QW    # provider id "my-provider"',
      'wasmesh start provider builtin:keyvalue --json',
    ],
    'A path is sent to the host as an absolute path and read by the host from its own file system.\n' +
      'The host supervises the provider: restarts it when it fails (with backoff) and checks its health.\n' +
      '--mode process runs it as a process of its own (`node <entry>`, a clean environment); --mode\n' +
      "in-process runs it inside the host process: calls with that host's actors skip NATS, but a\n" +
      "native crash or an event-loop stall of the provider is the host's. A provider of your own runs\n" +
      'in-process only if its module exports providerDefinition(env). Without --mode the host decides: in-process for built-ins,\n' +
      'process for the others. The command waits until the provider has registered (provider_started),\n' +
      'or fails with the reason: an unknown reference or config (exit status 6), or\n' +
      'WASMESH_ERR_PROVIDER_FAILED with its exit status and the end of its stderr (exit status 3).\n' +
      'With --json: {ok, provider, host: {hostId, friendlyName}, mode, contract, artifactRef, pid}\n' +
      '(mode: where the host runs it, "" when the host does not say).',
  ).action(async (rawRef: string, opts: StartOptions) => {
    const ref = providerRef(rawRef);
    const providerId = defaultProviderId(ref, opts.id);
    const config = (opts.config ?? []).map((n) => checkToken('config name', n));
    const timeoutMs = opts.timeoutMs ?? TIMEOUT.defaultMs;
    await withLattice(opts, (client) =>
      withOps(
        client,
        timeoutMs,
        async (ctx) => {
          let host: HostRef;
          if (opts.host !== undefined) {
            const inv = inventoryView(await ctx.control.inventory(opts.host));
            host = { hostId: opts.host, friendlyName: inv.host.friendlyName };
          } else {
            host = await pickHost(ctx);
          }
          const { hostId } = host;
          // The host answers once the provider registered, or with what stopped it. Its answer is
          // awaited even when provider_started arrives first: a request left pending would keep
          // this process alive until its deadline.
          try {
            await withProgress(`waiting for provider ${providerId} to start on host ${hostLabel(host)}…`, () =>
              ctx.control.startProvider({ hostId, providerId, artifactRef: ref.ref, config, mode: opts.mode }),
            );
          } catch (err) {
            if (!(err instanceof WasmeshError)) throw err;
            throw new WasmeshError(
              err.code,
              `cannot start provider ${providerId} on host ${hostLabel(host)}: ${err.message}`,
              {
                cause: err,
                details: { ...err.details, provider: providerId, host: hostId },
              },
            );
          }
          // What it registered: its provider_started event (none when it already ran), else its record.
          const provider = (await ctx.watch.waitFor(
            (e) =>
              e.type === 'provider_started' &&
              e.data.provider?.providerId === providerId &&
              (!e.data.provider.hostId || e.data.provider.hostId === hostId)
                ? providerView(e.data.provider)
                : undefined,
            Date.now() + EVENT_AFTER_ACK_MS,
          )) ??
            (await providerRecords(client)).get(providerId) ?? {
              ...providerView(undefined),
              providerId,
              hostId,
              artifactRef: ref.ref,
            };
          const mode = (await providerModes(ctx.control, [hostId])).get(`${providerId}@${hostId}`) ?? '';
          if (opts.json) {
            printJson({
              ok: true,
              provider: providerId,
              host: { hostId, friendlyName: host.friendlyName ?? '' },
              mode,
              contract: provider.contract,
              artifactRef: provider.artifactRef || ref.ref,
              pid: provider.pid,
            });
          } else {
            const contract = provider.contract ? `, contract ${provider.contract}` : '';
            const how = mode ? `, mode ${mode}` : '';
            const pid = provider.pid ? `, pid ${provider.pid}` : '';
            printLines([`started provider ${providerId} on host ${hostLabel(host)}${contract}${how}${pid}`]);
          }
        },
        ['provider_started'],
      ),
    );
  });
}

function registerStop(program: Command): void {
  const stop = commandGroup(program, 'stop', 'stop something in the lattice', ['wasmesh stop provider keyvalue']);
  examples(
    latticeOptions(
      stop
        .command('provider')
        .description('stop a provider on every host supervising it, or on the one --host names')
        .argument('<id>', 'the provider id')
        .option('--host <host-id>', 'stop it on this host only'),
      TIMEOUT,
    ),
    ['wasmesh stop provider keyvalue', 'wasmesh stop provider kv --host NBX3…QW --json'],
    'The provider gets SIGTERM (SIGKILL after 10 s) and the command returns once its process is gone\n' +
      '(provider_stopped has been published by then). A provider no host supervises is\n' +
      'WASMESH_ERR_NOT_FOUND (exit status 6). With --json: {ok, provider, hosts: [{hostId, friendlyName}]}.',
  ).action(async (id: string, opts: StopOptions) => {
    const providerId = checkProviderId(id);
    const timeoutMs = opts.timeoutMs ?? TIMEOUT.defaultMs;
    await withLattice(opts, (client) =>
      withOps(
        client,
        timeoutMs,
        async (ctx) => {
          let candidates: HostRef[];
          if (opts.host !== undefined) {
            candidates = [{ hostId: opts.host }];
          } else {
            // The registry names the host of the last instance that registered; any host may
            // supervise one with the same id, so every host is asked.
            candidates = (await ctx.control.ping()).map((h) => ({ hostId: h.hostId, friendlyName: h.friendlyName }));
          }
          const stopped = await withProgress(`waiting for provider ${providerId} to stop…`, () =>
            allOrFirstError(
              candidates.map((host) =>
                ctx.control.stopProvider({ hostId: host.hostId, providerId }).then(
                  () => host,
                  (err: unknown) => {
                    // Without --host, hosts that do not supervise it do not count.
                    if (
                      opts.host === undefined &&
                      err instanceof WasmeshError &&
                      err.code === 'WASMESH_ERR_NOT_FOUND'
                    ) {
                      return undefined;
                    }
                    throw err instanceof WasmeshError
                      ? new WasmeshError(
                          err.code,
                          `cannot stop provider ${providerId} on host ${hostLabel(host)}: ${err.message}`,
                          {
                            cause: err,
                            details: { ...err.details, provider: providerId, host: host.hostId },
                          },
                        )
                      : err;
                  },
                ),
              ),
              (i) => candidates[i]!.hostId,
            ),
          );
          const hosts = stopped.filter((h) => h !== undefined);
          if (hosts.length === 0) {
            const rec = (await providerRecords(client)).get(providerId);
            const how = rec && !rec.hostId ? ' (it is registered, but runs on its own: stop it where it runs)' : '';
            throw new WasmeshError(
              'WASMESH_ERR_NOT_FOUND',
              `provider "${providerId}" is not supervised by any host in lattice "${client.lattice}"${how}`,
              { details: { provider: providerId } },
            );
          }
          if (opts.json) {
            printJson({
              ok: true,
              provider: providerId,
              hosts: hosts.map((h) => ({ hostId: h.hostId, friendlyName: h.friendlyName ?? '' })),
            });
          } else {
            printLines(hosts.map((h) => `stopped provider ${providerId} on host ${hostLabel(h)}`));
          }
        },
        ['provider_stopped'],
      ),
    );
  });
}

function registerGetProviders(program: Command): void {
  const get = commandGroup(program, 'get', 'show the hosts, links and config of the lattice and what hosts run', [
    'wasmesh get providers',
  ]);
  examples(
    latticeOptions(get.command('providers').description('list the providers registered in the lattice')),
    ['wasmesh get providers', 'wasmesh get providers --json'],
    'From the lattice registry (each running provider registers itself), with the MODE its host reports\n' +
      '(in-process: inside the host process; process: its own; - when the host does not answer). With\n' +
      '--json: an array of {providerId, contract, hostId, artifactRef, startedAtMs, pid, annotations, mode}.\n' +
      'NOTES shows the annotations a provider registers, e.g. the url the HTTP server listens on.',
  ).action(async (opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const records = [...(await providerRecords(client)).values()];
      const modes = await providerModes(
        client.control,
        records.filter((p) => p.hostId).map((p) => p.hostId),
      );
      const providers = records
        .map((p) => ({ ...p, mode: modes.get(`${p.providerId}@${p.hostId}`) ?? p.mode }))
        .sort((a, b) => a.providerId.localeCompare(b.providerId));
      if (opts.json) return printJson(providers);
      if (providers.length === 0) return note(`no providers in lattice "${client.lattice}"`);
      printLines(
        table(
          ['PROVIDER', 'CONTRACT', 'HOST ID', 'MODE', 'PID', 'UPTIME', 'REF', 'NOTES'],
          providers.map((p) => [
            p.providerId,
            p.contract,
            p.hostId || '-',
            p.mode || '-',
            p.pid ? String(p.pid) : '-',
            p.startedAtMs ? formatDuration(Date.now() - p.startedAtMs) : '-',
            p.artifactRef,
            Object.entries(p.annotations)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ') || '-',
          ]),
        ),
      );
    });
  });
}
