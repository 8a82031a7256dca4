/**
 * `wasmesh app …`: declarative applications. `validate` checks a manifest offline; `put` stores a
 * version (pushing actor modules given as paths to the lattice object store); `deploy` puts a file
 * or picks a stored version and waits until the reconciler reports it deployed (progress on
 * stderr); `undeploy`, `delete`, `list` (also `get apps`), `status` and `versions` do what they say.
 * Desired state goes to the lattice's KV directly, so it needs no reconciler to be reachable; the
 * waits say clearly when no reconciler runs.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { AppStore, loadManifest, MAX_MANIFEST_BYTES, resolveImages, type AppManifest } from '@wasmesh/apps/client';
import { openBucket, readInputFile, WasmeshError, type LatticeClient } from '@wasmesh/lattice';
import { ContractId, lattice } from '@wasmesh/proto';
import {
  commandGroup,
  examples,
  formatDuration,
  latticeOptions,
  note,
  printJson,
  printLines,
  table,
  withLattice,
  type LatticeOptions,
} from '../common.js';

interface WaitOptions extends LatticeOptions {
  wait?: boolean;
}

/** How long `failed` must last before a wait gives up on it. */
const FAILED_FOR_MS = 2000;

const WAIT = { defaultMs: 120_000, help: 'how long to wait in ms for the reconciler to finish' };

/** Reads (a regular file of at most {@link MAX_MANIFEST_BYTES}) and validates a manifest file. */
export async function readManifest(file: string): Promise<AppManifest> {
  const text = (await readInputFile(file, 'manifest', MAX_MANIFEST_BYTES)).toString('utf8');
  return loadManifest(text, { source: file });
}

/** Validates `file`, resolves its images (pushing actor modules) and stores it as a version. */
async function putFile(client: LatticeClient, store: AppStore, file: string) {
  const manifest = await readManifest(file);
  const objects = await client.objects();
  const resolved = await resolveImages(manifest, process.cwd(), (bytes, description) =>
    objects.pushArtifact(bytes, description),
  );
  const { created } = await store.put(resolved);
  return { manifest: resolved, created };
}

/** Waits until `name` reaches `want` (and `version`, when given); progress on stderr. */
async function waitFor(
  client: LatticeClient,
  store: AppStore,
  name: string,
  want: 'deployed' | 'undeployed',
  version: string,
  timeoutMs: number,
  sinceMs = 0,
): Promise<lattice.IAppStatus> {
  const start = Date.now();
  let last = '';
  let checkedReconciler = false;
  let failedSince = 0;
  for (;;) {
    const status = await store.status(name);
    const state = status?.state ?? '';
    const line = `${state || 'waiting'}${status?.message ? `: ${status.message}` : ''}`;
    // `sinceMs`: only a status written from then on counts (an earlier run's may be stale).
    const current =
      (want === 'undeployed' || status?.version === version) && Number(status?.updatedAtMs ?? 0) >= sinceMs;
    if (current && state === want) return status!;
    // A failure must hold for a while: a round may see a host that is still joining as missing.
    if (current && state === 'failed' && failedSince === 0) failedSince = Date.now();
    if (state !== 'failed') failedSince = 0;
    if (failedSince && Date.now() - failedSince >= FAILED_FOR_MS) {
      throw new WasmeshError('WASMESH_ERR_APP_FAILED', `app "${name}" ${version} failed: ${status?.message}`, {
        details: { app: name, version },
      });
    }
    if (!checkedReconciler && Date.now() - start > 3000) {
      checkedReconciler = true;
      const leases = await openBucket(client.nc, client.subjects, 'leases', lattice.Lease);
      const lease = await leases.get('reconciler');
      if (!lease || Number(lease.expiresAtMs) < Date.now()) {
        throw new WasmeshError(
          'WASMESH_ERR_UNAVAILABLE',
          `no reconciler runs in lattice "${client.lattice}" to act on app "${name}": start one with \`wasmesh up\` or \`wasmesh reconciler\` (the app is stored and will be reconciled then)`,
          { details: { app: name } },
        );
      }
    }
    if (Date.now() - start > 1000 && line !== last) {
      note(`app ${name}: ${line}`);
      last = line;
    }
    if (Date.now() - start > timeoutMs) {
      throw new WasmeshError(
        'WASMESH_ERR_TIMEOUT',
        `app "${name}" was not ${want} within ${timeoutMs} ms (last status: ${line})`,
        { details: { app: name, timeoutMs } },
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Puts and deploys manifest `file`, and waits until it is deployed, by a status written at or after
 * `sinceMs` (e.g. when a fresh reconciler started, so a status an earlier run left does not count).
 */
export async function deployFile(
  client: LatticeClient,
  file: string,
  sinceMs = 0,
  timeoutMs = WAIT.defaultMs,
): Promise<{ manifest: AppManifest; status: lattice.IAppStatus }> {
  const store = await AppStore.open(client.nc, client.subjects);
  const { manifest } = await putFile(client, store, file);
  const { version } = await store.deploy(manifest.name);
  return { manifest, status: await waitFor(client, store, manifest.name, 'deployed', version, timeoutMs, sinceMs) };
}

/**
 * Where to try an app over HTTP: the url each of its HTTP servers registered, with the path
 * prefix of each route linked to it (`http://127.0.0.1:8080/counter`).
 */
export async function appUrls(client: LatticeClient, manifest: AppManifest): Promise<string[]> {
  const providers = (await client.state()).providers;
  const values = new Map(manifest.config.map((c) => [c.name, c.values]));
  const urls = new Set<string>();
  for (const c of manifest.components) {
    if (c.kind !== 'actor') continue;
    for (const l of c.links) {
      if (l.contract !== ContractId.HTTPSERVER || !l.targetId) continue;
      const url = (await providers.get(l.targetId))?.annotations?.url;
      const prefix = l.config.map((n) => values.get(n)?.path).find((p) => p !== undefined) ?? '';
      if (url) urls.add(`${url}${prefix === '/' ? '' : prefix}`);
    }
  }
  return [...urls];
}

function statusView(name: string, s: lattice.IAppStatus | undefined) {
  return {
    name,
    version: s?.version ?? '',
    state: s?.state ?? '',
    message: s?.message ?? '',
    updatedAtMs: Number(s?.updatedAtMs ?? 0),
    deployedAtMs: Number(s?.deployedAtMs ?? 0),
    providers: (s?.providers ?? []).map((p) => ({ providerId: p.providerId ?? '', hostId: p.hostId ?? '' })),
    links: [...(s?.links ?? [])],
    config: [...(s?.config ?? [])],
  };
}

async function listApps(opts: LatticeOptions): Promise<void> {
  await withLattice(opts, async (client) => {
    const apps = await (await AppStore.open(client.nc, client.subjects)).list();
    if (opts.json) return printJson(apps);
    if (apps.length === 0) return note(`no apps in lattice "${client.lattice}" (wasmesh app deploy FILE)`);
    printLines(
      table(
        ['NAME', 'LATEST', 'DEPLOYED', 'STATUS', 'DESCRIPTION'],
        apps.map((a) => [
          a.name,
          a.latestVersion,
          a.deployedVersion || '-',
          a.state ? `${a.state}${a.message ? `: ${a.message}` : ''}` : '-',
          a.description,
        ]),
      ),
    );
  });
}

/** Registers the `app` commands and `get apps` on `program`. */
export function registerAppCommands(program: Command): void {
  const app = commandGroup(program, 'app', 'declarative applications (OAM manifests) kept true by the reconciler', [
    'wasmesh app validate deploy/apps/kvcounter.yaml',
    'wasmesh app deploy deploy/apps/kvcounter.yaml',
    'wasmesh app status kvcounter',
    'wasmesh app list',
    'wasmesh app undeploy kvcounter',
  ]);

  examples(
    app
      .command('validate')
      .description('check a manifest (YAML or JSON) without a lattice; every problem is listed with its path')
      .argument('<file>', 'the manifest file')
      .option('--json', 'print the normalized app as JSON (errors too, as {"ok":false,"error":{…}})'),
    ['wasmesh app validate deploy/apps/kvcounter.yaml', 'wasmesh app validate app.yaml --json | jq .components'],
    'The JSON Schema of the format ships as @wasmesh/apps/schema.json (apps/schema/wasmesh-app.schema.json);\n' +
      'point your editor at it. Exit status 2 when the manifest is invalid.',
  ).action(async (file: string, opts: { json?: boolean }) => {
    const manifest = await readManifest(file);
    if (opts.json) printJson(manifest);
    else
      process.stdout.write(
        `${file}: valid app "${manifest.name}" ${manifest.version}: ${manifest.components.length} components, ` +
          `${manifest.config.length} config\n`,
      );
  });

  examples(
    latticeOptions(
      app.command('put').description('store a manifest as a new version (does not deploy it)').argument('<file>'),
    ),
    ['wasmesh app put deploy/apps/kvcounter.yaml'],
    'Actor images given as paths are pushed to the lattice object store. Putting the same content\n' +
      'again changes nothing; the same version with other content is refused (exit 2).',
  ).action(async (file: string, opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const store = await AppStore.open(client.nc, client.subjects);
      const { manifest, created } = await putFile(client, store, file);
      if (opts.json) return printJson({ name: manifest.name, version: manifest.version, created });
      note(`${created ? 'stored' : 'unchanged:'} app ${manifest.name} ${manifest.version}`);
    });
  });

  examples(
    latticeOptions(
      app
        .command('deploy')
        .description('deploy a manifest file, or a stored app (latest or given version), and wait until it runs')
        .argument('<file-or-name>', 'a manifest file (put, then deployed) or the name of a stored app')
        .argument('[version]', 'with a name: the version to deploy (default: the latest)')
        .option('--no-wait', 'return once the deployment is recorded'),
      WAIT,
    ),
    [
      'wasmesh app deploy deploy/apps/kvcounter.yaml',
      'wasmesh app deploy kvcounter v0.1.0',
      'wasmesh app deploy app.yaml --no-wait --json',
    ],
    'Deploying another version upgrades in place: only components that changed are touched.\n' +
      'Exit status: 0 deployed, 3 the reconciler reports it failed (the reason is printed),\n' +
      '4 not deployed in time, 5 no reconciler runs (start one: wasmesh up, or wasmesh reconciler).',
  ).action(async (target: string, version: string | undefined, opts: WaitOptions) => {
    await withLattice(opts, async (client) => {
      const store = await AppStore.open(client.nc, client.subjects);
      let name = target;
      if (existsSync(target) && !version) name = (await putFile(client, store, target)).manifest.name;
      const deployed = await store.deploy(name, version);
      if (opts.wait !== false) {
        const status = await waitFor(
          client,
          store,
          name,
          'deployed',
          deployed.version,
          opts.timeoutMs ?? WAIT.defaultMs,
        );
        if (opts.json) return printJson(statusView(name, status));
      } else if (opts.json) return printJson({ name, version: deployed.version, changed: deployed.changed });
      note(`app ${name} ${deployed.version} ${opts.wait === false ? 'deploying' : 'deployed'}`);
    });
  });

  examples(
    latticeOptions(
      app
        .command('undeploy')
        .description('stop everything the app started (and nothing else), keeping its versions')
        .argument('<name>')
        .option('--no-wait', 'return once the undeployment is recorded'),
      WAIT,
    ),
    ['wasmesh app undeploy kvcounter'],
  ).action(async (name: string, opts: WaitOptions) => {
    await withLattice(opts, async (client) => {
      const store = await AppStore.open(client.nc, client.subjects);
      await store.undeploy(name);
      if (opts.wait !== false) await waitFor(client, store, name, 'undeployed', '', opts.timeoutMs ?? WAIT.defaultMs);
      if (opts.json) return printJson({ name, undeployed: true });
      note(`app ${name} undeployed`);
    });
  });

  examples(
    latticeOptions(
      app.command('delete').description('delete every stored version of an undeployed app').argument('<name>'),
    ),
    ['wasmesh app delete kvcounter'],
  ).action(async (name: string, opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      await (await AppStore.open(client.nc, client.subjects)).delete(name);
      if (opts.json) return printJson({ name, deleted: true });
      note(`app ${name} deleted`);
    });
  });

  examples(latticeOptions(app.command('list').description('list the apps, their versions and status')), [
    'wasmesh app list',
    'wasmesh app list --json',
  ]).action(listApps);

  examples(
    latticeOptions(app.command('status').description("show an app's status and what it owns").argument('<name>')),
    ['wasmesh app status kvcounter', 'wasmesh app status kvcounter --json'],
  ).action(async (name: string, opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const store = await AppStore.open(client.nc, client.subjects);
      const record = await store.record(name);
      const view = { ...statusView(name, await store.status(name)), deployedVersion: record.deployedVersion ?? '' };
      if (opts.json) return printJson(view);
      printLines([
        `app        ${name}`,
        `deployed   ${view.deployedVersion || '-'}`,
        `status     ${view.state || 'not reconciled yet'}${view.message ? `: ${view.message}` : ''}`,
        `updated    ${view.updatedAtMs ? `${formatDuration(Date.now() - view.updatedAtMs)} ago` : '-'}`,
        `providers  ${view.providers.map((p) => `${p.providerId}@${p.hostId.slice(0, 12)}`).join(', ') || '-'}`,
        `links      ${view.links.join(', ') || '-'}`,
        `config     ${view.config.join(', ') || '-'}`,
      ]);
    });
  });

  examples(
    latticeOptions(app.command('versions').description('list the stored versions of an app').argument('<name>')),
    ['wasmesh app versions kvcounter'],
  ).action(async (name: string, opts: LatticeOptions) => {
    await withLattice(opts, async (client) => {
      const record = await (await AppStore.open(client.nc, client.subjects)).record(name);
      const rows = (record.versions ?? []).map((v) => ({
        version: v.version ?? '',
        digest: v.digest ?? '',
        createdAtMs: Number(v.createdAtMs ?? 0),
        deployed: v.version === record.deployedVersion,
      }));
      if (opts.json) return printJson(rows);
      printLines(
        table(
          ['VERSION', 'DEPLOYED', 'CREATED', 'DIGEST'],
          rows.map((r) => [
            r.version,
            r.deployed ? 'yes' : '',
            `${formatDuration(Date.now() - r.createdAtMs)} ago`,
            r.digest.slice(0, 'sha256:'.length + 12),
          ]),
        ),
      );
    });
  });

  const get = commandGroup(program, 'get', 'show the hosts, links and config of the lattice and what hosts run', [
    'wasmesh get apps',
  ]);
  examples(latticeOptions(get.command('apps').description('list the apps (same as wasmesh app list)')), [
    'wasmesh get apps',
  ]).action(listApps);
}
