/**
 * The NATS authority of wasmesh lattices: the keys that make nats-server's decentralized auth
 * work, kept in one directory, and the credentials and server config made from them.
 *
 * Why decentralized auth (operator / account / user JWTs) rather than users listed in the server
 * config: credentials can be issued offline, on any machine holding the keys, without touching or
 * reloading the server (only a new lattice, i.e. a new account, needs a reload); permissions travel
 * inside the signed user JWT, so the server enforces them; and scoped signing keys let a host mint
 * credentials for the providers it supervises that can never be more than providers.
 *
 * Layout (every seed file is 0600, the directory 0700):
 *   <dir>/operator.nk              the operator's seed (signs accounts)
 *   <dir>/system.nk                the system account's seed (the server's own account)
 *   <dir>/lattices/<L>/account.nk  the account of lattice L: one NATS account per lattice
 *   <dir>/lattices/<L>/<role>.nk   the scoped signing key of each role (see roles.ts)
 *
 * Account JWTs are signed anew whenever they are needed, from the seeds and the current role
 * templates, so an upgrade of wasmesh that changes a template takes effect at the next server
 * config write.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Algorithms,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  newScopedSigner,
  type SigningKey,
} from '@nats-io/jwt';
import { Prefix, type KeyPair } from '@nats-io/nkeys';
import { WasmeshError } from '../errors.js';
import { createNkey, nkeyFromSeed } from '../nkeys.js';
import { checkToken, Subjects } from '../subjects.js';
import { ROLES, rolePermissions, type Role } from './roles.js';
import { appendSigners, type SignerRole } from './credentials.js';

/** Unlimited account limits (the server's defaults are zero for a JWT that omits them). */
const UNLIMITED = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

/** Options of {@link LatticeAuthority.issue}. */
export interface IssueOptions {
  lattice: string;
  role: Role;
  /** The user's name: the host id of a host, the provider id of a provider (the server pins them). */
  name: string;
  /** Expiry in seconds from now (default: none). */
  expiresInSec?: number;
  /**
   * Host-group credentials (role `host` only): one file for many hosts, each of which mints its
   * own host id's credentials at start (the file carries the host signing key). `name` then names
   * the group, not a host.
   */
  group?: boolean;
}

/** The keys of every lattice this authority serves (see the module comment). */
export class LatticeAuthority {
  readonly #operator: KeyPair;
  readonly #system: KeyPair;

  private constructor(
    readonly dir: string,
    operator: KeyPair,
    system: KeyPair,
  ) {
    this.#operator = operator;
    this.#system = system;
  }

  /** Opens the authority in `dir`, creating its operator and system account the first time. */
  static open(dir: string): LatticeAuthority {
    mkdirSync(path.join(dir, 'lattices'), { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    return new LatticeAuthority(
      dir,
      loadOrCreateKey(path.join(dir, 'operator.nk'), () => createNkey(Prefix.Operator)),
      loadOrCreateKey(path.join(dir, 'system.nk'), () => createNkey(Prefix.Account)),
    );
  }

  /** The lattices that have an account here. */
  lattices(): string[] {
    return readdirSync(path.join(this.dir, 'lattices')).filter((l) =>
      existsSync(path.join(this.dir, 'lattices', l, 'account.nk')),
    );
  }

  /** Whether `lattice` has an account here. */
  has(lattice: string): boolean {
    return existsSync(path.join(this.#latticeDir(lattice), 'account.nk'));
  }

  /** Creates the account of `lattice` (and its role signing keys) if missing; true when it was created. */
  ensureLattice(lattice: string): boolean {
    const created = !this.has(lattice);
    this.#account(lattice);
    for (const role of ROLES) this.#roleKey(lattice, role);
    return created;
  }

  /** The public key of `lattice`'s account (`A…`). */
  accountKey(lattice: string): string {
    return this.#account(lattice).getPublicKey();
  }

  /**
   * A `.creds` file's text for a user of `role` in `lattice` (the lattice's account is created if
   * missing: the server then needs the new config, see {@link serverConfig}). Host credentials
   * also carry the provider and app signing keys, so the host can give the providers it
   * supervises their own credentials, never its own; host-group credentials the host signing key too.
   */
  async issue(options: IssueOptions): Promise<string> {
    const { lattice, role, name } = options;
    checkToken('credential name', name);
    if (options.group && role !== 'host') {
      throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `group credentials are for hosts only, not role ${role}`);
    }
    this.ensureLattice(lattice);
    const user = createNkey(Prefix.User);
    const jwt = await encodeUser(
      name,
      user,
      this.#account(lattice),
      { tags: [`wasmesh-role:${role}`] },
      {
        signer: this.#roleKey(lattice, role),
        scopedUser: true,
        algorithm: Algorithms.v2,
        ...(options.expiresInSec ? { exp: Math.floor(Date.now() / 1000) + options.expiresInSec } : {}),
      },
    );
    const creds = new TextDecoder().decode(fmtCreds(jwt, user));
    if (role !== 'host') return creds;
    const signers: Partial<Record<SignerRole, string>> = {
      ...(options.group ? { host: seedOf(this.#roleKey(lattice, 'host')) } : {}),
      provider: seedOf(this.#roleKey(lattice, 'provider')),
      app: seedOf(this.#roleKey(lattice, 'app')),
    };
    return appendSigners(creds, signers);
  }

  /**
   * The nats-server config that makes the server trust this authority: operator mode with every
   * lattice's account preloaded (the memory resolver; a reload picks up new lattices), and, given
   * `tls`, TLS required with that certificate.
   */
  async serverConfig(tls?: { certFile: string; keyFile: string }): Promise<string> {
    const tlsBlock = tls
      ? [
          'tls {',
          `  cert_file: ${JSON.stringify(tls.certFile)}`,
          `  key_file: ${JSON.stringify(tls.keyFile)}`,
          '  timeout: 2',
          '}',
        ]
      : [];
    // The operator and system JWTs are signed once: a server refuses to reload a changed operator.
    const operatorJwt = await this.#signedOnce('operator.jwt', () =>
      encodeOperator('wasmesh', this.#operator, { system_account: this.#system.getPublicKey() }),
    );
    const accounts: [string, string][] = [
      [
        this.#system.getPublicKey(),
        await this.#signedOnce('system.jwt', () => encodeAccount('SYS', this.#system, {}, { signer: this.#operator })),
      ],
    ];
    for (const lattice of this.lattices().sort()) {
      accounts.push([this.accountKey(lattice), await this.#accountJwt(lattice)]);
    }
    return [
      ...tlsBlock,
      `operator: ${operatorJwt}`,
      `system_account: ${this.#system.getPublicKey()}`,
      'resolver: MEMORY',
      'resolver_preload: {',
      ...accounts.map(([key, jwt]) => `  ${key}: ${jwt}`),
      '}',
      '',
    ].join('\n');
  }

  /** The JWT in `file` of this directory, signed with `sign` the first time. */
  async #signedOnce(file: string, sign: () => Promise<string>): Promise<string> {
    const full = path.join(this.dir, file);
    if (existsSync(full)) return readFileSync(full, 'utf8').trim();
    const jwt = await sign();
    writeFileSync(full, `${jwt}\n`, { mode: 0o600 });
    return jwt;
  }

  async #accountJwt(lattice: string): Promise<string> {
    const subjects = new Subjects(lattice);
    const signingKeys: SigningKey[] = ROLES.map((role) =>
      newScopedSigner(this.#roleKey(lattice, role), role, {
        ...rolePermissions(subjects, role),
        subs: -1,
        data: -1,
        payload: -1,
      }),
    );
    return encodeAccount(
      `wasmesh-lattice-${lattice}`,
      this.#account(lattice),
      { limits: UNLIMITED, signing_keys: signingKeys },
      { signer: this.#operator },
    );
  }

  #latticeDir(lattice: string): string {
    return path.join(this.dir, 'lattices', checkToken('lattice name', lattice));
  }

  #account(lattice: string): KeyPair {
    mkdirSync(this.#latticeDir(lattice), { recursive: true, mode: 0o700 });
    return loadOrCreateKey(path.join(this.#latticeDir(lattice), 'account.nk'), () => createNkey(Prefix.Account));
  }

  #roleKey(lattice: string, role: Role): KeyPair {
    return loadOrCreateKey(path.join(this.#latticeDir(lattice), `${role}.nk`), () => createNkey(Prefix.Account));
  }
}

/** The seed of `kp` as text. */
function seedOf(kp: KeyPair): string {
  return new TextDecoder().decode(kp.getSeed());
}

/**
 * Reads the seed in `file`, or creates a key with `create` and writes its seed there (0600). Two
 * processes creating it at once agree: the file is created exclusively, and the loser reads it.
 */
function loadOrCreateKey(file: string, create: () => KeyPair): KeyPair {
  if (!existsSync(file)) {
    const kp = create();
    try {
      writeFileSync(file, `${seedOf(kp)}\n`, { mode: 0o600, flag: 'wx' });
      return kp;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  try {
    return nkeyFromSeed(readFileSync(file, 'utf8').trim());
  } catch (err) {
    throw new WasmeshError('WASMESH_ERR_CONFIG', `${file} does not hold an nkey seed: ${(err as Error).message}`, {
      cause: err,
      details: { file },
    });
  }
}
