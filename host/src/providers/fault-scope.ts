/**
 * Faults of in-process providers stay theirs. An exception escaping a provider's callbacks (a timer,
 * a socket event) or a promise rejection it leaves unhandled reaches the host process as
 * `uncaughtException` / `unhandledRejection`; when the error's stack shows a frame of a provider's
 * own code (its package directory, or its module file), the fault goes to that provider — which is
 * closed and restarted — instead of ending the host. Every instance of that code is told (two
 * in-process instances of one built-in cannot be told apart by a stack).
 *
 * Decision: attribution by stack, not by AsyncLocalStorage. On Node 20, an AsyncLocalStorage around
 * a provider turns on promise hooks for the whole process, which cost the in-process HTTP path a
 * fifth of its throughput (`npm run bench -- http`); a stack costs nothing until something fails.
 * What it cannot attribute keeps Node's own behaviour: a fault whose stack shows no provider code
 * (an error built by Node on a provider's behalf, an SDK bug) is fatal as without this module,
 * unless other listeners in the process handle it. What no scope can catch stays shared with the
 * host: a native crash, or a provider that blocks the event loop — the price of in-process mode.
 */
import { pathToFileURL } from 'node:url';

/** Who answers for the faults raised by its code. */
export interface FaultOwner {
  fail(err: unknown): void;
}

/** Each owner, and how its code shows in stack frames (a path, and the same as a file URL). */
const owners = new Map<FaultOwner, string[]>();
let installed = false;

/**
 * Makes `owner` answer for faults whose stack shows a frame under `location` (a directory or a
 * file); the function returned ends that (idempotent).
 */
export function ownFaults(location: string, owner: FaultOwner): () => void {
  install();
  owners.set(owner, [location, pathToFileURL(location).href]);
  return () => {
    owners.delete(owner);
  };
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
}

function onUncaught(err: unknown): void {
  if (!blame(err)) unowned(err, 'uncaughtException');
}

function onUnhandled(reason: unknown): void {
  if (!blame(reason)) unowned(reason, 'unhandledRejection');
}

/** Hands `err` to the owners of the code its stack shows; false when it shows none. */
function blame(err: unknown): boolean {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  if (!stack) return false;
  const blamed = [...owners].filter(([, marks]) => marks.some((m) => stack.includes(m)));
  for (const [owner] of blamed) owner.fail(err);
  return blamed.length > 0;
}

/** A fault of the host itself: left to other listeners, or fatal as without this module. */
function unowned(err: unknown, event: 'uncaughtException' | 'unhandledRejection'): void {
  if (process.listenerCount(event) > 1) return;
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUnhandled);
  installed = false;
  setImmediate(() => {
    throw err;
  });
}
