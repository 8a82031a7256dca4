/**
 * A real OCI registry for tests: CNCF distribution's `registry serve` (built by scripts/setup.sh),
 * on a free port of 127.0.0.1 with filesystem storage in its own temporary directory, optionally
 * behind htpasswd basic auth, and killed when the test process exits.
 *
 * With `auth: 'htpasswd'` the registry provisions its own htpasswd file (user `docker`, a random
 * password it logs) when the configured file is missing: the harness reads the password from that
 * log line, so no bcrypt code of ours is needed. With `auth: 'token'` the registry uses
 * distribution's token auth (the Bearer challenge flow Docker Hub and GHCR use), trusting a JWKS of
 * an ES256 key; the harness runs the token service on another loopback port, granting tokens to
 * one user (see {@link RegistryServer.credentials}).
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  detachServer,
  findBinary,
  setupBuiltBinary,
  launchInFreshDir,
  launchServer,
  OwnedServer,
  stopServer,
  waitReady,
  type LaunchedServer,
} from './processes.js';
import { freePort } from './redis-server.js';

/** How long a start waits for the registry to answer `GET /v2/`. */
const START_TIMEOUT_MS = 15_000;
/** The user the registry provisions in a missing htpasswd file. */
const HTPASSWD_USER = 'docker';

const INSTALL_HINT =
  'run `bash scripts/setup.sh` in the repository (it builds the pinned registry into ~/.cache/wasmesh/bin), ' +
  'or set REGISTRY_BIN to a CNCF distribution registry binary';

/** The registry binary: env REGISTRY_BIN, then the one scripts/setup.sh builds, then `registry` on PATH. */
export function findRegistryBinary(): string {
  return findBinary({
    name: 'registry',
    envVar: 'REGISTRY_BIN',
    preferred: [setupBuiltBinary('registry')],
    fallback: [],
    installHint: INSTALL_HINT,
  });
}

/** Options of {@link RegistryServer.start}. */
export interface RegistryServerOptions {
  /**
   * `htpasswd`: basic auth with a provisioned user; `token`: bearer tokens from a token service
   * the harness runs (see {@link RegistryServer.credentials}). @default 'none'
   */
  auth?: 'none' | 'htpasswd' | 'token';
}

/** A registry process owned by a test; see {@link RegistryServer.start}. */
export class RegistryServer extends OwnedServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `127.0.0.1:<port>`, the registry part of an `oci://` reference. */
  readonly host: string;

  private constructor(
    server: LaunchedServer,
    /** The port it listens on. */
    readonly port: number,
    /** Its temporary directory (removed by {@link stop}); blobs live under {@link storageDir}. */
    dir: string,
    /** The provisioned user and password of an htpasswd registry; undefined without auth. */
    readonly credentials: { username: string; password: string } | undefined,
    private readonly tokenService: http.Server | undefined,
  ) {
    super(server, dir);
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
  }

  /** Starts a registry on a free port and resolves once it answers; rejects with its output otherwise. */
  static async start(options: RegistryServerOptions = {}): Promise<RegistryServer> {
    const binary = findRegistryBinary();
    return launchInFreshDir('wasmesh-registry-', async (dir) =>
      RegistryServer.launch(binary, dir, await freePort(), options.auth ?? 'none'),
    );
  }

  /** The filesystem storage root (`docker/registry/v2/blobs/sha256/<2>/<hex>/data` holds each blob). */
  get storageDir(): string {
    return path.join(this.dir, 'data');
  }

  /** Where the registry keeps the blob of `digest` (`sha256:<hex>`): tests corrupt it there. */
  blobPath(digest: string): string {
    const hex = digest.replace(/^sha256:/, '');
    return path.join(this.storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  }

  protected override async afterStop(): Promise<void> {
    if (!this.tokenService) return;
    this.tokenService.closeAllConnections();
    await new Promise((resolve) => this.tokenService!.close(resolve));
  }

  /** Writes the config, spawns the registry on `port` and waits until it answers. */
  private static async launch(
    binary: string,
    dir: string,
    port: number,
    auth: 'none' | 'htpasswd' | 'token',
  ): Promise<RegistryServer> {
    const config = path.join(dir, 'config.yml');
    const htpasswd = path.join(dir, 'htpasswd');
    const token = auth === 'token' ? await startTokenService(dir) : undefined;
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: info',
        '  formatter: json',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}`,
        '  delete:',
        '    enabled: true',
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: false',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        ...(auth === 'htpasswd'
          ? ['auth:', '  htpasswd:', '    realm: wasmesh-test', `    path: ${JSON.stringify(htpasswd)}`]
          : []),
        ...(token
          ? [
              'auth:',
              '  token:',
              `    realm: ${token.realm}`,
              `    service: ${TOKEN_SERVICE}`,
              `    issuer: ${TOKEN_ISSUER}`,
              `    jwks: ${JSON.stringify(token.jwks)}`,
            ]
          : []),
        '',
      ].join('\n'),
    );
    const server = launchServer(`registry (${binary})`, binary, ['serve', config], {
      cwd: dir,
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none', OTEL_SDK_DISABLED: 'true' },
    });
    let credentials: { username: string; password: string } | undefined = token?.credentials;
    try {
      // An htpasswd registry is ready once it has also logged the user it provisioned.
      await waitReady(
        server,
        async () =>
          (await answers(port)) && (auth !== 'htpasswd' || (credentials = provisioned(server.log())) !== undefined),
        START_TIMEOUT_MS,
      );
    } catch (err) {
      await stopServer(server, 0);
      token?.server.close();
      throw err;
    }
    detachServer(server);
    return new RegistryServer(server, port, dir, credentials, token?.server);
  }
}

/** True when the registry on `port` answers `GET /v2/` (200, or 401 behind auth). */
async function answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

/** The password the registry logged when it provisioned the htpasswd file (JSON log lines). */
function provisioned(output: string): { username: string; password: string } | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('provisioning with default user')) continue;
    try {
      const entry = JSON.parse(line) as { user?: unknown; password?: unknown };
      if (entry.user === HTPASSWD_USER && typeof entry.password === 'string') {
        return { username: HTPASSWD_USER, password: entry.password };
      }
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** The service and issuer names of the harness's token service. */
const TOKEN_SERVICE = 'wasmesh-test-registry';
const TOKEN_ISSUER = 'wasmesh-test-token-service';
/** How long a token is valid. */
const TOKEN_TTL_S = 300;

/**
 * A token service of the docker token auth spec on a free loopback port: `GET /token?service=…&scope=…`
 * with the one user's basic auth answers `{token}`, an ES256 JWT granting the scope's actions; other
 * callers get 401. The registry trusts its key through the JWKS file written to `dir`.
 */
async function startTokenService(dir: string): Promise<{
  server: http.Server;
  realm: string;
  jwks: string;
  credentials: { username: string; password: string };
}> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomBytes(8).toString('hex');
  const jwks = path.join(dir, 'jwks.json');
  writeFileSync(
    jwks,
    JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' }] }),
  );
  const credentials = { username: 'token-user', password: randomBytes(16).toString('hex') };
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/token' || req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"unauthorized"}');
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const token = jwt(privateKey, kid, {
      iss: TOKEN_ISSUER,
      sub: credentials.username,
      aud: url.searchParams.get('service') ?? '',
      access,
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: TOKEN_TTL_S }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as { port: number };
  return { server, realm: `http://127.0.0.1:${port}/token`, jwks, credentials };
}

/** An ES256 JWT of `claims` (plus iat/nbf/exp/jti) signed by `key`. */
function jwt(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${part({ alg: 'ES256', typ: 'JWT', kid })}.${part({ ...claims, iat: now, nbf: now - 5, exp: now + TOKEN_TTL_S, jti: randomBytes(8).toString('hex') })}`;
  const signature = sign('sha256', Buffer.from(body), { key, dsaEncoding: 'ieee-p1363' });
  return `${body}.${signature.toString('base64url')}`;
}
