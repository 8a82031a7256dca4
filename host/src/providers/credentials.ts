/**
 * Credentials for the providers a host supervises. A host never hands its own credentials to a
 * provider: with the provider and app signing keys its own credentials carry, it mints for each
 * provider id a `provider` credential (the server pins it to that id's subjects) and, for the
 * built-in messaging provider only (it bridges application subjects to actors), an `app`
 * credential, written to files only the host's user can read, in a directory removed when the
 * host stops. Other providers that need application subjects use a link `url` of their own.
 * A host started with host-group credentials gets its own credentials here the same way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isHostGroup, mintFromSigner, mintHostCredentials, type Credentials } from '@wasmesh/lattice';

/** How a provider process reaches the lattice (paths; each absent in an open lattice). */
export interface ProviderAccess {
  /** Its `provider` credentials (env `WASMESH_NATS_CREDS`). */
  creds?: string;
  /** Its `app` credentials (env `WASMESH_APP_NATS_CREDS`). */
  appCreds?: string;
  /** The CA of the server's certificate (env `WASMESH_NATS_CA`). */
  tlsCa?: string;
}

/** Mints and keeps the credentials of a host's providers. */
export class ProviderCredentials {
  #dir: string | undefined;
  readonly #minted = new Map<string, Promise<ProviderAccess>>();

  constructor(
    /** The host's own credentials (undefined in an open lattice). */
    private readonly host: Credentials | undefined,
    private readonly tlsCa: string | undefined,
  ) {}

  /** The access of provider `providerId` (minted once per id and need), with app credentials when `app`. */
  for(providerId: string, app: boolean): Promise<ProviderAccess> {
    const key = `${providerId}${app ? '+app' : ''}`;
    let access = this.#minted.get(key);
    if (!access) {
      access = this.#mint(providerId, app);
      this.#minted.set(key, access);
      access.catch(() => this.#minted.delete(key));
    }
    return access;
  }

  /**
   * The credentials file host `hostId` connects with: `file` itself, or — given host-group
   * credentials — a file of its own minted for `hostId` (so hosts sharing a group file never
   * share an id).
   */
  async hostFile(file: string, hostId: string): Promise<string> {
    if (!this.host || !isHostGroup(this.host)) return file;
    return this.#write(`host-${hostId}.creds`, await mintHostCredentials(this.host, hostId));
  }

  /** Removes the minted files. Idempotent. */
  close(): void {
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
    this.#minted.clear();
  }

  async #mint(providerId: string, app: boolean): Promise<ProviderAccess> {
    const tls = this.tlsCa ? { tlsCa: this.tlsCa } : {};
    if (!this.host) return tls;
    const write = async (role: 'provider' | 'app'): Promise<string> =>
      this.#write(`${providerId}.${role}.creds`, await mintFromSigner(this.host!, role, providerId));
    return { creds: await write('provider'), ...(app ? { appCreds: await write('app') } : {}), ...tls };
  }

  /** Writes minted credentials readable by this user only; the path. */
  #write(name: string, text: string): string {
    this.#dir ??= mkdtempSync(path.join(os.tmpdir(), 'wasmesh-provider-creds-'));
    const file = path.join(this.#dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  }
}
