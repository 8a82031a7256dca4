/**
 * A real Kubernetes control plane for tests: etcd + kube-apiserver (+ optionally
 * kube-controller-manager) on free loopback ports, in a private directory, with an admin kubeconfig.
 * There is no scheduler or kubelet: Pods stay Pending, so tests run the workloads themselves (host
 * processes stand in for pods). The binaries are built once per version by scripts/setup.sh
 * (scripts/k8s-testbin/build.sh) into ~/.cache/wasmesh/k8s/<version>.
 *
 * One cluster per test file is the intended use (start in `beforeAll`, a few seconds): give each
 * test its own namespace.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary, setupBuiltBinary, launchServer, stopServer, waitReady, type LaunchedServer } from './processes.js';
import { freePort } from './redis-server.js';

/** Options of {@link KubeCluster.start}. */
export interface KubeClusterOptions {
  /**
   * Also run kube-controller-manager with the garbage collector and the deployment, replicaset,
   * namespace, serviceaccount and serviceaccount-token controllers: needed where ownerReference
   * cascades, Deployment status or namespace deletion matter (default false).
   */
  controllerManager?: boolean;
  /**
   * Manifest files or directories (`kubectl apply -f`) applied, and their CRDs awaited Established,
   * before the controller-manager starts: its garbage collector then watches those kinds at once
   * (a CRD added later is picked up only at its ~30 s discovery resync).
   */
  manifests?: string[];
  /**
   * Admission plugins enabled on top of the apiserver's defaults (`--enable-admission-plugins`),
   * e.g. `OwnerReferencesPermissionEnforcement`, which production clusters often enable: an
   * ownerReference with blockOwnerDeletion then needs `update` on the owner's finalizers.
   */
  admissionPlugins?: string[];
}

/** What {@link KubeCluster.kubectl} and {@link KubeCluster.helm} resolve with. */
export interface CommandResult {
  /** Exit code (null when the command was killed, e.g. on timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link KubeCluster.kubectl} and {@link KubeCluster.helm}. */
export interface CommandOptions {
  /** Written to the command's standard input (e.g. a manifest for `apply -f -`). */
  input?: string;
  /** Killed after this long (default 60 s). */
  timeoutMs?: number;
}

/** The four control-plane commands scripts/k8s-testbin/build.sh builds. */
export type KubeCommand = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl';

/** How long each component may take to become ready. */
const START_TIMEOUT_MS = 60_000;
/** How long stop waits after SIGTERM before it sends SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 100;
/** Whole-cluster starts retried when a port chosen free was taken in between. */
const PORT_ATTEMPTS = 3;
const COMMAND_TIMEOUT_MS = 60_000;

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The wrapper module whose go.mod pins the Kubernetes version the setup builds. */
const TESTBIN_GO_MOD = path.resolve(HERE, '..', '..', '..', 'scripts', 'k8s-testbin', 'go.mod');
const INSTALL_HINT = 'run `bash scripts/setup.sh` in the repository (it builds them from the Go module proxy)';

/** The Kubernetes version the setup builds: k8s.io/kubernetes in scripts/k8s-testbin/go.mod. */
export function kubernetesVersion(): string {
  const version = /^\s*k8s\.io\/kubernetes (v\d+\.\d+\.\d+)$/m.exec(readFileSync(TESTBIN_GO_MOD, 'utf8'))?.[1];
  if (!version) throw new Error(`no k8s.io/kubernetes version in ${TESTBIN_GO_MOD}`);
  return version;
}

/**
 * Path of a control-plane binary: in $WASMESH_K8S_BIN_DIR if set, else in
 * $WASMESH_K8S_DIR/<version> (default ~/.cache/wasmesh/k8s/<version>), where the setup builds them.
 * Never from PATH: a distribution's kubectl of another version would mix versions silently.
 */
export function findKubeBinary(name: KubeCommand): string {
  const dir =
    process.env.WASMESH_K8S_BIN_DIR ||
    path.join(process.env.WASMESH_K8S_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'k8s'), kubernetesVersion());
  const file = path.join(dir, name);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`${name} not found at ${file}; ${INSTALL_HINT}`);
  }
  return file;
}

/** The helm binary: env HELM_BIN, then the one the setup builds ($WASMESH_BIN_DIR or ~/.cache/wasmesh/bin), then PATH. */
export function findHelmBinary(): string {
  return findBinary({
    name: 'helm',
    envVar: 'HELM_BIN',
    preferred: [setupBuiltBinary('helm')],
    fallback: [],
    installHint: `${INSTALL_HINT}, or set HELM_BIN to a helm binary`,
  });
}

/** One running component: its process, its output, and a promise of its end. */
type Component = LaunchedServer;

/** A running etcd + kube-apiserver (+ kube-controller-manager) owned by a test; see {@link KubeCluster.start}. */
export class KubeCluster implements AsyncDisposable {
  #stopping: Promise<void> | undefined;

  private constructor(
    /** Private directory: etcd data, PKI, tokens, kubeconfig (removed by {@link stop}). */
    readonly dir: string,
    /** The apiserver's URL, `https://127.0.0.1:<port>`. */
    readonly server: string,
    /** Admin kubeconfig (bearer token, the apiserver's self-signed certificate as CA). */
    readonly kubeconfig: string,
    private readonly components: Component[],
  ) {}

  /**
   * Starts etcd, then kube-apiserver (resolves once `/readyz` answers 200), applies
   * `options.manifests`, then the controller-manager if asked (once `/healthz` answers). Rejects
   * with the failing component's output; nothing is left running then.
   */
  static async start(options: KubeClusterOptions = {}): Promise<KubeCluster> {
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-kube-'));
      const components: Component[] = [];
      try {
        return await KubeCluster.launch(dir, components, options);
      } catch (err) {
        await stopAll(components);
        await rm(dir, { recursive: true, force: true });
        if (attempt >= PORT_ATTEMPTS || !/address already in use/i.test((err as Error).message)) throw err;
      }
    }
  }

  /** The output of each component so far, by name (etcd, kube-apiserver, …): print it when a test fails. */
  logs(): Record<string, string> {
    return Object.fromEntries(this.components.map((c) => [c.name, c.log()]));
  }

  /** Runs the setup's kubectl against this cluster (`--kubeconfig` set); never rejects on a non-zero exit. */
  kubectl(args: string[], options: CommandOptions = {}): Promise<CommandResult> {
    return runCommand(
      findKubeBinary('kubectl'),
      ['--kubeconfig', this.kubeconfig, '--cache-dir', path.join(this.dir, 'kubectl-cache'), ...args],
      {},
      options,
    );
  }

  /** Runs the setup's helm against this cluster, with helm's config, cache and data kept in {@link dir}. */
  helm(args: string[], options: CommandOptions = {}): Promise<CommandResult> {
    const home = path.join(this.dir, 'helm');
    const env = {
      KUBECONFIG: this.kubeconfig,
      HELM_CACHE_HOME: path.join(home, 'cache'),
      HELM_CONFIG_HOME: path.join(home, 'config'),
      HELM_DATA_HOME: path.join(home, 'data'),
    };
    return runCommand(findHelmBinary(), args, env, options);
  }

  /**
   * A kubeconfig file that authenticates as ServiceAccount `namespace/name` (which must exist) with
   * a token of the TokenRequest API (`kubectl create token`, signed with the apiserver's
   * service-account key, valid one hour): a component run with it has exactly the permissions RBAC
   * gives that account, as in a pod, instead of the admin's.
   */
  async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    const token = (await this.mustKubectl(['create', 'token', name, '-n', namespace, '--duration=1h'])).trim();
    const file = path.join(this.dir, `kubeconfig-${namespace}-${name}`);
    const caFile = path.join(this.dir, 'pki', 'apiserver.crt');
    await writeFile(file, kubeconfigYaml(this.server, caFile, token, `${namespace}-${name}`), { mode: 0o600 });
    return file;
  }

  /** Stops every component (SIGTERM, SIGKILL after 5 s) and removes {@link dir}. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await stopAll(this.components);
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return this.#stopping;
  }

  /** Same as {@link stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private static async launch(dir: string, components: Component[], options: KubeClusterOptions): Promise<KubeCluster> {
    const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const token = randomBytes(24).toString('hex');
    const pki = path.join(dir, 'pki');
    await mkdir(pki);
    // Service-account token signing key (the apiserver signs, the controller-manager's token controller too).
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(pki, 'sa.key');
    const saPub = path.join(pki, 'sa.pub');
    await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const tokens = path.join(dir, 'tokens.csv');
    await writeFile(tokens, `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });

    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = launchServer(
      'etcd',
      findKubeBinary('etcd'),
      [
        '--name=test',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=test=${peerUrl}`,
        '--unsafe-no-fsync', // a throwaway store: no fsync makes writes (and the tests) much faster
        '--log-level=warn',
      ],
      { cwd: dir },
    );
    components.push(etcd);
    await waitReady(etcd, () => probe(`${etcdUrl}/readyz`, {}), START_TIMEOUT_MS, POLL_MS);

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = launchServer(
      'kube-apiserver',
      findKubeBinary('kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${pki}`, // no TLS flags: the apiserver self-signs pki/apiserver.crt for 127.0.0.1
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none', // else "Endpoints kubernetes is invalid" for a loopback address
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        ...(options.admissionPlugins?.length
          ? [`--enable-admission-plugins=${options.admissionPlugins.join(',')}`]
          : []),
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokens}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
      ],
      { cwd: dir },
    );
    components.push(apiserver);
    const caFile = path.join(pki, 'apiserver.crt');
    await waitReady(
      apiserver,
      async () => {
        if (!existsSync(caFile)) return false;
        return probe(`${server}/readyz`, { ca: await readFile(caFile), headers: { authorization: `Bearer ${token}` } });
      },
      START_TIMEOUT_MS,
      POLL_MS,
    );

    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigYaml(server, caFile, token), { mode: 0o600 });
    const cluster = new KubeCluster(dir, server, kubeconfig, components);

    for (const manifest of options.manifests ?? []) await cluster.mustKubectl(['apply', '-f', manifest]);
    if (options.manifests?.length) {
      await cluster.mustKubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=30s']);
    }

    if (options.controllerManager) {
      const port = await freePort();
      const kcm = launchServer(
        'kube-controller-manager',
        findKubeBinary('kube-controller-manager'),
        [
          `--kubeconfig=${kubeconfig}`,
          `--authentication-kubeconfig=${kubeconfig}`,
          `--authorization-kubeconfig=${kubeconfig}`,
          '--authentication-skip-lookup=true',
          `--secure-port=${port}`,
          '--bind-address=127.0.0.1',
          `--cert-dir=${path.join(dir, 'kcm-pki')}`,
          '--leader-elect=false',
          '--controllers=garbagecollector,deployment,replicaset,namespace,serviceaccount,serviceaccount-token',
          '--use-service-account-credentials=false',
          `--service-account-private-key-file=${saKey}`,
          `--root-ca-file=${caFile}`,
        ],
        { cwd: dir },
      );
      components.push(kcm);
      // Its serving certificate is its own throwaway self-signed one: only liveness is checked here.
      await waitReady(
        kcm,
        () => probe(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false }),
        START_TIMEOUT_MS,
        POLL_MS,
      );
    }
    return cluster;
  }

  /** kubectl that must succeed (setup steps): its stdout; rejects with its output otherwise. */
  private async mustKubectl(args: string[]): Promise<string> {
    const result = await this.kubectl(args);
    if (result.code !== 0) {
      throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr || result.stdout}`);
    }
    return result.stdout;
  }
}

/** A kubeconfig for `server`, trusting `caFile`, authenticating as `user` (the admin by default) with a bearer token. */
function kubeconfigYaml(server: string, caFile: string, token: string, user = 'admin'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${JSON.stringify(server)}`,
    `    certificate-authority: ${JSON.stringify(caFile)}`,
    'users:',
    `- name: ${JSON.stringify(user)}`,
    '  user:',
    `    token: ${JSON.stringify(token)}`,
    'contexts:',
    '- name: test',
    `  context: {cluster: test, user: ${JSON.stringify(user)}, namespace: default}`,
    'current-context: test',
    '',
  ].join('\n');
}

/** True when GET `url` answers 200. */
function probe(url: string, options: https.RequestOptions): Promise<boolean> {
  const get = url.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve) => {
    const req = get(url, { ...options, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

/** Stops every component still running, newest first. */
async function stopAll(components: Component[]): Promise<void> {
  for (const component of [...components].reverse()) await stopServer(component, STOP_TIMEOUT_MS);
}

/** Runs `file args` with `env` added, collecting its output; resolves with the exit code, never rejects on one. */
function runCommand(
  file: string,
  args: string[],
  env: Record<string, string>,
  options: CommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
