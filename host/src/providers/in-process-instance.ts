/**
 * A provider running inside the host process (a built-in, or a module of your own that asked for
 * it): its module's `providerDefinition` is loaded and run by the provider SDK exactly as its process would run it (same bootstrap
 * environment, same NATS identity, registry entry, events and health), with the host's local
 * dispatch, so calls between it and the host's actors skip NATS. Its faults are its own (see
 * fault-scope.ts): an exception escaping its callbacks or a rejection it leaves unhandled, raised by
 * its code, fails this instance — the provider is closed and the supervisor restarts it — and the
 * host carries on.
 */
import { pathToFileURL } from 'node:url';
import { WasmeshError, type LocalDispatch, type Logger } from '@wasmesh/lattice';
import { Provider, type ProviderFactory } from '@wasmesh/provider-sdk';
import { ownFaults } from './fault-scope.js';
import type { InstanceExit, ProviderInstance } from './instance.js';

/** Most characters of an in-process failure kept for messages. */
const MAX_FAILURE_CHARS = 500;

/** What an in-process instance is started with. */
export interface InProcessSpec {
  /** The module exporting `providerDefinition` (a built-in's package module, see reference.ts, or a provider's own). */
  module: string;
  /** Where its code lives (a built-in's package directory, or the module file): what its faults show. */
  location: string;
  /** The bootstrap environment (what a process would get). */
  env: Record<string, string>;
  logger: Logger;
  local: LocalDispatch | undefined;
}

/** Starts a provider in this process; `onExit` runs once it ended (stopped or failed). */
export function startInProcess(spec: InProcessSpec, onExit: (inst: ProviderInstance) => void): ProviderInstance {
  let resolveExit!: (exit: InstanceExit) => void;
  const exited = new Promise<InstanceExit>((r) => (resolveExit = r));
  let provider: Provider<unknown> | undefined;
  const tail: string[] = [];
  const end = (exit: InstanceExit): void => {
    if (inst.exit) return;
    inst.exit = exit;
    resolveExit(exit);
    onExit(inst);
  };
  const fail = (err: unknown): void => {
    const why = (err instanceof WasmeshError ? err.toLine() : err instanceof Error ? err.message : String(err)).slice(
      0,
      MAX_FAILURE_CHARS,
    );
    tail.push(why);
    if (inst.exit) return;
    spec.logger.error({ err }, 'in-process provider failed');
    end({ code: null, signal: null, error: why });
    void provider?.close(`failed: ${why}`).catch(() => undefined);
  };
  const inst: ProviderInstance = {
    mode: 'in-process',
    pid: process.pid,
    registeredAtMs: 0,
    exit: undefined,
    exited,
    outputDone: Promise.resolve(),
    tail,
    onRegistered: undefined,
    announcedStop: false,
    terminate: () => {
      if (provider) void provider.close('stop requested').catch(() => undefined);
      else end({ code: 0, signal: null });
    },
    kill: () => {
      end({ code: null, signal: 'SIGKILL' });
      void provider?.close('killed').catch(() => undefined);
    },
  };
  const disown = ownFaults(spec.location, { fail });
  void exited.then(disown);
  void (async () => {
    try {
      const mod = (await import(pathToFileURL(spec.module).href)) as { providerDefinition?: unknown };
      if (typeof mod.providerDefinition !== 'function') {
        throw new WasmeshError(
          'WASMESH_ERR_PROVIDER_FAILED',
          `${spec.module} exports no providerDefinition(env): this provider cannot run in-process`,
          { details: { module: spec.module } },
        );
      }
      if (inst.exit) return; // stopped while it loaded
      const definition = (mod.providerDefinition as ProviderFactory)(spec.env);
      provider = new Provider(definition, {
        env: spec.env,
        logger: spec.logger,
        ...(spec.local ? { local: spec.local } : {}),
      });
      const started = provider;
      void started.stopped().then(() => end({ code: 0, signal: null }));
      await started.start();
      inst.onRegistered?.();
    } catch (err) {
      fail(err);
    }
  })();
  spec.logger.debug({ module: spec.module }, 'provider starting in-process');
  return inst;
}
