/**
 * Process exit statuses shared by every wasmesh command, so scripts can branch on them, and the
 * one mapping from error codes to statuses. Stable: statuses are added, never change meaning.
 */
import { WasmeshError } from './errors.js';

/** The exit statuses. */
export const ExitCode = Object.freeze({
  /** Success. */
  OK: 0,
  /** Unexpected failure inside wasmesh (a bug, or the environment broke). */
  INTERNAL: 1,
  /** Bad command line or request: unknown flag, malformed argument, unreadable input file, conflict. */
  USAGE: 2,
  /** The actor failed or is not a valid actor (guest error, trap, unknown operation, invalid module), or a provider process failed. */
  ACTOR: 3,
  /** A limit stopped the work: deadline, memory, fuel, response or payload size. */
  LIMIT: 4,
  /** The lattice cannot be reached or nobody answered: no NATS, no host runs the actor, no JetStream. */
  UNAVAILABLE: 5,
  /** What the command names does not exist: host, actor, artifact, or no host matches the constraints. */
  NOT_FOUND: 6,
  /**
   * Refused by a security policy: the NATS server denied the subject or the credentials, a host's
   * trust policy refused an actor, or an actor called a contract it has no capability for.
   */
  DENIED: 7,
} as const);

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Error codes (without the `WASMESH_ERR_` prefix) by the exit status they map to. */
const CODES_BY_STATUS: readonly [ExitCodeValue, readonly string[]][] = [
  [ExitCode.USAGE, ['USAGE', 'CONFIG', 'BAD_REQUEST', 'INVALID_NAME', 'CONFLICT', 'INVALID_MANIFEST']],
  [
    ExitCode.ACTOR,
    [
      'INVALID_MODULE',
      'MISSING_EXPORT',
      'UNKNOWN_OPERATION',
      'GUEST_ERROR',
      'TRAP',
      'HOST_CALL_FAILED',
      'GUEST_PROTOCOL',
      'DIGEST_MISMATCH',
      'NO_LINK',
      'PROVIDER_FAILED',
      'APP_FAILED',
    ],
  ],
  [
    ExitCode.LIMIT,
    ['TIMEOUT', 'MEMORY_LIMIT', 'FUEL_EXHAUSTED', 'RESPONSE_TOO_LARGE', 'PAYLOAD_TOO_LARGE', 'TOO_LARGE'],
  ],
  [ExitCode.UNAVAILABLE, ['NOT_CONNECTED', 'NO_RESPONDERS', 'UNAVAILABLE']],
  [ExitCode.NOT_FOUND, ['NOT_FOUND']],
  [ExitCode.DENIED, ['PERMISSION_DENIED', 'UNTRUSTED_ACTOR', 'CAPABILITY_DENIED']],
];

const STATUS_OF = new Map<string, ExitCodeValue>(
  CODES_BY_STATUS.flatMap(([status, codes]) => codes.map((c) => [`WASMESH_ERR_${c}`, status] as const)),
);

/** The exit status for `err` (the README's error table); unknown codes and non-wasmesh errors are INTERNAL. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  return err instanceof WasmeshError ? (STATUS_OF.get(err.code) ?? ExitCode.INTERNAL) : ExitCode.INTERNAL;
}
