/**
 * The providers of one host: `provider.start` and `provider.stop` requests, the mode each runs in,
 * and the provider events their supervision waits for.
 *
 * Mode (decision, from `npm run bench -- http`): a start request's `mode`, else the host's default
 * for built-in providers (`in-process` unless the host says otherwise), and `process` for any other
 * provider — code the host does not ship runs isolated unless someone asks otherwise. A provider
 * module of your own (from an allowed directory) runs in-process only when its start asks for it
 * and the module exports `providerDefinition(env)` (see the provider SDK's ProviderFactory): for
 * trusted providers that want the speed of local dispatch and accept sharing the host's process.
 */
import type { Subscription } from '@nats-io/transport-node';
import {
  checkToken,
  decodeEvent,
  isProviderMode,
  PROVIDER_MODES,
  WasmeshError,
  type LatticeEvent,
  type ProviderMode,
} from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import { isBuiltinRef, resolveInProcessModule, resolveProviderEntry } from './reference.js';
import { SupervisedProvider, type ProviderHostEnv } from './supervised-provider.js';

/** Most named configs a provider is started with (each is read from KV before the start). */
const MAX_PROVIDER_CONFIGS = 32;

/** The provider given application-subject (`app`) credentials: it bridges them to actors. */
const APP_BRIDGE_PROVIDER = 'builtin:messaging';

/** The mode a start request asks for, checked: see the module comment. */
function modeOf(req: lattice.IStartProviderRequest, ref: string, id: string, fallback: ProviderMode): ProviderMode {
  const asked = req.mode ?? '';
  if (asked !== '' && !isProviderMode(asked)) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `start-provider request for "${id}" asks for mode "${asked.slice(0, 64)}": use ${PROVIDER_MODES.join(' or ')}`,
      { details: { provider: id, field: 'mode' } },
    );
  }
  return (asked as ProviderMode | '') || (isBuiltinRef(ref) ? fallback : 'process');
}

/** The providers of one host: starts, stops and watches them. */
export class ProviderSupervisor {
  #events: Subscription[] = [];

  constructor(
    /** Providers by id (the host's `providers`). */
    readonly providers: Map<string, SupervisedProvider>,
    private readonly env: ProviderHostEnv,
  ) {}

  /** Subscribes to the provider events the supervised providers wait for. */
  listen(): void {
    for (const type of ['provider_started', 'provider_stopped'] as const) {
      this.#events.push(
        this.env.nc.subscribe(this.env.subjects.eventsOf(type), {
          callback: (err, msg) => {
            if (err) return;
            let e: LatticeEvent;
            try {
              e = decodeEvent(msg.data, msg.subject);
            } catch {
              return;
            }
            const id =
              e.type === 'provider_started'
                ? e.data.provider?.providerId
                : e.type === 'provider_stopped'
                  ? e.data.providerId
                  : undefined;
            if (id) this.providers.get(id)?.onEvent(e);
          },
        }),
      );
    }
  }

  /** Handles `provider.start`: resolves with the acknowledgement once the provider registered. */
  async start(req: lattice.IStartProviderRequest): Promise<string> {
    const id = checkToken('provider id', req.providerId ?? '');
    const ref = req.artifactRef ?? '';
    if (!ref) throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'start-provider request without an artifact reference');
    if ((req.config?.length ?? 0) > MAX_PROVIDER_CONFIGS) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `start-provider request for "${id}" names ${req.config?.length} configs, more than ${MAX_PROVIDER_CONFIGS}`,
        { details: { provider: id, count: req.config?.length, limit: MAX_PROVIDER_CONFIGS } },
      );
    }
    const config = [...(req.config ?? [])].map((n) => checkToken('config name', n));
    const mode = modeOf(req, ref, id, this.env.defaultMode);
    let existing = this.providers.get(id);
    if (existing && existing.state === 'stopping') {
      await existing.stop('stop requested');
      if (this.providers.get(id) === existing) this.providers.delete(id);
      existing = this.providers.get(id);
    }
    if (existing) {
      if (existing.artifactRef !== ref || existing.config.join(',') !== config.join(',') || existing.mode !== mode) {
        throw new WasmeshError(
          'WASMESH_ERR_CONFLICT',
          `provider "${id}" already runs ${existing.artifactRef}${existing.config.length ? ` with config ${existing.config.join(',')}` : ''} on host ${this.env.hostId} (${existing.mode}); stop it first`,
          {
            details: { provider: id, host: this.env.hostId, running: existing.artifactRef, requested: ref, mode },
          },
        );
      }
      return `provider ${id} already running on host ${this.env.hostId} (${existing.state}, ${existing.mode}, pid ${existing.pid})`;
    }
    const entry =
      mode === 'in-process'
        ? await resolveInProcessModule(ref, this.env.jail)
        : await resolveProviderEntry(ref, this.env.jail);
    if (config.length > 0) {
      const state = await this.env.state();
      for (const name of config) {
        if (!(await state.config.get(name))) {
          throw new WasmeshError(
            'WASMESH_ERR_NOT_FOUND',
            `cannot start provider "${id}": no config named "${name}" (create it with \`wasmesh config put ${name} key=value\`)`,
            { details: { provider: id, config: name } },
          );
        }
      }
    }
    // A concurrent start of the same id may have won while the config was read.
    if (this.providers.has(id)) return this.start(req);
    const access = await this.env.access(id, ref === APP_BRIDGE_PROVIDER);
    if (this.providers.has(id)) return this.start(req);
    const provider = new SupervisedProvider(id, ref, mode, entry, config, this.env, access);
    this.providers.set(id, provider);
    try {
      await provider.start();
    } catch (err) {
      if (this.providers.get(id) === provider) this.providers.delete(id);
      throw err;
    }
    return `provider ${id} started on host ${this.env.hostId} (${mode}, pid ${provider.pid})`;
  }

  /** Handles `provider.stop`. */
  async stop(req: lattice.IStopProviderRequest, reason = 'stop requested'): Promise<string> {
    const id = checkToken('provider id', req.providerId ?? '');
    const provider = this.providers.get(id);
    if (!provider) {
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `provider "${id}" is not running on host ${this.env.hostId}`, {
        details: { provider: id, host: this.env.hostId },
      });
    }
    await provider.stop(reason);
    if (this.providers.get(id) === provider) this.providers.delete(id);
    return `provider ${id} stopped on host ${this.env.hostId}`;
  }

  /** Stops every provider (host drain). */
  async stopAll(reason: string): Promise<void> {
    await Promise.all(
      [...this.providers.values()].map(async (p) => {
        await p.stop(reason);
        if (this.providers.get(p.id) === p) this.providers.delete(p.id);
      }),
    );
  }

  /** Stops listening for provider events. */
  close(): void {
    for (const sub of this.#events.splice(0)) sub.unsubscribe();
  }
}
