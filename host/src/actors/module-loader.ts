/**
 * How a host turns an artifact reference into an actor module it can run: the bytes come from the
 * lattice object store, an allowed file or an `oci://` registry (within the host's module cap and
 * pull deadline, through the on-disk cache); the trust policy admits them before anything is
 * compiled (a refused module never runs); the compiled module's host calls are wired to the
 * lattice within what its claims grant.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import {
  digestOf,
  loadArtifact,
  OciCache,
  parseOciRef,
  pullWasmArtifact,
  type FileJail,
  type Logger,
} from '@wasmesh/lattice';
import type { ResolvedHostOptions } from '../node/options.js';
import type { ActorRuntime } from '../runtime/runtime.js';
import { admitModule } from './admission.js';
import { hostCallHandler, type HostCallEnv } from './host-calls.js';
import type { ActorModule, InvocationContext } from './running-actor.js';

/** The host options module loading follows (documented on `HostOptions`). */
export type ModuleLoaderOptions = Pick<
  ResolvedHostOptions,
  'invocationTimeoutMs' | 'trustedIssuers' | 'maxModuleBytes' | 'insecureRegistries' | 'pullTimeoutMs' | 'ociCacheDir'
>;

/** What module loading needs of the host. */
export interface ModuleLoaderEnv extends Omit<HostCallEnv, 'fallbackTimeoutMs'> {
  logger: Logger;
  runtime: ActorRuntime;
  /** The directories module files may be read from. */
  jail: FileJail;
  options: Readonly<ModuleLoaderOptions>;
}

/** Fetches, admits and compiles the modules of one host's actors. */
export class ModuleLoader {
  constructor(private readonly env: ModuleLoaderEnv) {}

  /** Fetches the bytes of an artifact: from the object store, an allowed file or a registry. */
  fetch(actorId: string, ref: string): Promise<Uint8Array> {
    return loadArtifact(
      ref,
      this.env.objects,
      (file) => this.env.jail.readFile(file, `module of actor ${actorId}`),
      (oci) => this.#pullOci(actorId, oci),
    );
  }

  /** Validates and loads fetched `bytes` of `ref` into a module this host can run. */
  async load(actorId: string, ref: string, bytes: Uint8Array, maxConcurrent: number): Promise<ActorModule> {
    const { runtime, options } = this.env;
    // The trust policy decides before anything is compiled: a refused module never runs.
    const claims = await admitModule(runtime, actorId, bytes, options.trustedIssuers);
    const actor = await runtime.load(
      bytes,
      { name: actorId, maxConcurrent, timeoutMs: options.invocationTimeoutMs },
      {
        hostCall: hostCallHandler({ ...this.env, fallbackTimeoutMs: options.invocationTimeoutMs }, claims?.caps),
        guestLog,
      },
    );
    return { actor, ref, digest: digestOf(bytes), maxConcurrent, ...(claims ? { claims } : {}) };
  }

  /** Pulls an `oci://` module within the host's module cap and pull deadline, through the on-disk cache. */
  async #pullOci(actorId: string, ref: string): Promise<Uint8Array> {
    const { options } = this.env;
    const registry = parseOciRef(ref).registry.toLowerCase();
    const pulled = await pullWasmArtifact(
      ref,
      {
        maxModuleBytes: options.maxModuleBytes,
        insecure: options.insecureRegistries.includes(registry),
        pullTimeoutMs: options.pullTimeoutMs,
      },
      options.ociCacheDir === null ? undefined : new OciCache(options.ociCacheDir),
    );
    this.env.logger.info(
      { actor: actorId, ref, manifest: pulled.manifestDigest, source: pulled.source },
      'actor module pulled',
    );
    return pulled.bytes;
  }
}

/**
 * What a guest's log line carries besides the actor: its invocation and trace, so the line links
 * to the request; the line is also an event of the invocation's span, so the trace shows it.
 */
function guestLog(hostContext: unknown, level: string, line: string): Record<string, unknown> {
  const inv = hostContext as InvocationContext | undefined;
  if (!inv) return {};
  const span = trace.getSpan(inv.trace);
  span?.addEvent('guest log', { 'log.severity': level, 'log.message': line });
  const sc = span?.spanContext();
  return sc && isSpanContextValid(sc)
    ? { invocation_id: inv.invocationId, trace_id: sc.traceId, span_id: sc.spanId }
    : { invocation_id: inv.invocationId };
}
