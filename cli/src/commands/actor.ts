/**
 * Actor lifecycle across the lattice: `wasmesh start|scale|stop|update actor …`. Every change is a
 * control request to one host, and the command waits for that host's lattice event (actor_started,
 * actor_stopped, actor_updated, or actor_failed with the error) before it reports.
 */
import { Option, type Command } from 'commander';
import { checkToken, intFlag, keyValueFlag, UsageError, WasmeshError } from '@wasmesh/lattice';
import {
  collect,
  commandGroup,
  examples,
  latticeOptions,
  printJson,
  printLines,
  shortDigest,
  table,
  withLattice,
  type LatticeOptions,
} from '../common.js';
import {
  allOrFirstError,
  checkActorId,
  defaultActorId,
  describeConstraints,
  hostArtifactRef,
  hostLabel,
  inventoryView,
  notRunning,
  replicasOf,
  startOn,
  stopOn,
  updateOn,
  withOps,
  type HostRef,
  type OpContext,
  type Replica,
} from '../lattice-ops.js';

const TIMEOUT = {
  defaultMs: 30_000,
  help: 'how long to wait in ms for the hosts to do it (the module is fetched and compiled first)',
};
const MAX_REPLICAS = 10_000;

interface StartOptions extends LatticeOptions {
  id?: string;
  host?: string;
  constraint?: Record<string, string>;
  maxConcurrent?: number;
  config?: string[];
}

interface ScaleOptions extends LatticeOptions {
  constraint?: Record<string, string>;
}

interface TargetOptions extends LatticeOptions {
  host?: string;
}

/** A group command (`start`, `scale`, …) with an `actor` subcommand. */
function group(program: Command, name: string, description: string, lines: string[]): Command {
  return commandGroup(program, name, description, lines);
}

/** The host `--host` names, with its friendly name; `WASMESH_ERR_NOT_FOUND` when no such host answers. */
async function namedHost(ctx: OpContext, hostId: string): Promise<HostRef> {
  const inv = inventoryView(await ctx.control.inventory(hostId));
  return { hostId, friendlyName: inv.host.friendlyName };
}

/** The hosts a stop or update acts on: `--host`, else every host running the actor. */
async function targets(ctx: OpContext, actorId: string, hostId: string | undefined): Promise<Replica[]> {
  if (hostId === undefined) {
    const replicas = await replicasOf(ctx.control, actorId);
    if (replicas.length === 0) throw notRunning(actorId, ctx.client.lattice);
    return replicas;
  }
  const inv = inventoryView(await ctx.control.inventory(hostId));
  const actor = inv.actors.find((a) => a.actorId === actorId);
  if (!actor) {
    throw new WasmeshError(
      'WASMESH_ERR_NOT_FOUND',
      `actor "${actorId}" is not running on host ${hostLabel(inv.host)}`,
      {
        details: { actor: actorId, host: hostId },
      },
    );
  }
  return [{ host: inv.host, actor, actorsOnHost: inv.actors.length }];
}

/** Parses the replica count of `scale`: an integer ≥ 0. */
function replicaCount(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_REPLICAS) {
    throw new UsageError(`the replica count must be an integer in 0..${MAX_REPLICAS}, got "${raw}"`);
  }
  return Number(raw);
}

/** Registers `start actor`, `scale actor`, `stop actor` and `update actor` on `program`. */
export function registerActorCommands(program: Command): void {
  registerStart(program);
  registerScale(program);
  registerStop(program);
  registerUpdate(program);
}

function registerStart(program: Command): void {
  const start = group(program, 'start', 'start something in the lattice', [
    'wasmesh start actor sha256:3f…9a --id greeter',
  ]);
  examples(
    latticeOptions(
      start
        .command('actor')
        .description(
          'start an actor on one host: the one --host names, or the least loaded host matching the constraints',
        )
        .argument(
          '<ref>',
          'artifact: sha256:<hex> from `wasmesh push`, oci://REGISTRY/REPO:TAG (or …@sha256:<hex>), or a path / file:// URL of a module',
        )
        .option('--id <id>', "actor id (letters, digits, '-', '_'); default: the file name without .wasm")
        .addOption(new Option('--host <host-id>', 'start it on this host').conflicts('constraint'))
        .option('--constraint <key=value>', 'only hosts with this label (repeatable)', keyValueFlag('--constraint'))
        .option(
          '--max-concurrent <n>',
          "invocations at once on the host (default: the host's default)",
          intFlag('--max-concurrent', 1, 100_000),
        )
        .option(
          '--config <name>',
          'named config the actor reads as its own: wasi:config, allowed_outbound_hosts (repeatable; later names win)',
          collect,
        ),
      TIMEOUT,
    ),
    [
      'REF=$(wasmesh push actors/build/echo.wasm) && wasmesh start actor "$REF" --id echo',
      'wasmesh start actor sha256:3f…9a --id echo --constraint zone=eu-1 --max-concurrent 16',
      'wasmesh config put fetcher allowed_outbound_hosts=https://api.example.com && wasmesh start actor fetcher.wasm --config fetcher',
      'wasmesh start actor /srv/actors/hello.wasm --host NBX3…QW      # actor id "hello"',
      'wasmesh start actor sha256:3f…9a --id echo --json',
      'wasmesh start actor oci://ghcr.io/me/echo:v1 --id echo     # the host pulls it (docker config credentials)',
    ],
    'A file reference is sent to the host as an absolute path and read by the host from its own file\n' +
      "system, so the file must exist on the host's machine; for remote hosts, `wasmesh push` the module\n" +
      'and start it by its sha256: reference. Without --host, hosts matching every --constraint that do\n' +
      'not run the actor yet bid in an auction and the least loaded one gets it. The command waits until\n' +
      'the host reports the actor running (or failed: invalid module, missing export, unknown artifact…).\n' +
      'With --json: {ok, actor, host: {hostId, friendlyName}, digest, artifactRef, maxConcurrent}.',
  ).action(async (ref: string, opts: StartOptions) => {
    const artifact = hostArtifactRef(ref);
    const actorId = defaultActorId(artifact, opts.id);
    const timeoutMs = opts.timeoutMs ?? TIMEOUT.defaultMs;
    await withLattice(opts, (client) =>
      withOps(client, timeoutMs, async (ctx) => {
        let host: HostRef;
        if (opts.host !== undefined) {
          host = await namedHost(ctx, opts.host);
        } else {
          const offers = await ctx.control.auction({
            actorId,
            artifactRef: artifact.ref,
            constraints: opts.constraint ?? {},
          });
          const best = offers[0];
          if (!best) {
            throw new WasmeshError(
              'WASMESH_ERR_NOT_FOUND',
              `no host in lattice "${client.lattice}" matches the constraints ${describeConstraints(opts.constraint ?? {})}` +
                ` (or every matching host already runs actor "${actorId}")`,
              { details: { actor: actorId, constraints: opts.constraint ?? {} } },
            );
          }
          host = { hostId: best.hostId, friendlyName: best.friendlyName };
        }
        const actor = await startOn(ctx, host, {
          actorId,
          artifactRef: artifact.ref,
          ...(opts.maxConcurrent === undefined ? {} : { maxConcurrent: opts.maxConcurrent }),
          config: (opts.config ?? []).map((name) => checkToken('--config name', name)),
        });
        if (opts.json) {
          printJson({
            ok: true,
            actor: actorId,
            host: { hostId: host.hostId, friendlyName: host.friendlyName ?? '' },
            digest: actor.digest,
            artifactRef: actor.artifactRef,
            maxConcurrent: actor.maxConcurrent,
          });
        } else {
          printLines([`started actor ${actorId} on host ${hostLabel(host)}, digest ${actor.digest}`]);
        }
      }),
    );
  });
}

function registerScale(program: Command): void {
  const scale = group(program, 'scale', 'change how many hosts run something', ['wasmesh scale actor echo 3']);
  examples(
    latticeOptions(
      scale
        .command('actor')
        .description('run an actor on exactly N hosts (N replicas), starting or stopping it where needed')
        .argument('<id>', 'the actor id')
        .argument('<n>', 'the number of hosts that should run it (0 stops it everywhere)')
        .option(
          '--constraint <key=value>',
          'new replicas only on hosts with this label (repeatable)',
          keyValueFlag('--constraint'),
        )
        // Lets a negative count through to the check below instead of "unknown option '-1'".
        .allowUnknownOption(),
      TIMEOUT,
    ),
    [
      'wasmesh scale actor echo 3',
      'wasmesh scale actor echo 5 --constraint zone=eu-1',
      'wasmesh scale actor echo 0              # stop it everywhere',
      'wasmesh scale actor echo 2 --json',
    ],
    'N counts hosts (replicas), not instances: each replica serves with its own max-concurrency, and\n' +
      'calls are spread across replicas by the NATS queue group of the actor. New replicas use the\n' +
      'artifact and max-concurrency of a running replica (so the actor must run somewhere: use\n' +
      '`wasmesh start actor` first) and go to the least loaded hosts that bid; surplus replicas are\n' +
      'stopped on the most loaded hosts first.\n' +
      'With --json: {ok, actor, replicas, hosts: [{hostId, friendlyName, digest, maxConcurrent}], started, stopped}.',
  ).action(async (id: string, rawCount: string, opts: ScaleOptions) => {
    for (const arg of [id, rawCount]) {
      if (arg.startsWith('--')) throw new UsageError(`unknown option '${arg}'`);
    }
    const actorId = checkActorId(id);
    const wanted = replicaCount(rawCount);
    const timeoutMs = opts.timeoutMs ?? TIMEOUT.defaultMs;
    await withLattice(opts, (client) =>
      withOps(client, timeoutMs, async (ctx) => {
        const replicas = await replicasOf(ctx.control, actorId);
        let result = replicas.map((r) => ({
          hostId: r.host.hostId,
          friendlyName: r.host.friendlyName,
          digest: r.actor.digest,
          maxConcurrent: r.actor.maxConcurrent,
        }));
        const started: string[] = [];
        const stopped: string[] = [];
        if (wanted > replicas.length) {
          const template = replicas[0];
          if (!template) {
            throw new WasmeshError(
              'WASMESH_ERR_NOT_FOUND',
              `actor "${actorId}" is not running in lattice "${client.lattice}": scale needs a running replica; use start actor`,
              { details: { actor: actorId } },
            );
          }
          const need = wanted - replicas.length;
          const offers = await ctx.control.auction({
            actorId,
            artifactRef: template.actor.artifactRef,
            constraints: opts.constraint ?? {},
          });
          if (offers.length < need) {
            throw new WasmeshError(
              'WASMESH_ERR_NOT_FOUND',
              `cannot scale actor "${actorId}" to ${wanted} replicas: it runs on ${replicas.length} host(s) and only ` +
                `${offers.length} more host(s) match the constraints ${describeConstraints(opts.constraint ?? {})}`,
              { details: { actor: actorId, replicas: replicas.length, wanted, available: offers.length } },
            );
          }
          const chosen = offers.slice(0, need).map((o) => ({ hostId: o.hostId, friendlyName: o.friendlyName }));
          const actors = await allOrFirstError(
            chosen.map((host) =>
              startOn(ctx, host, {
                actorId,
                artifactRef: template.actor.artifactRef,
                maxConcurrent: template.actor.maxConcurrent,
                config: template.actor.config ?? [],
              }),
            ),
            (i) => chosen[i]!.hostId,
          );
          chosen.forEach((host, i) => {
            started.push(host.hostId);
            const actor = actors[i]!;
            result.push({ ...host, digest: actor.digest, maxConcurrent: actor.maxConcurrent });
          });
        } else if (wanted < replicas.length) {
          // Stop where the most actors run (then where the fewest calls are in flight, so it drains fast).
          const surplus = [...replicas]
            .sort(
              (a, b) =>
                b.actorsOnHost - a.actorsOnHost ||
                a.actor.inFlight - b.actor.inFlight ||
                a.host.hostId.localeCompare(b.host.hostId),
            )
            .slice(0, replicas.length - wanted);
          await allOrFirstError(
            surplus.map((r) => stopOn(ctx, r.host, actorId)),
            (i) => surplus[i]!.host.hostId,
          );
          stopped.push(...surplus.map((r) => r.host.hostId));
          result = result.filter((r) => !stopped.includes(r.hostId));
        }
        result.sort((a, b) => a.hostId.localeCompare(b.hostId));
        if (opts.json) {
          printJson({ ok: true, actor: actorId, replicas: result.length, hosts: result, started, stopped });
          return;
        }
        const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
        const lines = [
          `actor ${actorId}: ${plural(result.length, 'replica')} (started on ${plural(started.length, 'host')}, ` +
            `stopped on ${plural(stopped.length, 'host')})`,
        ];
        if (result.length > 0) {
          lines.push(
            ...table(
              ['HOST ID', 'NAME', 'DIGEST', 'MAX CONCURRENT'],
              result.map((r) => [r.hostId, r.friendlyName, shortDigest(r.digest), String(r.maxConcurrent)]),
            ),
          );
        }
        printLines(lines);
      }),
    );
  });
}

function registerStop(program: Command): void {
  const stop = group(program, 'stop', 'stop something in the lattice', ['wasmesh stop actor echo']);
  examples(
    latticeOptions(
      stop
        .command('actor')
        .description('stop an actor on every host running it, or on the one --host names')
        .argument('<id>', 'the actor id')
        .option('--host <host-id>', 'stop it on this host only'),
      TIMEOUT,
    ),
    ['wasmesh stop actor echo', 'wasmesh stop actor echo --host NBX3…QW --json'],
    "In-flight invocations finish first (up to the host's drain timeout). An actor that runs nowhere is\n" +
      'WASMESH_ERR_NOT_FOUND (exit status 6). With --json: {ok, actor, hosts: [{hostId, friendlyName}]}.',
  ).action(async (id: string, opts: TargetOptions) => {
    const actorId = checkActorId(id);
    await withLattice(opts, (client) =>
      withOps(client, opts.timeoutMs ?? TIMEOUT.defaultMs, async (ctx) => {
        const hosts = (await targets(ctx, actorId, opts.host)).map((r) => ({
          hostId: r.host.hostId,
          friendlyName: r.host.friendlyName,
        }));
        await allOrFirstError(
          hosts.map((h) => stopOn(ctx, h, actorId)),
          (i) => hosts[i]!.hostId,
        );
        if (opts.json) printJson({ ok: true, actor: actorId, hosts });
        else printLines(hosts.map((h) => `stopped actor ${actorId} on host ${hostLabel(h)}`));
      }),
    );
  });
}

function registerUpdate(program: Command): void {
  const update = group(program, 'update', 'change something running in the lattice', [
    'wasmesh update actor echo sha256:77…c1',
  ]);
  examples(
    latticeOptions(
      update
        .command('actor')
        .description('move an actor to a new artifact on every host running it (or on the one --host names)')
        .argument('<id>', 'the actor id')
        .argument(
          '<new-ref>',
          'artifact: sha256:<hex> from `wasmesh push`, oci://REGISTRY/REPO:TAG (or …@sha256:<hex>), or a path / file:// URL of a module',
        )
        .option('--host <host-id>', 'update it on this host only'),
      TIMEOUT,
    ),
    [
      'wasmesh update actor echo $(wasmesh push actors/build/echo.wasm)',
      'wasmesh update actor echo sha256:77…c1 --host NBX3…QW --json',
      'wasmesh update actor echo oci://ghcr.io/me/echo:v1   # the tag is resolved again: a moved tag is picked up',
    ],
    'In-flight invocations finish on the old module; new ones go to the new module. File references are\n' +
      'read by each host from its own file system (see `wasmesh start actor --help`). With --json:\n' +
      '{ok, actor, artifactRef, hosts: [{hostId, friendlyName, digest, previousDigest, revision, unchanged}]}.\n' +
      'The reference is resolved again even when it is the one the actor runs: a moved oci:// tag is\n' +
      'swapped in; a tag that did not move leaves the actor as it is (unchanged: true, nothing recompiled).',
  ).action(async (id: string, ref: string, opts: TargetOptions) => {
    const actorId = checkActorId(id);
    const artifact = hostArtifactRef(ref);
    await withLattice(opts, (client) =>
      withOps(client, opts.timeoutMs ?? TIMEOUT.defaultMs, async (ctx) => {
        const replicas = await targets(ctx, actorId, opts.host);
        const results = await allOrFirstError(
          replicas.map((r) => updateOn(ctx, r.host, actorId, artifact.ref)),
          (i) => replicas[i]!.host.hostId,
        );
        const hosts = replicas.map((r, i) => ({
          hostId: r.host.hostId,
          friendlyName: r.host.friendlyName,
          digest: results[i]!.actor.digest,
          previousDigest: results[i]!.previousDigest || r.actor.digest,
          revision: results[i]!.actor.revision,
          // The host swapped nothing: the reference still names the module it runs (a tag that did not move).
          unchanged: results[i]!.actor.revision === r.actor.revision,
        }));
        if (opts.json) {
          printJson({ ok: true, actor: actorId, artifactRef: artifact.ref, hosts });
          return;
        }
        printLines(
          hosts.map((h) =>
            h.unchanged
              ? `actor ${actorId} on host ${hostLabel(h)} unchanged: ${shortDigest(h.digest)}`
              : `updated actor ${actorId} on host ${hostLabel(h)}: ${shortDigest(h.previousDigest)} -> ${shortDigest(h.digest)}`,
          ),
        );
      }),
    );
  });
}
