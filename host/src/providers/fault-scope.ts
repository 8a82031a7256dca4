/**
 * Faults of in-process providers stay theirs. Everything an in-process provider runs — its start,
 * its calls, and every callback and promise they create — carries its owner in an
 * AsyncLocalStorage context, so an exception it throws from a timer or socket callback, or a
 * promise rejection it leaves unhandled, reaches that owner (which stops and restarts the
 * provider) instead of ending the host process.
 *
 * A fault no provider owns keeps Node's own behaviour: with no other listener for it in the process,
 * the error is thrown again from a fresh turn without these listeners, and the process ends as
 * it would have. What no context can catch stays shared with the host: a native crash, or a
 * provider that blocks the event loop (a synchronous endless loop) — the price of in-process mode.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Who answers for the faults raised in its context. */
export interface FaultOwner {
  fail(err: unknown): void;
}

const owners = new AsyncLocalStorage<FaultOwner>();
let installed = false;

/** Runs `fn` (and everything it schedules) with `owner` answering for its faults. */
export function runOwned<T>(owner: FaultOwner, fn: () => T): T {
  install();
  return owners.run(owner, fn);
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

/** Hands `err` to the owner of the current context; false when nobody owns it. */
function blame(err: unknown): boolean {
  const owner = owners.getStore();
  if (!owner) return false;
  owner.fail(err);
  return true;
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
