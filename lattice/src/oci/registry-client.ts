/**
 * A small client of the OCI distribution API v2 for one repository: blob and manifest push, manifest
 * and blob pull, with basic auth and the Bearer token challenge flow (`WWW-Authenticate: Bearer
 * realm=…,service=…,scope=…`) that distribution with token auth, Docker Hub, GHCR and others use.
 * Every request has a deadline; every body is read through a size cap while it streams; every
 * failure is a {@link WasmeshError} naming the reference.
 */
import { digestOf } from '../digest.js';
import { WasmeshError } from '../errors.js';
import { isLoopbackRegistry, type OciReference } from './reference.js';
import { dockerConfigPath, dockerCredentials, type RegistryCredentials } from './credentials.js';

/** How one registry is reached. */
export interface RegistryClientOptions {
  /** Credentials to use; default: the docker config file's entry for the registry, if any. */
  credentials?: RegistryCredentials;
  /** The docker config file to read credentials from; `null` reads none. @default dockerConfigPath() */
  dockerConfig?: string | null;
  /** Allow plain HTTP to a registry that is not on loopback. @default false */
  insecure?: boolean;
  /** Deadline of each request, in milliseconds. @default 30 000 */
  timeoutMs?: number;
  /**
   * Aborts every request of this client, those in flight included (body reads too): the deadline
   * of a whole operation such as a pull, which per-request deadlines alone do not bound.
   */
  signal?: AbortSignal;
}

/** Default deadline of one registry request. */
export const DEFAULT_REGISTRY_TIMEOUT_MS = 30_000;

/** What one request expects back. */
interface Call {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  /** A path under `/v2/<repository>/` or an absolute URL (an upload location). */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** What the request is, for messages: `manifest latest`, `blob sha256:…`. */
  what: string;
}

/** The token scope actions a call needs. */
type Access = 'pull' | 'pull,push';

/** The client of one repository; see {@link RegistryClient.for}. */
export class RegistryClient {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #options: RegistryClientOptions;
  /** The credentials, found on the first challenge (a docker credential helper may have to run). */
  #credentials: Promise<RegistryCredentials | undefined> | undefined;
  /** Whether credentials were found (for messages). */
  #hasCredentials = false;
  /** The Authorization header that last worked (basic or a bearer token), per access. */
  readonly #authorization = new Map<Access, string>();

  private constructor(
    private readonly ref: OciReference,
    options: RegistryClientOptions,
  ) {
    const plain = options.insecure === true || isLoopbackRegistry(ref.registry);
    this.#base = `${plain ? 'http' : 'https'}://${ref.registry}`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS;
    this.#signal = options.signal;
    this.#options = options;
  }

  /** The credentials to answer a challenge with: given, or from the docker config file (once). */
  #creds(): Promise<RegistryCredentials | undefined> {
    const { credentials, dockerConfig } = this.#options;
    this.#credentials ??= (
      credentials
        ? Promise.resolve(credentials)
        : dockerConfig === null
          ? Promise.resolve(undefined)
          : dockerCredentials(this.ref.registry, dockerConfig ?? dockerConfigPath())
    ).then((c) => {
      this.#hasCredentials = c !== undefined;
      return c;
    });
    return this.#credentials;
  }

  /** A client of the registry and repository of `ref`. */
  static for(ref: OciReference, options: RegistryClientOptions = {}): RegistryClient {
    return new RegistryClient(ref, options);
  }

  /** True when the repository holds the blob `digest` (`HEAD /v2/<repo>/blobs/<digest>`). */
  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.#send(
      { method: 'HEAD', path: `blobs/${digest}`, what: `blob ${digest}` },
      'pull,push',
      [200, 404],
    );
    return res.status === 200;
  }

  /** Uploads a blob unless the repository holds it: `POST …/blobs/uploads/`, then one monolithic `PUT`. */
  async pushBlob(bytes: Uint8Array, digest: string): Promise<void> {
    if (await this.hasBlob(digest)) return;
    const what = `blob ${digest}`;
    const start = await this.#send({ method: 'POST', path: 'blobs/uploads/', what }, 'pull,push', [202]);
    const location = start.headers.get('location');
    if (!location) throw this.#error('WASMESH_ERR_UNAVAILABLE', `the registry started no upload for ${what}`);
    const url = new URL(location, `${this.#base}/`);
    url.searchParams.set('digest', digest);
    await this.#send(
      {
        method: 'PUT',
        path: url.toString(),
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
        what,
      },
      'pull,push',
      [201],
    );
  }

  /** Stores `manifest` (its bytes, of `mediaType`) under `tag` or its digest; returns its digest. */
  async pushManifest(manifest: Uint8Array, mediaType: string, tag: string): Promise<string> {
    const digest = digestOf(manifest);
    const res = await this.#send(
      {
        method: 'PUT',
        path: `manifests/${tag}`,
        headers: { 'content-type': mediaType },
        body: manifest,
        what: `manifest ${tag}`,
      },
      'pull,push',
      [201],
    );
    const stored = res.headers.get('docker-content-digest');
    if (stored && stored !== digest) {
      throw this.#error(
        'WASMESH_ERR_DIGEST_MISMATCH',
        `the registry stored the manifest as ${stored}, but its bytes hash to ${digest}`,
        { expected: digest, actual: stored },
      );
    }
    return digest;
  }

  /**
   * Fetches the manifest `tagOrDigest` (accepting `accept` media types), at most `maxBytes`, and
   * returns its bytes, digest and media type. The bytes are checked against the digest the
   * reference pins, and against the registry's `Docker-Content-Digest` header when it sends one.
   */
  async pullManifest(
    tagOrDigest: string,
    accept: readonly string[],
    maxBytes: number,
  ): Promise<{ bytes: Uint8Array; digest: string; mediaType: string }> {
    const what = `manifest ${tagOrDigest}`;
    const res = await this.#send(
      { method: 'GET', path: `manifests/${tagOrDigest}`, headers: { accept: accept.join(', ') }, what },
      'pull',
      [200],
    );
    const bytes = await this.#readCapped(res, maxBytes, what);
    const digest = digestOf(bytes);
    const expected = tagOrDigest.startsWith('sha256:') ? tagOrDigest : res.headers.get('docker-content-digest');
    if (expected && expected !== digest) {
      throw this.#error('WASMESH_ERR_DIGEST_MISMATCH', `the ${what} hashes to ${digest}, not ${expected}`, {
        expected,
        actual: digest,
      });
    }
    return { bytes, digest, mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim() };
  }

  /** Fetches the blob `digest` of `size` bytes (at most `maxBytes`), checking size and digest while it streams. */
  async pullBlob(digest: string, size: number, maxBytes: number): Promise<Uint8Array> {
    const what = `blob ${digest}`;
    if (size > maxBytes) throw this.#tooLarge(what, maxBytes, size);
    const res = await this.#send({ method: 'GET', path: `blobs/${digest}`, what }, 'pull', [200]);
    const wrong = (detail: string): WasmeshError =>
      this.#error('WASMESH_ERR_DIGEST_MISMATCH', `the ${what} has the wrong content: ${detail}`, { expected: digest });
    const bytes = await this.#readCapped(res, size, what, () => wrong(`it is longer than its ${size} bytes`));
    const actual = digestOf(bytes);
    if (bytes.length !== size) throw wrong(`${bytes.length} bytes, expected ${size}`);
    if (actual !== digest) throw wrong(`its bytes hash to ${actual}`);
    return bytes;
  }

  /**
   * Sends one request with the deadline, authenticating on a 401 challenge (basic with the
   * credentials, or a bearer token from the challenge's realm) and retrying once. A status not in
   * `ok` becomes a typed error.
   */
  async #send(call: Call, access: Access, ok: readonly number[]): Promise<Response> {
    let res = await this.#fetch(call, this.#authorization.get(access));
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.body?.cancel();
      const authorization = await this.#authorize(challenge, access, call);
      res = await this.#fetch(call, authorization);
      if (res.status !== 401) this.#authorization.set(access, authorization);
    }
    if (ok.includes(res.status)) return res;
    const detail = call.method === 'HEAD' ? '' : await errorText(res);
    await res.body?.cancel().catch(() => undefined);
    const where = `${call.what} (${res.status}${detail ? `: ${detail}` : ''})`;
    if (res.status === 401 || res.status === 403) {
      throw this.#error(
        'WASMESH_ERR_PERMISSION_DENIED',
        `the registry refused access to ${where}${this.#hasCredentials ? ' with the credentials given' : '; log in (docker config file) or pass credentials'}`,
        { status: res.status },
      );
    }
    if (res.status === 404) throw this.#error('WASMESH_ERR_NOT_FOUND', `the registry has no ${where}`, { status: 404 });
    if (res.status === 413) throw this.#error('WASMESH_ERR_TOO_LARGE', `the registry refused ${where} as too large`);
    if (res.status >= 400 && res.status < 500) {
      throw this.#error('WASMESH_ERR_BAD_REQUEST', `the registry refused ${where}`, { status: res.status });
    }
    throw this.#error('WASMESH_ERR_UNAVAILABLE', `the registry failed on ${where}`, { status: res.status });
  }

  /** One HTTP exchange within the deadline; no answer in time is TIMEOUT, no connection UNAVAILABLE. */
  async #fetch(call: Call, authorization: string | undefined): Promise<Response> {
    const url = /^https?:\/\//.test(call.path) ? call.path : `${this.#base}/v2/${this.ref.repository}/${call.path}`;
    this.#checkOrigin(url, call.what);
    return this.#exchange(url, call.what, {
      method: call.method,
      headers: { ...call.headers, ...(authorization ? { authorization } : {}) },
      ...(call.body ? { body: call.body } : {}),
      redirect: 'follow',
    });
  }

  /** `fetch` with this client's deadline and its failures typed. */
  async #exchange(url: string, what: string, init: RequestInit): Promise<Response> {
    try {
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      return await fetch(url, { ...init, signal: this.#signal ? AbortSignal.any([timeout, this.#signal]) : timeout });
    } catch (err) {
      throw this.#networkError(err, what);
    }
  }

  /** The Authorization header answering `challenge`: basic, or a bearer token fetched from its realm. */
  async #authorize(challenge: string, access: Access, call: Call): Promise<string> {
    const creds = await this.#creds();
    const scheme = challenge.split(/\s/, 1)[0]!.toLowerCase();
    if (scheme === 'bearer') {
      const params = challengeParams(challenge);
      const realm = params.realm;
      if (!realm) throw this.#error('WASMESH_ERR_UNAVAILABLE', `the registry's bearer challenge names no realm`);
      let url: URL;
      try {
        url = new URL(realm);
      } catch (err) {
        throw this.#error(
          'WASMESH_ERR_UNAVAILABLE',
          `the registry's token realm "${realm.slice(0, 200)}" is not a URL`,
          {
            cause: err,
          },
        );
      }
      if (params.service) url.searchParams.set('service', params.service);
      url.searchParams.set('scope', params.scope ?? `repository:${this.ref.repository}:${access}`);
      const res = await this.#exchange(url.toString(), `token for ${call.what}`, {
        headers: creds ? { authorization: basic(creds) } : {},
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        const code =
          res.status === 401 || res.status === 403 ? 'WASMESH_ERR_PERMISSION_DENIED' : 'WASMESH_ERR_UNAVAILABLE';
        throw this.#error(
          code,
          `the registry's token service ${url.origin} refused a token for ${call.what} (${res.status})`,
          {
            status: res.status,
          },
        );
      }
      const body = JSON.parse(
        Buffer.from(await this.#readCapped(res, 1024 * 1024, 'token response')).toString('utf8') || '{}',
      ) as { token?: unknown; access_token?: unknown };
      const token = typeof body.token === 'string' ? body.token : body.access_token;
      if (typeof token !== 'string' || token === '') {
        throw this.#error('WASMESH_ERR_UNAVAILABLE', `the registry's token service ${url.origin} sent no token`);
      }
      return `Bearer ${token}`;
    }
    if (scheme === 'basic' && creds) return basic(creds);
    throw this.#error(
      'WASMESH_ERR_PERMISSION_DENIED',
      `the registry requires authentication for ${call.what}; log in (docker config file) or pass credentials`,
      { status: 401 },
    );
  }

  /**
   * Reads a response body of at most `maxBytes` while it streams: a longer one fails at once, before
   * it is all read, with `overflow()` (default TOO_LARGE).
   */
  async #readCapped(
    res: Response,
    maxBytes: number,
    what: string,
    overflow: (size: number) => WasmeshError = (size) => this.#tooLarge(what, maxBytes, size),
  ): Promise<Uint8Array> {
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel();
      throw overflow(declared);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (res.body) {
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.length;
          if (total > maxBytes) {
            await reader.cancel();
            throw overflow(total);
          }
          chunks.push(value);
        }
      } catch (err) {
        if (err instanceof WasmeshError) throw err;
        throw this.#networkError(err, what);
      }
    }
    return Buffer.concat(chunks, total);
  }

  /** Plain HTTP leaves this machine only when allowed: a redirect or upload location is checked too. */
  #checkOrigin(url: string, what: string): void {
    if (url.startsWith('http://') && !this.#base.startsWith('http://')) {
      throw this.#error(
        'WASMESH_ERR_PERMISSION_DENIED',
        `the registry sent ${what} to plain HTTP (${new URL(url).host}); pass --insecure to allow it`,
      );
    }
  }

  #networkError(err: unknown, what: string): WasmeshError {
    const name = (err as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return this.#error('WASMESH_ERR_TIMEOUT', `the registry did not answer ${what} within ${this.#timeoutMs} ms`, {
        cause: err,
        timeoutMs: this.#timeoutMs,
      });
    }
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
    return this.#error('WASMESH_ERR_UNAVAILABLE', `cannot reach the registry ${this.#base} for ${what}: ${reason}`, {
      cause: err,
    });
  }

  #tooLarge(what: string, maxBytes: number, size: number): WasmeshError {
    return this.#error('WASMESH_ERR_TOO_LARGE', `the ${what} is larger than the limit of ${maxBytes} bytes`, {
      limit: maxBytes,
      size,
    });
  }

  /** An error of `code` whose message and details name the reference. */
  #error(code: string, message: string, extra: Record<string, unknown> & { cause?: unknown } = {}): WasmeshError {
    const { cause, ...details } = extra;
    return new WasmeshError(code, `${this.ref.ref}: ${message}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { ref: this.ref.ref, ...details },
    });
  }
}

function basic(creds: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
function challengeParams(challenge: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of challenge.replace(/^\S+\s*/, '').matchAll(/([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) {
    params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return params;
}

/** The first error of a registry's JSON error body (`{errors:[{code,message}]}`), short. */
async function errorText(res: Response): Promise<string> {
  try {
    const reader = res.body?.getReader();
    if (!reader) return '';
    const { value } = await reader.read();
    await reader.cancel();
    const text = Buffer.from(value ?? new Uint8Array()).toString('utf8');
    const first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    return first ? `${first.code ?? ''} ${first.message ?? ''}`.trim().slice(0, 200) : '';
  } catch {
    return '';
  }
}
