/**
 * Links, named config and the provider registry of a lattice, kept in JetStream KV and written
 * by clients (CLI, gRPC gateway, reconciler). Every write is validated here so the error names
 * what is wrong: a conflicting link says which link conflicts, a link to an unknown provider or
 * to unknown config names them. Hosts and providers watch the buckets and apply changes live.
 *
 * `putLink` is the one way links are written (CLI, gRPC gateway, reconciler), so the capability
 * check lives there: a link of a contract that a signed actor's claims (as hosts record them in
 * the claims bucket) do not grant is refused with `WASMESH_ERR_CAPABILITY_DENIED`. Hosts enforce
 * capabilities again on every call, so a link written before the actor was signed grants nothing.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { lattice } from '@wasmesh/proto';
import { recordedCaps } from './claims/policy.js';
import { WasmeshError } from './errors.js';
import { publishEvent } from './events.js';
import { openBucket, type StateBucket } from './state.js';
import { checkToken, type Subjects } from './subjects.js';

/** The link name used when none is given. */
export const DEFAULT_LINK_NAME = 'default';

const CONTRACT = /^[a-z][a-z0-9-]{0,62}:[a-z][a-z0-9-]{0,62}$/;

/** Checks a contract id (`namespace:name`, e.g. `wasmesh:keyvalue`). */
export function checkContract(contract: string): string {
  if (!CONTRACT.test(contract)) {
    throw new WasmeshError(
      'WASMESH_ERR_INVALID_NAME',
      `invalid contract "${contract}": expected namespace:name in lower case, e.g. wasmesh:keyvalue`,
      { details: { contract } },
    );
  }
  return contract;
}

/** The KV key of a link: one per (source actor, contract, link name). */
export function linkKey(sourceId: string, contract: string, name: string): string {
  return `${checkToken('actor id', sourceId)}.${checkContract(contract).replace(':', '.')}.${checkToken('link name', name)}`;
}

/** `source -[contract/name]-> target`, for messages. */
export function describeLink(l: lattice.ILink): string {
  return `${l.sourceId} -[${l.contract}, link "${l.name || DEFAULT_LINK_NAME}"]-> ${l.targetId}`;
}

/** Merges named config values in order (later names win). */
export function mergeConfig(configs: (lattice.INamedConfig | undefined)[]): Record<string, string> {
  return Object.assign({}, ...configs.map((c) => c?.values ?? {}));
}

/** The link, config and provider buckets of one lattice. */
export class LinkState {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    /** Links by {@link linkKey}. */
    readonly links: StateBucket<lattice.ILink>,
    /** Named config by name. */
    readonly config: StateBucket<lattice.INamedConfig>,
    /** Running providers by id (written by the providers themselves). */
    readonly providers: StateBucket<lattice.IProviderRecord>,
  ) {}

  #claims: Promise<StateBucket<lattice.IClaims>> | undefined;

  /**
   * The claims hosts record of the actors they run, by actor id; opened on first use, by link
   * writers only (providers open a LinkState too, and need no claims).
   */
  claims(): Promise<StateBucket<lattice.IClaims>> {
    this.#claims ??= openBucket(this.nc, this.subjects, 'claims', lattice.Claims);
    this.#claims.catch(() => (this.#claims = undefined));
    return this.#claims;
  }

  /** Opens (creating if needed) the buckets. */
  static async open(nc: NatsConnection, subjects: Subjects): Promise<LinkState> {
    const [links, config, providers] = await Promise.all([
      openBucket(nc, subjects, 'links', lattice.Link),
      openBucket(nc, subjects, 'config', lattice.NamedConfig),
      openBucket(nc, subjects, 'providers', lattice.ProviderRecord),
    ]);
    return new LinkState(nc, subjects, links, config, providers);
  }

  /**
   * Puts a link. Refused (with a message naming the conflict) when the actor already has a link
   * for this contract and name to another provider; replaced when the target is the same (new
   * config). The target must be a registered provider of that contract, every config name must
   * exist, and a signed source actor must have the contract among its capabilities.
   */
  async putLink(input: lattice.ILink, source = 'client'): Promise<{ link: lattice.ILink; replaced: boolean }> {
    const link: lattice.ILink = {
      sourceId: checkToken('actor id', input.sourceId ?? ''),
      contract: checkContract(input.contract ?? ''),
      name: checkToken('link name', input.name || DEFAULT_LINK_NAME),
      targetId: checkToken('provider id', input.targetId ?? ''),
      config: [...(input.config ?? [])],
    };
    const caps = recordedCaps((await (await this.claims()).get(link.sourceId!))?.claims);
    if (caps && !caps.includes(link.contract!)) {
      throw new WasmeshError(
        'WASMESH_ERR_CAPABILITY_DENIED',
        `cannot link ${describeLink(link)}: actor "${link.sourceId}" is signed without capability ${link.contract} (its caps: ${caps.length ? caps.join(', ') : 'none'}); re-sign it with --cap ${link.contract}`,
        { details: { actor: link.sourceId, contract: link.contract, caps } },
      );
    }
    const provider = await this.providers.get(link.targetId!);
    if (!provider) {
      throw new WasmeshError(
        'WASMESH_ERR_NOT_FOUND',
        `cannot link ${describeLink(link)}: no provider "${link.targetId}" is running in the lattice`,
        {
          details: { provider: link.targetId },
        },
      );
    }
    if (provider.contract !== link.contract) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFLICT',
        `cannot link ${describeLink(link)}: provider "${link.targetId}" serves ${provider.contract}, not ${link.contract}`,
        { details: { provider: link.targetId, serves: provider.contract, contract: link.contract } },
      );
    }
    for (const name of link.config ?? []) {
      if (!(await this.config.get(name))) {
        throw new WasmeshError(
          'WASMESH_ERR_NOT_FOUND',
          `cannot link ${describeLink(link)}: no config named "${name}" (create it with \`wasmesh config put ${name} key=value\`)`,
          {
            details: { config: name },
          },
        );
      }
    }
    const key = linkKey(link.sourceId!, link.contract!, link.name!);
    for (;;) {
      const current = await this.links.getEntry(key);
      if (current && current.value.targetId !== link.targetId) {
        throw new WasmeshError(
          'WASMESH_ERR_CONFLICT',
          `cannot link ${describeLink(link)}: it conflicts with the existing link ${describeLink(current.value)}; delete that link or use another link name`,
          { details: { existing: describeLink(current.value) } },
        );
      }
      if (await this.links.putIf(key, link, current?.revision ?? 0)) {
        publishEvent(this.nc, this.subjects, 'link_set', source, { link });
        return { link, replaced: current !== undefined };
      }
    }
  }

  /** Deletes a link; `WASMESH_ERR_NOT_FOUND` when there is none. */
  async deleteLink(
    sourceId: string,
    contract: string,
    name = DEFAULT_LINK_NAME,
    source = 'client',
  ): Promise<lattice.ILink> {
    const key = linkKey(sourceId, contract, name || DEFAULT_LINK_NAME);
    const current = await this.links.get(key);
    if (!current) {
      throw new WasmeshError(
        'WASMESH_ERR_NOT_FOUND',
        `actor "${sourceId}" has no link for contract "${contract}" named "${name}"`,
        {
          details: { actor: sourceId, contract, link: name },
        },
      );
    }
    await this.links.delete(key);
    publishEvent(this.nc, this.subjects, 'link_deleted', source, { link: current });
    return current;
  }

  /** Every link of the lattice. */
  async allLinks(): Promise<lattice.ILink[]> {
    return [...(await this.links.entries()).values()];
  }

  /** Stores named config `name` (replacing it). Values must be strings. */
  async putConfig(name: string, values: Record<string, string>, source = 'client'): Promise<void> {
    checkToken('config name', name);
    await this.config.put(name, { name, values });
    publishEvent(this.nc, this.subjects, 'config_set', source, { name });
  }

  /** Named config `name`; `WASMESH_ERR_NOT_FOUND` when absent. */
  async getConfig(name: string): Promise<Record<string, string>> {
    const c = await this.config.get(checkToken('config name', name));
    if (!c) throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `no config named "${name}"`, { details: { config: name } });
    return { ...(c.values ?? {}) };
  }

  /** Deletes named config `name`, refused while a link uses it. */
  async deleteConfig(name: string, source = 'client'): Promise<void> {
    checkToken('config name', name);
    const users = (await this.allLinks()).filter((l) => l.config?.includes(name));
    if (users.length > 0) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFLICT',
        `config "${name}" is used by ${users.map(describeLink).join(', ')}; delete or change those links first`,
        {
          details: { config: name },
        },
      );
    }
    if (!(await this.config.get(name)))
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `no config named "${name}"`, { details: { config: name } });
    await this.config.delete(name);
    publishEvent(this.nc, this.subjects, 'config_deleted', source, { name });
  }

  /** The merged values of the named configs of `link`. */
  async linkConfig(link: lattice.ILink): Promise<Record<string, string>> {
    return mergeConfig(await Promise.all((link.config ?? []).map((n) => this.config.get(n))));
  }
}
