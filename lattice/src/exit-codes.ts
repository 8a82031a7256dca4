/**
 * Process exit statuses shared by every wasmesh command, so scripts can branch on them. Stable:
 * new statuses are added, existing ones never change meaning.
 */
export const ExitCode = Object.freeze({
  /** Success. */
  OK: 0,
  /** Unexpected failure inside wasmesh (a bug, or the environment broke). */
  INTERNAL: 1,
  /** Bad command line: unknown flag, missing or malformed argument, unreadable input file. */
  USAGE: 2,
  /** The actor failed or is not a valid actor: guest error, trap, unknown operation, invalid module. */
  ACTOR: 3,
  /** A limit stopped the actor: deadline, memory, fuel or response size. */
  LIMIT: 4,
} as const);

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
