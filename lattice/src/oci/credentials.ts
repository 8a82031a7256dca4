/**
 * Registry credentials: given explicitly (`--username`/`--password-stdin`) or taken from the
 * docker config file (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`, its `auths`
 * entries with a base64 `auth` of `user:password`), the file `docker login`, oras and wkg share.
 */
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

/**
 * The credentials the docker config file at `file` holds for `registry` (`host[:port]`), or
 * undefined when the file or an entry is missing. Keys are matched as docker does: by host[:port]
 * with any `http(s)://` prefix and path dropped. A file that is not JSON, or an `auth` that is not
 * base64 `user:password`, is `WASMESH_ERR_CONFIG` naming the file.
 */
export function dockerCredentials(registry: string, file = dockerConfigPath()): RegistryCredentials | undefined {
  if (!existsSync(file)) return undefined;
  const text = readConfigFile(file, 'docker config file').toString('utf8');
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new WasmeshError('WASMESH_ERR_CONFIG', `the docker config file "${file}" is not JSON`, {
      cause: err,
      details: { file },
    });
  }
  const auths = (config as { auths?: unknown } | null)?.auths;
  if (typeof auths !== 'object' || auths === null) return undefined;
  const wanted = registry.toLowerCase();
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
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

/** `https://reg.example:5000/v1/` → `reg.example:5000`: how docker normalizes `auths` keys. */
function registryOfKey(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
}
