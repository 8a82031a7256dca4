/**
 * The app store: manifests by version, which version is deployed, and the reconciler's status,
 * in the lattice's JetStream KV (see proto/wasmesh/lattice/v1/apps.proto). Clients (CLI, gRPC
 * gateway) write desired state here; the leading reconciler watches it and writes status back, so
 * putting or deploying an app needs no reconciler to be reachable, and a reconciler that takes
 * over finds everything where the last one left it.
 *
 * Rules, checked on write:
 *   - putting a version that exists with other content is a conflict (change the version);
 *     putting the same content again changes nothing;
 *   - deploying checks that no other deployed app claims one of the app's actor or provider ids
 *     (sharing a provider goes through the manifest's shared-provider form);
 *   - a deployed app cannot be deleted (undeploy it first);
 *   - a manifest the lattice cannot store is refused as invalid (`checkStorable`, as `validate`
 *     does), and old versions are dropped so the record stays within {@link MAX_RECORD_BYTES}.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { openBucket, WasmeshError, type StateBucket, type StateChange, type Subjects } from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import { invalidManifest } from './errors.js';
import { checkStorable } from './manifest/limits.js';
import { SHARED_PROVIDERS_ANNOTATION, type AppManifest } from './manifest/model.js';

/** How many versions of an app are kept (the oldest not deployed go first). */
export const MAX_VERSIONS = 50;

/**
 * Largest encoded app record (all its versions): one KV value is one NATS message, at most
 * `max_payload` (1 MiB by default). With manifests of at most 256 KiB the deployed version and a
 * new one always fit; older versions are dropped (oldest first) to make room.
 */
export const MAX_RECORD_BYTES = 768 * 1024;

/** The states an app's status can be in. */
export type AppState = 'deployed' | 'reconciling' | 'failed' | 'undeployed';

/** One app in a listing. */
export interface AppSummary {
  name: string;
  latestVersion: string;
  deployedVersion: string;
  description: string;
  state: AppState | '';
  message: string;
}

/** The apps of a lattice; see the module comment. */
export class AppStore {
  private constructor(
    readonly apps: StateBucket<lattice.IAppRecord>,
    readonly statuses: StateBucket<lattice.IAppStatus>,
  ) {}

  /** Opens (creating if needed) the lattice's app buckets. */
  static async open(nc: NatsConnection, subjects: Subjects): Promise<AppStore> {
    const [apps, statuses] = await Promise.all([
      openBucket(nc, subjects, 'apps', lattice.AppRecord),
      openBucket(nc, subjects, 'app_status', lattice.AppStatus),
    ]);
    return new AppStore(apps, statuses);
  }

  /** Stores `manifest` as a version of its app; `created: false` when that exact version was there. */
  async put(manifest: AppManifest): Promise<{ version: string; created: boolean }> {
    const unstorable = checkStorable(manifest);
    if (unstorable.length > 0) throw invalidManifest(`app "${manifest.name}" ${manifest.version}`, unstorable);
    return this.#update(manifest.name, (record) => {
      const versions = [...(record?.versions ?? [])];
      const same = versions.find((v) => v.version === manifest.version);
      if (same) {
        if (same.digest === manifest.digest) return undefined;
        throw new WasmeshError(
          'WASMESH_ERR_CONFLICT',
          `app "${manifest.name}" already has a version "${manifest.version}" with other content; change annotations.version`,
          { details: { app: manifest.name, version: manifest.version } },
        );
      }
      versions.push({
        version: manifest.version,
        manifestJson: JSON.stringify(manifest),
        digest: manifest.digest,
        createdAtMs: Date.now(),
      });
      const next: lattice.IAppRecord = {
        name: manifest.name,
        versions,
        deployedVersion: record?.deployedVersion ?? '',
        deployChangedAtMs: record?.deployChangedAtMs ?? 0,
      };
      while (versions.length > MAX_VERSIONS || lattice.AppRecord.encode(next).finish().length > MAX_RECORD_BYTES) {
        // The oldest version that is neither deployed nor the one being put.
        const drop = versions.findIndex((v, i) => v.version !== next.deployedVersion && i < versions.length - 1);
        if (drop < 0) {
          throw new WasmeshError(
            'WASMESH_ERR_TOO_LARGE',
            `app "${manifest.name}": the deployed version and version "${manifest.version}" together exceed the ${MAX_RECORD_BYTES}-byte app record; undeploy or delete the app first`,
            { details: { app: manifest.name, version: manifest.version, limit: MAX_RECORD_BYTES } },
          );
        }
        versions.splice(drop, 1);
      }
      return next;
    }).then((changed) => ({ version: manifest.version, created: changed }));
  }

  /** The stored record of `name`, or `WASMESH_ERR_NOT_FOUND`. */
  async record(name: string): Promise<lattice.IAppRecord> {
    const record = await this.apps.get(name);
    if (!record) {
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `no app named "${name}" (put it first: wasmesh app put FILE)`, {
        details: { app: name },
      });
    }
    return record;
  }

  /** The manifest of `version` of app `name` (default: the latest stored). */
  async manifest(name: string, version?: string): Promise<AppManifest> {
    return manifestOf(await this.record(name), version);
  }

  /**
   * Marks `version` (default: the latest) of `name` deployed. Refused when another deployed app
   * claims one of its actor or provider ids, naming both.
   */
  async deploy(name: string, version?: string): Promise<{ version: string; changed: boolean }> {
    const manifest = await this.manifest(name, version);
    await this.#checkClaims(manifest);
    const changed = await this.#update(name, (record) => {
      if (!record) throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `no app named "${name}"`);
      if (record.deployedVersion === manifest.version) return undefined;
      return { ...record, deployedVersion: manifest.version, deployChangedAtMs: Date.now() };
    });
    return { version: manifest.version, changed };
  }

  /** Marks `name` not deployed; the reconciler then removes what it started. */
  async undeploy(name: string): Promise<{ changed: boolean }> {
    await this.record(name);
    const changed = await this.#update(name, (record) =>
      record?.deployedVersion ? { ...record, deployedVersion: '', deployChangedAtMs: Date.now() } : undefined,
    );
    return { changed };
  }

  /** Deletes every version of `name`; refused while it is deployed or its resources are being removed. */
  async delete(name: string): Promise<void> {
    const record = await this.record(name);
    const status = await this.statuses.get(name);
    if (record.deployedVersion || (status && status.state !== 'undeployed' && status.state !== '')) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFLICT',
        record.deployedVersion
          ? `app "${name}" is deployed (version ${record.deployedVersion}); undeploy it first: wasmesh app undeploy ${name}`
          : `app "${name}" is still being undeployed (${status?.state}); try again once its status is undeployed`,
        { details: { app: name } },
      );
    }
    await this.apps.delete(name);
    await this.statuses.delete(name);
  }

  /** Every app, by name. */
  async list(): Promise<AppSummary[]> {
    const [records, statuses] = await Promise.all([this.apps.entries(), this.statuses.entries()]);
    return [...records.values()]
      .map((r) => {
        const latest = r.versions?.[r.versions.length - 1];
        const status = statuses.get(r.name ?? '');
        let description = '';
        try {
          description = latest ? ((JSON.parse(latest.manifestJson ?? '{}') as AppManifest).description ?? '') : '';
        } catch {
          // An unreadable manifest shows without a description.
        }
        return {
          name: r.name ?? '',
          latestVersion: latest?.version ?? '',
          deployedVersion: r.deployedVersion ?? '',
          description,
          state: (status?.state ?? '') as AppState | '',
          message: status?.message ?? '',
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The reconciler's status of `name`, if it wrote one. */
  status(name: string): Promise<lattice.IAppStatus | undefined> {
    return this.statuses.get(name);
  }

  /** Changes of app records (puts, deploys, undeploys, deletes), for the reconciler. */
  watch(): AsyncGenerator<StateChange<lattice.IAppRecord>> {
    return this.apps.watch({ includeExisting: false });
  }

  async #checkClaims(manifest: AppManifest): Promise<void> {
    const mine = claimedIds(manifest);
    const records = await this.apps.entries();
    for (const c of manifest.components) {
      if (c.kind !== 'shared') continue;
      const owner = records.get(c.app);
      if (!owner?.deployedVersion) continue; // used once it is deployed (the app waits until then)
      const theirs = manifestOf(owner, owner.deployedVersion);
      if (!theirs.sharedProviders) {
        throw new WasmeshError(
          'WASMESH_ERR_CONFLICT',
          `app "${manifest.name}" cannot use capability ${c.component} of app "${c.app}": that app does not share its providers (its manifest needs the annotation ${SHARED_PROVIDERS_ANNOTATION}: "true")`,
          { details: { app: manifest.name, other: c.app, component: c.component } },
        );
      }
    }
    for (const [other, record] of records) {
      if (other === manifest.name || !record.deployedVersion) continue;
      const theirs = claimedIds(manifestOf(record, record.deployedVersion));
      for (const [id, kind] of mine) {
        if (theirs.has(id)) {
          throw new WasmeshError(
            'WASMESH_ERR_CONFLICT',
            `app "${manifest.name}" cannot be deployed: ${kind} id "${id}" belongs to deployed app "${other}"` +
              (kind === 'provider' ? ' (to share a provider, use the shared-provider form in the manifest)' : ''),
            { details: { app: manifest.name, other, id, kind } },
          );
        }
      }
    }
  }

  /** Read-modify-write of one record with compare-and-set; `fn` returns undefined for no change. */
  async #update(
    name: string,
    fn: (current: lattice.IAppRecord | undefined) => lattice.IAppRecord | undefined,
  ): Promise<boolean> {
    for (;;) {
      const current = await this.apps.getEntry(name);
      const next = fn(current?.value);
      if (!next) return false;
      if ((await this.apps.putIf(name, next, current?.revision ?? 0)) !== false) return true;
    }
  }
}

/** The manifest of `version` (default: the latest) in a stored record; `WASMESH_ERR_NOT_FOUND` naming the versions there are. */
export function manifestOf(record: lattice.IAppRecord, version?: string): AppManifest {
  const versions = record.versions ?? [];
  const v = version ? versions.find((x) => x.version === version) : versions[versions.length - 1];
  if (!v) {
    throw new WasmeshError(
      'WASMESH_ERR_NOT_FOUND',
      `app "${record.name}" has no version "${version}"; it has ${versions.map((x) => x.version).join(', ') || 'none'}`,
      { details: { app: record.name ?? '', version: version ?? '' } },
    );
  }
  return JSON.parse(v.manifestJson ?? '') as AppManifest;
}

/** The actor and provider ids an app claims (shared providers are not claimed). */
export function claimedIds(manifest: AppManifest): Map<string, 'actor' | 'provider'> {
  const ids = new Map<string, 'actor' | 'provider'>();
  for (const c of manifest.components) {
    if (c.kind === 'actor') ids.set(c.id, 'actor');
    else if (c.kind === 'provider') ids.set(c.id, 'provider');
  }
  return ids;
}
