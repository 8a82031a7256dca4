/**
 * The security of a local lattice (`wasmesh up`, `wasmesh creds`): the NATS authority, the TLS
 * certificates and the credentials of the processes `up` starts, under one home:
 *
 *   <home>/auth/    the authority's keys (operator, one account per lattice, role signing keys)
 *   <home>/tls/     the private CA and nats-server's certificate
 *   <home>/creds/   <lattice>-admin.creds (the CLI, reconciler and gateway), <lattice>-host.creds
 *   <home>/env      a file a shell can `source`: where the lattice is and how to get in
 *
 * Everything is made once and reused, so the host keeps its id and issued credentials keep working
 * across restarts. Secrets are 0600, directories 0700.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Prefix } from '@nats-io/nkeys';
import { createNkey, ensureServerTls, LatticeAuthority, readCredentials, type Role } from '@wasmesh/lattice';
import { alive, readUpState } from './state.js';

/** What the processes of a secured local lattice are given. */
export interface LocalSecurity {
  /** The nats-server config lines for TLS and auth. */
  serverConfig: string;
  caFile: string;
  adminCreds: string;
  hostCreds: string;
}

/** The authority of `home`. */
export function localAuthority(home: string): LatticeAuthority {
  return LatticeAuthority.open(path.join(home, 'auth'));
}

/** Makes (or reuses) everything a secured local lattice `lattice` in `home` needs. */
export async function prepareLocalSecurity(home: string, lattice: string): Promise<LocalSecurity> {
  const authority = localAuthority(home);
  authority.ensureLattice(lattice);
  const tls = await ensureServerTls(path.join(home, 'tls'));
  const adminCreds = await ensureCreds(authority, home, lattice, 'admin');
  const hostCreds = await ensureCreds(authority, home, lattice, 'host');
  return { serverConfig: await authority.serverConfig(tls), caFile: tls.caFile, adminCreds, hostCreds };
}

/**
 * Writes `<home>/nats.conf` (loopback only, JetStream under the home, and `security` — TLS and
 * auth — unless insecure) and returns its path.
 */
export function writeNatsConfig(home: string, port: number, security: string | undefined): string {
  const file = path.join(home, 'nats.conf');
  const lines = [
    '# written by wasmesh (up, creds create)',
    'host: "127.0.0.1"',
    `port: ${port}`,
    `jetstream { store_dir: ${JSON.stringify(path.join(home, 'jetstream'))} }`,
    security ?? '',
  ];
  writeFileSync(file, lines.join('\n'), { mode: 0o600 });
  return file;
}

/**
 * The credentials file of `role` for `lattice` under `<home>/creds`, issued the first time (a
 * host's carries a new host id, kept from then on).
 */
async function ensureCreds(authority: LatticeAuthority, home: string, lattice: string, role: Role): Promise<string> {
  const dir = path.join(home, 'creds');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${lattice}-${role}.creds`);
  if (existsSync(file)) {
    try {
      if (readCredentials(file).account === authority.accountKey(lattice)) return file;
    } catch {
      // Unreadable: issue it again.
    }
  }
  // Host credentials name a new host id (an nkey server public key), kept from then on.
  const name = role === 'host' ? createNkey(Prefix.Server).getPublicKey() : `local-${role}`;
  writeFileSync(file, await authority.issue({ lattice, role, name }), { mode: 0o600 });
  return file;
}

/** The `<home>/env` file: `export` lines a shell can `source`. */
export function writeEnvFile(
  home: string,
  values: { natsUrl: string; lattice: string; creds?: string; tlsCa?: string },
): string {
  const file = path.join(home, 'env');
  const vars: [string, string | undefined][] = [
    ['WASMESH_NATS_URL', values.natsUrl],
    ['WASMESH_NATS_CREDS', values.creds],
    ['WASMESH_NATS_CA', values.tlsCa],
    ['WASMESH_LATTICE', values.lattice],
  ];
  const lines = vars.map(([k, v]) => (v === undefined ? `unset ${k}` : `export ${k}=${shellQuote(v)}`));
  writeFileSync(file, `# written by wasmesh up: source this file to use the local lattice\n${lines.join('\n')}\n`, {
    mode: 0o600,
  });
  return file;
}

/** `s` quoted for a POSIX shell. */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Credentials of the local lattice `up` runs in `home` for a command that was given none: the
 * admin credentials and CA, when `up` runs there and `natsUrl` is its URL. This is what lets
 * `wasmesh get hosts` just work next to `npm start`, as kubectl does with its kubeconfig.
 */
export function localAccess(home: string, natsUrl: string): { creds: string; tlsCa: string } | undefined {
  const state = readUpState(home);
  if (!state || !alive(state.pid) || !state.creds || !state.tlsCa) return undefined;
  const port = (u: string): string => /:(\d+)\/?$/.exec(u.trim())?.[1] ?? '4222';
  const local = natsUrl.split(',').every((u) => /^(nats|tls):\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(u.trim()));
  if (!local || natsUrl.split(',').some((u) => port(u) !== port(state.natsUrl))) return undefined;
  return existsSync(state.creds) ? { creds: state.creds, tlsCa: state.tlsCa } : undefined;
}
