/**
 * One running instance of a supervised provider — a process of its own, or the provider running
 * inside the host's process — as the supervisor sees it: started, registered, ended, and how to
 * ask it to stop or end it now. The supervisor's lifecycle (start, restart with backoff, health,
 * stop) is the same for both modes.
 */
import type { ProviderMode } from '@wasmesh/lattice';

/** How an instance ended: a process's exit status or signal, or an in-process provider's failure. */
export interface InstanceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why an in-process instance failed (a start error, or an exception it let escape). */
  error?: string;
}

/** One instance of a provider. */
export interface ProviderInstance {
  readonly mode: ProviderMode;
  /** The OS process serving it: its own, or the host's for an in-process instance. */
  readonly pid: number;
  /** When it registered (0 until then). */
  registeredAtMs: number;
  /** How it ended, once it has. */
  exit: InstanceExit | undefined;
  readonly exited: Promise<InstanceExit>;
  /** Resolves once the last of its output is in (for error messages). */
  readonly outputDone: Promise<void>;
  /** The last lines it wrote on stderr, or its failure: for error messages and health. */
  readonly tail: string[];
  /** Called when it registered (set by the supervisor while it waits). */
  onRegistered: (() => void) | undefined;
  /** Whether its own provider_stopped event was seen. */
  announcedStop: boolean;
  /** Asks it to stop: SIGTERM to its process group, or the provider's drain. */
  terminate(): void;
  /** Ends it now: SIGKILL to its process group, or abandoning the provider. */
  kill(): void;
}

/** How an instance ended, for messages: `exit status 3`, `signal SIGKILL`, or its failure. */
export function describeExit(exit: InstanceExit): string {
  if (exit.error) return `failed: ${exit.error}`;
  return exit.signal ? `signal ${exit.signal}` : `exit status ${exit.code ?? 'unknown'}`;
}
