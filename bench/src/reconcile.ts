/**
 * The reconcile benchmark: how fast the app reconciler converges a lattice, measured against the
 * hosts' heartbeat interval (which bounds how soon a lost host can be noticed).
 *
 *   deploy   an app of `actors` actor components (distinct ids, one small wasm module pushed
 *            once, spreadscaler `instances: 3` each over every host), `deploy` → status `deployed`;
 *   recover  kill -9 of one of the 3 hosts → status `deployed` again with every actor's 3
 *            instances on the 2 hosts left (noticed after 2.5 missed heartbeats, then re-placed);
 *   oci      `oci_cold_start_ms`: an actor started by `oci://` reference on a host that never saw
 *            it, pull + compile + first call (see oci-cold-start.ts);
 *   k8s      `k8s_apply_to_deployed_ms`: `kubectl apply` of a 50-actor Application to phase
 *            Deployed and HTTP serving, through the operator (see k8s-apply.ts).
 *
 * One nats-server, 3 host processes (as in production, each its own Node process), a Reconciler
 * in this process (default interval 1000 ms, lease 3000 ms).
 *
 * Configuration (flags win over environment):
 *   --heartbeat-ms N  / BENCH_HEARTBEAT_MS  the hosts' heartbeat interval (default 2000, as in production)
 *   --actors N        / BENCH_ACTORS        actor components in the app (default 100)
 *   --timeout-ms N    / BENCH_TIMEOUT_MS    how long each phase may take (default 120000)
 */
import { readFileSync } from 'node:fs';
import { actorPath } from '@wasmesh/actors';
import { AppStore, loadManifest, MISSED_HEARTBEATS, Reconciler } from '@wasmesh/apps';
import { ControlClient, LatticeClient } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import { HostProcess, NatsServer } from '@wasmesh/test';
import { stopHost, unwind } from './child.js';
import { measureK8sApply } from './k8s-apply.js';
import { measureOciColdStart } from './oci-cold-start.js';
import { option, positive } from './runtime.js';
import { round } from './stats.js';

/** Settings of one run of the reconcile bench. */
export interface ReconcileBenchConfig {
  heartbeatMs: number;
  actors: number;
  timeoutMs: number;
}

const LATTICE = 'bench-reconcile';
const HOSTS = 3;
const INSTANCES = 3;
const APP = 'bench-many';
/** Actors of the Application the k8s phase applies. */
const K8S_ACTORS = 50;

function log(msg: string): void {
  process.stderr.write(`[bench reconcile] ${msg}\n`);
}

/** Reads the bench settings from `args` (flags after the bench name) and the environment. */
export function parseReconcileBenchConfig(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ReconcileBenchConfig {
  const get = (flag: string, name: string): string | undefined => option(args, env, flag, name);
  return {
    heartbeatMs: positive('heartbeat interval', get('--heartbeat-ms', 'BENCH_HEARTBEAT_MS'), 2000, true),
    actors: positive('actors', get('--actors', 'BENCH_ACTORS'), 100, true),
    timeoutMs: positive('timeout', get('--timeout-ms', 'BENCH_TIMEOUT_MS'), 120_000, true),
  };
}

/** The app: `actors` components of the same module, ids `bench-actor-000`…. */
function manifestText(actors: number, image: string): string {
  const components = Array.from({ length: actors }, (_, i) => ({
    name: `actor-${String(i).padStart(3, '0')}`,
    type: 'actor',
    properties: { image, id: `bench-actor-${String(i).padStart(3, '0')}` },
    traits: [{ type: 'spreadscaler', properties: { instances: INSTANCES } }],
  }));
  return JSON.stringify({
    apiVersion: 'core.oam.dev/v1beta1',
    kind: 'Application',
    metadata: { name: APP, annotations: { version: 'v1', description: 'reconcile bench' } },
    spec: { components },
  });
}

/** Polls until `fn` is true; returns the elapsed ms, or throws after `timeoutMs` naming `what`. */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, last: () => string): Promise<void> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${last()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether every actor of the app runs its full instance count over the hosts alive. */
async function fullyPlaced(control: ControlClient, hostIds: string[], actors: number): Promise<boolean> {
  const invs = await Promise.all(hostIds.map((h) => control.inventory(h)));
  const total = new Map<string, number>();
  for (const inv of invs)
    for (const a of inv.actors) total.set(a.actorId ?? '', (total.get(a.actorId ?? '') ?? 0) + (a.maxConcurrent ?? 0));
  return total.size === actors && [...total.values()].every((n) => n === INSTANCES);
}

/** Runs the reconcile bench and returns its JSON-ready result object. */
export async function runReconcileBench(args: readonly string[]): Promise<Record<string, unknown>> {
  const cfg = parseReconcileBenchConfig(args);
  log(`${cfg.actors} actors × ${INSTANCES} instances over ${HOSTS} hosts, heartbeat ${cfg.heartbeatMs} ms`);
  const cleanups: Array<[string, () => Promise<unknown>]> = [];
  try {
    const nats = await NatsServer.start();
    cleanups.push(['stop nats-server', () => nats[Symbol.asyncDispose]()]);
    log(`nats-server at ${nats.url}`);
    // The lattice's admin (the client and the reconciler); the first access adds its account.
    const admin = await nats.access(LATTICE);

    const hosts = await Promise.all(
      Array.from({ length: HOSTS }, async () =>
        HostProcess.start({ ...(await nats.processAccess(LATTICE)), lattice: LATTICE, heartbeatMs: cfg.heartbeatMs }),
      ),
    );
    for (const h of hosts) cleanups.push([`stop host ${h.hostId}`, () => stopHost(h, log)]);
    log(`hosts ${hosts.map((h) => h.pid).join(', ')}`);

    const client = await LatticeClient.connect({
      ...admin,
      lattice: LATTICE,
      name: 'wasmesh-bench-reconcile',
    });
    cleanups.push(['close lattice client', () => client.close()]);
    const control = new ControlClient(client.nc, client.subjects, 30_000);
    const store = await AppStore.open(client.nc, client.subjects);

    const { servers: natsUrl, ...auth } = admin;
    const reconciler = await Reconciler.start({
      natsUrl,
      ...auth,
      lattice: LATTICE,
      id: 'bench',
      heartbeatMs: cfg.heartbeatMs,
    });
    cleanups.push(['close reconciler', () => reconciler.close()]);
    let status: lattice.IAppStatus | undefined;
    const lastStatus = (): string => `last status ${JSON.stringify(status)}`;
    await until('the reconciler to lead', async () => reconciler.isLeader, cfg.timeoutMs, lastStatus);
    // Let it take its first snapshot of the hosts before the clock starts.
    await new Promise((r) => setTimeout(r, 1000));

    const ref = await (await client.objects()).pushArtifact(readFileSync(actorPath('echo')));
    const manifest = loadManifest(manifestText(cfg.actors, ref), { source: 'bench' });
    await store.put(manifest);

    // (a) deploy → deployed.
    const deployAt = performance.now();
    await store.deploy(APP);
    await until(
      'the app to be deployed',
      async () => (status = await store.status(APP))?.state === 'deployed',
      cfg.timeoutMs,
      lastStatus,
    );
    const deployMs = performance.now() - deployAt;
    log(`deployed in ${round(deployMs, 0)} ms (${reconciler.rounds} rounds so far)`);
    if (
      !(await fullyPlaced(
        control,
        hosts.map((h) => h.hostId),
        cfg.actors,
      ))
    )
      throw new Error('the app is deployed but its actors are not all placed');

    // (b) kill -9 of one host → deployed again, with every actor's instances on the two left.
    const victim = hosts[HOSTS - 1]!;
    const left = hosts.slice(0, HOSTS - 1).map((h) => h.hostId);
    const roundsBefore = reconciler.rounds;
    await victim.kill();
    const killAt = performance.now();
    const killWall = Date.now();
    // The reconciler's first action after the kill (an actor re-scaled on a host left) tells when
    // it noticed the loss; the status is written after a round's work, so it cannot.
    let noticedMs: number | undefined;
    const actions = client.events({ types: ['actor_started', 'actor_updated'] });
    void (async () => {
      for await (const _e of actions) {
        noticedMs ??= performance.now() - killAt;
        actions.close();
      }
    })();
    cleanups.push(['close event stream', async () => actions.close()]);
    await until(
      'the app to be deployed again without the killed host',
      async () => {
        status = await store.status(APP);
        return (
          status?.state === 'deployed' &&
          Number(status.updatedAtMs) > killWall &&
          (await fullyPlaced(control, left, cfg.actors))
        );
      },
      cfg.timeoutMs,
      lastStatus,
    );
    const recoverMs = performance.now() - killAt;
    log(`deployed again ${round(recoverMs, 0)} ms after the kill (first action after ${round(noticedMs ?? 0, 0)} ms)`);

    // (c) an actor started by oci:// reference on a host that never saw it.
    const oci = await measureOciColdStart(client, control, hosts[0]!.hostId);
    log(`oci:// cold start in ${oci.oci_cold_start_ms} ms`);

    // (d) kubectl apply of a 50-actor Application → Deployed and serving HTTP.
    const k8s = await measureK8sApply(client, admin, LATTICE, K8S_ACTORS, cfg.timeoutMs);
    log(`kubectl apply → Deployed in ${k8s.k8s_deployed_ms} ms, serving HTTP in ${k8s.k8s_apply_to_deployed_ms} ms`);

    return {
      deploy_100_ms: round(deployMs, 0),
      recover_after_kill_ms: round(recoverMs, 0),
      heartbeat_ms: cfg.heartbeatMs,
      recover_vs_heartbeat: round(recoverMs / cfg.heartbeatMs, 2),
      noticed_after_ms: noticedMs === undefined ? null : round(noticedMs, 0),
      loss_detection_bound_ms: MISSED_HEARTBEATS * cfg.heartbeatMs,
      recover_after_noticed_ms: noticedMs === undefined ? null : round(recoverMs - noticedMs, 0),
      actors: cfg.actors,
      instances_per_actor: INSTANCES,
      hosts: HOSTS,
      rounds_during_recovery: reconciler.rounds - roundsBefore,
      ...oci,
      ...k8s,
    };
  } finally {
    await unwind(cleanups, log);
  }
}
