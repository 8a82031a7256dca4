/**
 * Registry credentials: given explicitly (`--username`/`--password-stdin`) or taken from the
 * docker config file (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`), the file
 * `docker login`, oras and wkg share. As docker reads it: a credential helper named for the
 * registry in `credHelpers`, else the `credsStore` helper, else the `auths` entry (a base64 `auth`
 * of `user:password`). A helper is the program `docker-credential-<name>` on PATH, asked with
 * `get` and the registry on stdin (the docker-credential-helpers protocol: ECR, GCR, ACR, pass,
 * secretservice…); it may run for at most {@link CREDENTIAL_HELPER_TIMEOUT_MS}. An identity token
 * (a helper's `Username` `<token>`) is sent as a password: registries that want it exchanged as
 * an OAuth refresh token refuse it, and then say so as a 401.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WasmeshError } from '../errors.js';
import { readConfigFile } from '../file-jail.js';

/** A user name and password (or token) for a registry's basic auth or token service. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** The docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'config.json');
}

/** How long a docker credential helper may take to answer. */
export const CREDENTIAL_HELPER_TIMEOUT_MS = 10_000;

/** What wasmesh reads of a docker config file. */
interface DockerConfig {
  auths?: unknown;
  credHelpers?: unknown;
  credsStore?: unknown;
}

/**
 * The credentials the docker config file at `file` gives for `registry` (`host[:port]`), or
 * undefined when the file, a helper's answer or an entry is missing. Keys are matched as docker
 * does: by host[:port] with any `http(s)://` prefix and path dropped. A file that is not JSON, an
 * `auth` that is not base64 `user:password`, or a helper that is missing or fails is
 * `WASMESH_ERR_CONFIG` naming the file (and the helper).
 */
export async function dockerCredentials(
  registry: string,
  file = dockerConfigPath(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryCredentials | undefined> {
  if (!existsSync(file)) return undefined;
  const text = readConfigFile(file, 'docker config file').toString('utf8');
  let config: DockerConfig | null;
  try {
    config = JSON.parse(text) as DockerConfig | null;
  } catch (err) {
    throw new WasmeshError('WASMESH_ERR_CONFIG', `the docker config file "${file}" is not JSON`, {
      cause: err,
      details: { file },
    });
  }
  const wanted = registry.toLowerCase();
  const helpers = objectOf(config?.credHelpers);
  const named = Object.entries(helpers).find(([key]) => registryOfKey(key) === wanted)?.[1];
  const helper = typeof named === 'string' ? named : typeof config?.credsStore === 'string' ? config.credsStore : '';
  if (helper) {
    const found = await fromHelper(helper, registry, file, env);
    if (found || typeof named === 'string') return found;
  }
  for (const [key, entry] of Object.entries(objectOf(config?.auths))) {
    if (registryOfKey(key) !== wanted) continue;
    const auth = (entry as { auth?: unknown } | null)?.auth;
    if (typeof auth !== 'string' || auth === '') return undefined;
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFIG',
        `the docker config file "${file}" has an auth entry for ${key} that is not base64 of user:password`,
        { details: { file, registry } },
      );
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * Asks `docker-credential-<helper> get` for `registry`'s credentials; undefined when it has none
 * ("credentials not found"). Its output is never quoted in errors: it may hold the secret.
 */
function fromHelper(
  helper: string,
  registry: string,
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<RegistryCredentials | undefined> {
  const program = `docker-credential-${helper}`;
  const fail = (why: string, cause?: unknown): WasmeshError =>
    new WasmeshError('WASMESH_ERR_CONFIG', `the credential helper ${program} (named in "${file}") ${why}`, {
      ...(cause ? { cause } : {}),
      details: { file, helper: program, registry },
    });
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(helper)) return Promise.reject(fail('has a name that is not a program name'));
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      ['get'],
      { env, timeout: CREDENTIAL_HELPER_TIMEOUT_MS, maxBuffer: 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return reject(fail('is not on PATH'));
          if (/not found/i.test(`${stdout}${stderr}`)) return resolve(undefined);
          if ((err as { killed?: boolean }).killed) {
            return reject(fail(`did not answer within ${CREDENTIAL_HELPER_TIMEOUT_MS} ms`, err));
          }
          return reject(fail(`failed (${describe(err)})`, err));
        }
        let answer: { Username?: unknown; Secret?: unknown };
        try {
          answer = JSON.parse(stdout) as typeof answer;
        } catch {
          return reject(fail('answered with something that is not JSON'));
        }
        if (typeof answer?.Username !== 'string' || typeof answer.Secret !== 'string' || !answer.Secret) {
          return reject(fail('answered without a Username and a Secret'));
        }
        resolve({ username: answer.Username, password: answer.Secret });
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(registry);
  });
}

/** An exec failure without its output: the exit status or signal. */
function describe(err: Error): string {
  const e = err as { code?: unknown; signal?: unknown };
  return e.signal ? `signal ${String(e.signal)}` : `exit status ${String(e.code)}`;
}

/** `https://reg.example:5000/v1/` → `reg.example:5000`: how docker normalizes `auths` keys. */
function registryOfKey(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
}
