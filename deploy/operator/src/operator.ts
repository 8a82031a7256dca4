/**
 * The operator process: connects to Kubernetes and to the lattice, campaigns for the leader Lease,
 * and runs the controllers (Applications, HostGroups) only while it leads (a follower only waits, so two replicas never both
 * write). It talks to the lattice only through the app store and the object store: no second
 * source of truth. A change of an app's status in the lattice queues its Application at once.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { AppStore, type ReadImage } from '@wasmesh/apps';
import {
  DEFAULT_MAX_MODULE_BYTES,
  FileJail,
  LatticeClient,
  resolveAccess,
  silentLogger,
  WasmeshError,
  type Logger,
} from '@wasmesh/lattice';
import { ApplicationController } from './application/controller.js';
import { HostGroupController } from './hostgroup/controller.js';
import { APPLICATION, keyOfApp } from './application/mapping.js';
import { EventRecorder } from './runtime/events.js';
import { apiMessage, loadKubeConfig, podNamespace } from './runtime/kube.js';
import { LeaderElector } from './runtime/leader.js';

/** How long a ping of the lattice's hosts (for Service endpoints) waits for answers. */
const HOST_PING_MS = 250;

/** The component name in Events and the default Lease name. */
export const OPERATOR_NAME = 'wasmesh-operator';

/** Options of {@link Operator.start}. */
export interface OperatorOptions {
  /** A kubeconfig file (default: in-cluster config in a pod, else KUBECONFIG / ~/.kube/config). */
  kubeconfig?: string;
  /** A ready client configuration (tests, embedders); wins over `kubeconfig`. */
  kubeConfig?: KubeConfig;
  /** Watch Applications of this namespace only (default: every namespace the operator may list). */
  namespace?: string;
  /** The lattice apps are deployed to. @default 'default' */
  lattice?: string;
  /** NATS server URL(s) (default: env WASMESH_NATS_URL, else nats://127.0.0.1:4222). */
  natsUrl?: string | string[];
  /** NATS credentials file (default: env WASMESH_NATS_CREDS). */
  creds?: string;
  /** CA of the NATS server's TLS (default: env WASMESH_NATS_CA). */
  tlsCa?: string;
  /** This replica's identity in the Lease and in Events (default: host name + random suffix). */
  id?: string;
  /** Namespace of the leader Lease (default: the pod's namespace, else `namespace`, else `default`). */
  leaderElectionNamespace?: string;
  /** Name of the leader Lease. @default 'wasmesh-operator' */
  leaseName?: string;
  /** Lease duration. @default 15000 */
  leaseMs?: number;
  /**
   * A directory actor images given as relative paths are read from (and jailed in), pushed to the
   * lattice object store. Without it the operator reads no files: images must be `sha256:` or `oci://`.
   */
  imageDir?: string;
  /** How often a Reconciling Application is polled. @default 1000 */
  pollMs?: number;
  /** How often every Application is reconciled again. @default 30000 */
  resyncMs?: number;
  /** How long shutdown waits for reconciles in flight. @default 10000 */
  shutdownDeadlineMs?: number;
  logger?: Logger;
}

/** The image reader of an operator without an image directory: every file is refused. */
const noFiles: ReadImage = (file, what) =>
  Promise.reject(
    new WasmeshError(
      'WASMESH_ERR_USAGE',
      `the ${what} is a file (${file}), and this operator reads no files: use a sha256: or oci:// image (wasmesh push), or run the operator with --image-dir`,
      { details: { path: file } },
    ),
  );

/** See the module comment. */
export class Operator {
  readonly #elector: LeaderElector;
  /** The controllers of the current leadership term. */
  #term: { apps: ApplicationController; hostGroups: HostGroupController } | undefined;
  /** Serializes starting and stopping terms. */
  #transitions: Promise<void> = Promise.resolve();
  #statusWatch: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;

  private constructor(
    readonly id: string,
    private readonly client: LatticeClient,
    private readonly store: AppStore,
    private readonly controllerOptions: ConstructorParameters<typeof ApplicationController>[0],
    kc: KubeConfig,
    leaseNamespace: string,
    private readonly options: OperatorOptions,
  ) {
    const logger = controllerOptions.logger;
    this.#elector = new LeaderElector(kc, {
      namespace: leaseNamespace,
      name: options.leaseName ?? OPERATOR_NAME,
      id,
      ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
      logger,
      onStartedLeading: () => {
        logger.info({ id }, 'leading: reconciling Applications');
        void this.#transition(async () => {
          const term = {
            apps: new ApplicationController(this.controllerOptions),
            hostGroups: new HostGroupController({
              ...this.controllerOptions,
              defaults: {
                lattice: this.client.lattice,
                natsUrl: resolveAccess({ servers: options.natsUrl }).servers.join(','),
              },
            }),
          };
          this.#term = term;
          await Promise.all([term.apps.start(), term.hostGroups.start()]);
        });
      },
      onStoppedLeading: () => {
        logger.info({ id }, 'not leading: stopping reconciling');
        return this.#transition(() => this.#stopTerm());
      },
    });
  }

  /**
   * Connects to Kubernetes and the lattice, checks that Applications can be listed (the CRD is
   * installed, the operator may read them), and starts campaigning. Rejects with a `WasmeshError`
   * naming what failed.
   */
  static async start(options: OperatorOptions = {}): Promise<Operator> {
    const logger = options.logger ?? silentLogger();
    const kc = options.kubeConfig ?? loadKubeConfig(options.kubeconfig);
    await checkAccess(kc, options.namespace);
    const id = options.id ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
    const jail = options.imageDir
      ? FileJail.create('operator', [options.imageDir], DEFAULT_MAX_MODULE_BYTES)
      : undefined;
    const client = await LatticeClient.connect({
      ...(options.natsUrl ? { servers: options.natsUrl } : {}),
      ...(options.creds ? { creds: options.creds } : {}),
      ...(options.tlsCa ? { tlsCa: options.tlsCa } : {}),
      lattice: options.lattice,
      name: `${OPERATOR_NAME} ${id}`,
      logger,
    });
    try {
      const store = await AppStore.open(client.nc, client.subjects);
      const objects = await client.objects();
      const leaseNamespace = options.leaderElectionNamespace ?? podNamespace() ?? options.namespace ?? 'default';
      const operator = new Operator(
        id,
        client,
        store,
        {
          kc,
          store,
          push: (bytes) => objects.pushArtifact(bytes),
          readImage: jail ? (file, what) => jail.readFile(file, what) : noFiles,
          imageDir: jail?.realDirs[0] ?? process.cwd(),
          ...(options.namespace ? { namespace: options.namespace } : {}),
          events: new EventRecorder(kc, OPERATOR_NAME, id, logger),
          hosts: () => client.control.ping(HOST_PING_MS),
          ...(options.pollMs ? { pollMs: options.pollMs } : {}),
          ...(options.resyncMs ? { resyncMs: options.resyncMs } : {}),
          logger,
        },
        kc,
        leaseNamespace,
        options,
      );
      operator.#statusWatch = operator.#watchStatuses();
      operator.#elector.start();
      return operator;
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }

  /** True while this replica leads (and reconciles). */
  get isLeader(): boolean {
    return this.#elector.isLeader;
  }

  /**
   * Resolves when the lattice connection closes for good (it reconnects on its own otherwise, e.g.
   * while NATS restarts; it closes when the server refuses the credentials or on {@link close}):
   * the bin then exits with a failure, so a supervisor (Kubernetes) restarts it.
   */
  async closed(): Promise<void> {
    await this.client.nc.closed();
  }

  /** Stops reconciling (waiting for reconciles in flight up to the deadline), releases the Lease, disconnects. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#elector.close();
      await this.#transitions;
      await this.#stopTerm();
      await this.client.close().catch(() => undefined);
      await this.#statusWatch;
    })();
    return this.#closing;
  }

  /** Runs `step` after the transitions before it; resolves when it is done. */
  #transition(step: () => Promise<void>): Promise<void> {
    this.#transitions = this.#transitions.then(step).catch((err: unknown) => {
      this.controllerOptions.logger.error({ err: apiMessage(err) }, 'controller start/stop failed');
    });
    return this.#transitions;
  }

  async #stopTerm(): Promise<void> {
    const term = this.#term;
    this.#term = undefined;
    const deadline = this.options.shutdownDeadlineMs ?? 10_000;
    await Promise.all([term?.apps.stop(deadline), term?.hostGroups.stop(deadline)]);
  }

  /** Queues the Application of every app whose status changes in the lattice (until disconnected). */
  async #watchStatuses(): Promise<void> {
    try {
      for await (const change of this.store.statuses.watch()) {
        const key = keyOfApp(change.key);
        if (key) this.#term?.apps.enqueue(key);
      }
    } catch (err) {
      if (!this.#closing) this.controllerOptions.logger.warn({ err: apiMessage(err) }, 'app status watch ended');
    }
  }
}

/** Lists one Application to prove the API is reachable, the CRD installed and listing allowed. */
async function checkAccess(kc: KubeConfig, namespace: string | undefined): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = APPLICATION;
  try {
    if (namespace) await api.listNamespacedCustomObject({ group, version, namespace, plural, limit: 1 });
    else await api.listClusterCustomObject({ group, version, plural, limit: 1 });
  } catch (err) {
    const where = namespace ? `in namespace ${namespace}` : 'in all namespaces';
    throw new WasmeshError(
      'WASMESH_ERR_UNAVAILABLE',
      `cannot list Applications (${group}/${version}) ${where} at ${kc.getCurrentCluster()?.server}: ${apiMessage(err)} (is the CRD installed? kubectl apply -f deploy/crds/)`,
      { cause: err, details: { namespace: namespace ?? '' } },
    );
  }
}
