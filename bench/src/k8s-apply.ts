/**
 * `k8s_apply_to_deployed_ms` (part of the reconcile bench): `kubectl apply` of an Application of
 * 50 actors (kvcounter behind the http-server provider, and 49 echo actors) to its phase
 * `Deployed` and its HTTP route answering, through the operator (in this process) and the lattice's
 * reconciler, against a real kube-apiserver + etcd started for the purpose. `k8s_deployed_ms` is
 * the part until the phase reads Deployed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { actorPath } from '@wasmesh/actors';
import type { LatticeClient, NatsAccess } from '@wasmesh/lattice';
import { APPLICATION, Operator, type ApplicationObject } from '@wasmesh/operator';
import { freePort, KubeCluster } from '@wasmesh/test';
import { round } from './stats.js';

const CRDS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'crds');
const NAME = 'bench-k8s';
const NAMESPACE = 'bench';

/** The Application: kvcounter with its providers (one each) and `actors - 1` echo actors. */
function application(actors: number, kvcounter: string, echo: string, port: number): string {
  const echoes = Array.from({ length: actors - 1 }, (_, i) => ({
    name: `echo-${String(i).padStart(3, '0')}`,
    type: 'actor',
    properties: { image: echo, id: `bench-k8s-echo-${String(i).padStart(3, '0')}` },
    traits: [{ type: 'spreadscaler', properties: { instances: 1 } }],
  }));
  const one = [{ type: 'spreadscaler', properties: { instances: 1 } }];
  return JSON.stringify({
    apiVersion: APPLICATION.apiVersion,
    kind: APPLICATION.kind,
    metadata: { name: NAME, namespace: NAMESPACE, annotations: { version: 'v1' } },
    spec: {
      components: [
        {
          name: 'counter',
          type: 'actor',
          properties: { image: kvcounter, id: 'bench-k8s-counter' },
          traits: [
            ...one,
            {
              type: 'link',
              properties: { target: 'http', contract: 'wasmesh:httpserver', config: { path: '/counter' } },
            },
            {
              type: 'link',
              properties: {
                target: 'kv',
                contract: 'wasmesh:keyvalue',
                config: { backend: 'nats', bucket: 'bench-k8s' },
              },
            },
          ],
        },
        ...echoes,
        {
          name: 'http',
          type: 'capability',
          properties: { image: 'builtin:http-server', config: { address: `127.0.0.1:${port}` } },
          traits: one,
        },
        { name: 'kv', type: 'capability', properties: { image: 'builtin:keyvalue' }, traits: one },
      ],
    },
  });
}

/** Polls `fn` every 20 ms until true, or throws naming `what` after `timeoutMs`. */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts a cluster and an operator for `lattice` (reached with `access`), applies the Application
 * and times it. The lattice must have a leading reconciler and hosts.
 */
export async function measureK8sApply(
  client: LatticeClient,
  access: NatsAccess,
  lattice: string,
  actors: number,
  timeoutMs: number,
): Promise<{ k8s_apply_to_deployed_ms: number; k8s_deployed_ms: number; k8s_actors: number }> {
  const cluster = await KubeCluster.start({ manifests: [CRDS] });
  let operator: Operator | undefined;
  try {
    operator = await Operator.start({
      kubeconfig: cluster.kubeconfig,
      ...(access.servers ? { natsUrl: access.servers } : {}),
      ...(access.creds ? { creds: access.creds } : {}),
      ...(access.tlsCa ? { tlsCa: access.tlsCa } : {}),
      lattice,
      id: 'bench',
      leaderElectionNamespace: 'default',
      pollMs: 100,
    });
    const leading = operator;
    await until('the operator to lead', async () => leading.isLeader, timeoutMs);
    const objects = await client.objects();
    const kvcounter = await objects.pushArtifact(readFileSync(actorPath('kvcounter')));
    const echo = await objects.pushArtifact(readFileSync(actorPath('echo')));
    const port = await freePort();
    const created = await cluster.kubectl(['create', 'namespace', NAMESPACE]);
    if (created.code !== 0) throw new Error(`kubectl create namespace failed: ${created.stderr}`);
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const { group, version, plural } = APPLICATION;

    const startAt = performance.now();
    const applied = await cluster.kubectl(['apply', '-f', '-'], { input: application(actors, kvcounter, echo, port) });
    if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
    await until(
      'the Application to be Deployed',
      async () => {
        const app = (await api.getNamespacedCustomObject({
          group,
          version,
          plural,
          namespace: NAMESPACE,
          name: NAME,
        })) as ApplicationObject;
        return app.status?.phase === 'Deployed';
      },
      timeoutMs,
    );
    const deployedMs = performance.now() - startAt;
    await until(
      'its HTTP route to answer',
      async () => (await fetch(`http://127.0.0.1:${port}/counter/bench`).catch(() => undefined))?.status === 200,
      timeoutMs,
    );
    const servingMs = performance.now() - startAt;
    return {
      k8s_apply_to_deployed_ms: round(servingMs, 0),
      k8s_deployed_ms: round(deployedMs, 0),
      k8s_actors: actors,
    };
  } finally {
    await operator?.close();
    await cluster.stop();
  }
}
