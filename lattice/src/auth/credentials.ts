/**
 * NATS credentials files (`.creds`: a user JWT and its nkey seed, the format every NATS client
 * reads), as wasmesh processes use them: parsed and checked at start so a wrong file is a clear
 * error naming it, the user's identity read from the JWT (its inbox prefix, a host's id), and —
 * in a host's file only — the provider and app signing keys it uses to give the providers it
 * supervises credentials of their own. *Host-group* credentials (one file shared by many hosts, such
 * as the pods of a Kubernetes HostGroup) carry the host signing key as well: each host mints the
 * credentials of its own, new host id from it at start, so hosts sharing a file never share an id.
 *
 * The signing keys are appended after the standard blocks, in blocks of their own; NATS clients
 * read the first JWT and the first user seed and ignore the rest.
 */
import { encodeUser, fmtCreds, Algorithms } from '@nats-io/jwt';
import { Prefix, type KeyPair } from '@nats-io/nkeys';
import { createNkey, nkeyFromSeed } from '../nkeys.js';
import { WasmeshError } from '../errors.js';
import { readConfigFile } from '../file-jail.js';
import type { Role } from './roles.js';

/** Roles whose signing key a host carries (`host` only in host-group credentials). */
export type SignerRole = 'host' | 'provider' | 'app';

/** Every signer role, in the order their blocks are written. */
const SIGNER_ROLES: readonly SignerRole[] = ['host', 'provider', 'app'];

const BLOCK = /-{3,}BEGIN ([A-Z ]+)-{3,}\r?\n([\s\S]*?)\r?\n-{3,}END \1-{3,}/g;

/** What a credentials file says. */
export interface Credentials {
  /** Where it was read from. */
  file: string;
  /** The whole text, as NATS clients read it. */
  text: string;
  jwt: string;
  /** The user's nkey seed (a secret, as in `text`): what answers the server's nonce. */
  seed: string;
  /** The user's public key (`U…`). */
  userKey: string;
  /** The user's name: a host's id, a provider's id. */
  name: string;
  /** The account (lattice) that issued it. */
  account: string;
  /** The role it was issued for, when wasmesh issued it. */
  role?: Role;
  /** Expiry (unix seconds), when it has one. */
  expiresAt?: number;
  /** Signing keys carried by host credentials. */
  signers: Partial<Record<SignerRole, string>>;
}

/** Appends signing-key blocks to a creds file's text. */
export function appendSigners(creds: string, signers: Partial<Record<SignerRole, string>>): string {
  let text = creds.endsWith('\n') ? creds : `${creds}\n`;
  for (const [role, seed] of Object.entries(signers)) {
    const label = `WASMESH ${role.toUpperCase()} SIGNING KEY`;
    text += `\n-----BEGIN ${label}-----\n${seed}\n------END ${label}------\n`;
  }
  return text;
}

/** Parses credentials text; `file` names it in errors. */
export function parseCredentials(text: string, file: string): Credentials {
  const bad = (why: string): WasmeshError =>
    new WasmeshError('WASMESH_ERR_CONFIG', `${file} is not a NATS credentials file: ${why}`, { details: { file } });
  const blocks = new Map<string, string>();
  for (const m of text.matchAll(BLOCK)) if (!blocks.has(m[1]!)) blocks.set(m[1]!, m[2]!.trim());
  const jwt = blocks.get('NATS USER JWT');
  const seed = blocks.get('USER NKEY SEED');
  if (!jwt || !seed) throw bad('it needs a "NATS USER JWT" block and a "USER NKEY SEED" block');
  let claims: {
    sub?: string;
    name?: string;
    exp?: number;
    nats?: { issuer_account?: string; tags?: string[] };
    iss?: string;
  };
  try {
    claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims;
  } catch {
    throw bad('its JWT cannot be decoded');
  }
  let user: KeyPair;
  try {
    user = nkeyFromSeed(seed);
  } catch (err) {
    throw bad(`its seed is invalid (${(err as Error).message})`);
  }
  if (!claims.sub || user.getPublicKey() !== claims.sub) throw bad('its seed does not belong to its JWT');
  const role = claims.nats?.tags?.find((t) => t.startsWith('wasmesh-role:'))?.slice('wasmesh-role:'.length);
  const signers: Partial<Record<SignerRole, string>> = {};
  for (const r of SIGNER_ROLES) {
    const s = blocks.get(`WASMESH ${r.toUpperCase()} SIGNING KEY`);
    if (s) signers[r] = s;
  }
  return {
    file,
    text,
    jwt,
    seed,
    userKey: claims.sub,
    name: claims.name ?? '',
    account: claims.nats?.issuer_account ?? claims.iss ?? '',
    ...(role ? { role: role as Role } : {}),
    ...(claims.exp ? { expiresAt: claims.exp } : {}),
    signers,
  };
}

/** Reads and parses a credentials file; an unreadable or malformed file is `WASMESH_ERR_CONFIG` naming it. */
export function readCredentials(file: string): Credentials {
  return parseCredentials(readConfigFile(file, 'NATS credentials file').toString('utf8'), file);
}

/** Whether `creds` are host-group credentials: a host mints its own from them ({@link mintHostCredentials}). */
export function isHostGroup(creds: Credentials): boolean {
  return creds.signers.host !== undefined;
}

/**
 * Credentials of `role` named `name`, minted with a signing key carried by host credentials
 * (`from`). The server gives the new user the role's permissions and nothing more; they expire
 * when `from` does, so minting never extends a credential's life.
 */
export async function mintFromSigner(from: Credentials, role: SignerRole, name: string): Promise<string> {
  const seed = from.signers[role];
  if (!seed) {
    const how = role === 'host' ? '--role host --group' : '--role host';
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `${from.file} carries no ${role} signing key: issue host credentials with \`wasmesh creds create ${how}\``,
      { details: { file: from.file, role } },
    );
  }
  const signer = nkeyFromSeed(seed);
  const user = createNkey(Prefix.User);
  const jwt = await encodeUser(
    name,
    user,
    from.account,
    { tags: [`wasmesh-role:${role}`] },
    {
      signer,
      scopedUser: true,
      algorithm: Algorithms.v2,
      ...(from.expiresAt !== undefined ? { exp: from.expiresAt } : {}),
    },
  );
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

/**
 * The credentials of host `hostId`, minted from host-group credentials: a host user pinned to that
 * id, carrying the provider and app signing keys (as `wasmesh creds create --role host` issues),
 * never the host signing key, so the minted file cannot mint further hosts.
 */
export async function mintHostCredentials(group: Credentials, hostId: string): Promise<string> {
  const { provider, app } = group.signers;
  return appendSigners(await mintFromSigner(group, 'host', hostId), {
    ...(provider ? { provider } : {}),
    ...(app ? { app } : {}),
  });
}
