#!/usr/bin/env node
/**
 * `wasmesh-operator`: runs the Kubernetes operator in the foreground. It deploys Application
 * objects (core.oam.dev/v1beta1, the format of deploy/apps/*.yaml) to a lattice through its app
 * store and writes their status back; HostGroups (wasmesh.dev/v1alpha1) become Deployments or
 * DaemonSets of host pods. Run two replicas for high availability: one leads (a
 * coordination.k8s.io Lease), the other takes over when the lease expires. Logs (JSON) go to
 * stderr; SIGINT/SIGTERM stop reconciling (waiting for reconciles in flight), release the Lease
 * and exit 0. A failure to start is one error line and a non-zero exit status; so is a lattice
 * connection that closes for good (after the Lease is released), so Kubernetes restarts the pod.
 * With `--metrics-listen` it serves Prometheus metrics; traces and metrics go over OTLP as the
 * OTEL_* environment says.
 */
import { Command, Option } from 'commander';
import {
  CONNECT_TIMEOUT,
  createLogger,
  examples,
  flagsAccess,
  intFlag,
  latticeOptions,
  note,
  printJson,
  runServiceBin,
  serveUntilStopped,
  setupTelemetry,
  withoutServers,
  type LatticeOptions,
} from '@wasmesh/lattice';
import { Operator } from '../operator.js';

interface OperatorCommandOptions extends LatticeOptions {
  kubeconfig?: string;
  namespace?: string;
  leaderElectionNamespace?: string;
  id?: string;
  leaseMs: number;
  imageDir?: string;
  metricsListen?: string;
}

const program = examples(
  latticeOptions(
    new Command('wasmesh-operator')
      .description(
        'run the Kubernetes operator: Applications deployed to a lattice, HostGroups as host pods (several may run: one leads)',
      )
      .option(
        '--kubeconfig <file>',
        'kubeconfig file (default: in-cluster config in a pod, else KUBECONFIG, else ~/.kube/config)',
      )
      .option('--namespace <ns>', 'watch Applications of this namespace only (default: every namespace)')
      .option(
        '--leader-election-namespace <ns>',
        'namespace of the leader Lease "wasmesh-operator" (default: the pod’s namespace, else --namespace, else default)',
      )
      .option('--id <id>', 'this replica’s identity in the Lease and in Events (default: host name + random suffix)')
      .option(
        '--lease-ms <n>',
        'leader lease: a lost leader is replaced after this',
        intFlag('--lease-ms', 1000, 600_000),
        15_000,
      )
      .option(
        '--image-dir <dir>',
        'read actor images given as relative paths from this directory (and only there); without it images must be sha256: or oci://',
      )
      .addOption(
        new Option(
          '--metrics-listen <host:port>',
          'serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free one, printed when running)',
        ).env('WASMESH_METRICS_LISTEN'),
      ),
    CONNECT_TIMEOUT,
  ),
  [
    'wasmesh operator --kubeconfig ~/.kube/config --nats tls://127.0.0.1:4222 --creds admin.creds --tls-ca ca.pem',
    'wasmesh-operator --namespace apps --lattice staging --id operator-1',
    'kubectl apply -f deploy/crds/ && kubectl apply -f app.yaml && kubectl get applications',
    'wasmesh-operator --metrics-listen 0.0.0.0:9464   # Prometheus scrapes /metrics there (a pod port)',
  ],
  'An Application namespace/name becomes lattice app <namespace>_<name>; its version is\n' +
    'metadata.annotations.version, else g<generation>. Deleting the object undeploys and deletes\n' +
    'the app (finalizer wasmesh.dev/undeploy). Status: phase Deployed|Reconciling|Failed|Undeployed,\n' +
    'conditions Ready and Synced; `kubectl describe application NAME` lists its Events.',
).action(async (opts: OperatorCommandOptions) => {
  // Before the operator exists: what it records comes from the meter set up here. Its id (host
  // name and a random suffix unless --id) is known once it started; exporters wait for it.
  const telemetry = await setupTelemetry({
    serviceName: 'wasmesh-operator',
    metricsListen: opts.metricsListen || undefined,
    instanceId: 'later',
    attributes: { 'wasmesh.lattice': opts.lattice },
  });
  try {
    const operator = await Operator.start({
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      ...(opts.leaderElectionNamespace ? { leaderElectionNamespace: opts.leaderElectionNamespace } : {}),
      ...(opts.id ? { id: opts.id } : {}),
      ...(opts.imageDir ? { imageDir: opts.imageDir } : {}),
      leaseMs: opts.leaseMs,
      natsUrl: opts.nats.split(','),
      ...withoutServers(flagsAccess(opts)),
      lattice: opts.lattice,
      logger: createLogger({ component: 'operator' }),
    });
    telemetry.identify(operator.id);
    const { metricsUrl } = telemetry;
    if (opts.json) {
      printJson({
        id: operator.id,
        lattice: opts.lattice,
        namespace: opts.namespace ?? null,
        ...(metricsUrl ? { metricsUrl } : {}),
      });
    } else {
      note(
        `operator ${operator.id} running for lattice "${opts.lattice}" in ${opts.namespace ? `namespace ${opts.namespace}` : 'all namespaces'}${metricsUrl ? `; metrics at ${metricsUrl}` : ''} (Ctrl-C to stop)`,
      );
    }
    // Closing stops reconciling and releases the Lease (Kubernetes is still there) before exiting.
    await serveUntilStopped(operator, 'operator');
  } finally {
    await telemetry.shutdown();
  }
});

await runServiceBin('wasmesh-operator', program);
