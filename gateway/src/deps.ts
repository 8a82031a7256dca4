/** What the service implementations share: the lattice connection, the precondition, the logger and the file jail. */
import type { FileJail, LatticeClient, Logger } from '@wasmesh/lattice';
import type { Precondition } from './calls.js';

/** Dependencies of the service implementations. */
export interface ServiceDeps {
  /** The gateway's lattice connection. */
  readonly client: LatticeClient;
  /** Runs before every call: throws while NATS is down. */
  readonly pre: Precondition;
  readonly logger: Logger;
  /** Where the gateway may read files a request names (actor images given as paths). */
  readonly jail: FileJail;
  /**
   * Registers an open stream's `end` so a draining gateway can end it (streams never finish on
   * their own); returns the unregister function.
   */
  readonly trackStream: (end: () => void) => () => void;
}

/** `source` of the events the gateway causes (links, config). */
export const EVENT_SOURCE = 'gateway';
