/**
 * The last guard of a command-line process (`wasmesh`, `wasmesh-host`): once its command has
 * returned, the process ends within a grace period even if a library still holds a socket or a
 * timer open. Every command closes what it opens, so a process normally ends at once; the guard
 * only keeps a command's deadline and exit status true when something leaks (nats.js 3.4 left
 * the socket of a failed connection attempt open: `get hosts` printed its error, then hung).
 */

/** How long a process may outlive its command. */
export const EXIT_GRACE_MS = 2000;

/** Ends the process (with `process.exitCode`) `graceMs` from now unless it has ended by itself. */
export function exitAfterGrace(graceMs = EXIT_GRACE_MS): void {
  // unref: the timer itself never keeps the process alive.
  setTimeout(() => process.exit(), graceMs).unref();
}
