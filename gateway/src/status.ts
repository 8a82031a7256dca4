/**
 * The one mapping from wasmesh errors to gRPC status: the code table (gateway/README.md shows it),
 * and the conversion of any thrown value into the status object grpc-js sends, with the wasmesh
 * code in the trailing metadata key `wasmesh-error-code` and the wasmesh message kept as the status
 * message.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { WasmeshError } from '@wasmesh/lattice';

/** Trailing metadata key carrying the wasmesh error code (`WASMESH_ERR_…`). */
export const ERROR_CODE_KEY = 'wasmesh-error-code';

/**
 * gRPC status by wasmesh code (without the `WASMESH_ERR_` prefix). Actor failures are ABORTED: the
 * call reached the actor and the actor failed it, which a client may retry at a higher level (as
 * opposed to UNKNOWN, kept for codes this table does not know). Two actor codes have a closer gRPC
 * meaning: an operation the actor does not export is UNIMPLEMENTED, a missing link is
 * FAILED_PRECONDITION (the lattice lacks the state the call needs). The refusals (a call outside the
 * caller's role, an actor from an untrusted issuer, a call outside an actor's caps) are
 * PERMISSION_DENIED.
 */
const STATUS_BY_CODE: readonly [status, readonly string[]][] = [
  [status.NOT_FOUND, ['NOT_FOUND']],
  [status.PERMISSION_DENIED, ['PERMISSION_DENIED', 'UNTRUSTED_ACTOR', 'CAPABILITY_DENIED']],
  [status.INVALID_ARGUMENT, ['BAD_REQUEST', 'INVALID_NAME', 'CONFIG', 'USAGE', 'INVALID_MANIFEST']],
  [status.FAILED_PRECONDITION, ['CONFLICT', 'NO_LINK']],
  [status.DEADLINE_EXCEEDED, ['TIMEOUT']],
  [status.UNAVAILABLE, ['NO_RESPONDERS', 'NOT_CONNECTED', 'UNAVAILABLE']],
  [
    status.RESOURCE_EXHAUSTED,
    ['MEMORY_LIMIT', 'FUEL_EXHAUSTED', 'PAYLOAD_TOO_LARGE', 'RESPONSE_TOO_LARGE', 'TOO_LARGE'],
  ],
  [status.PERMISSION_DENIED, ['PERMISSION_DENIED', 'UNTRUSTED_ACTOR', 'CAPABILITY_DENIED']],
  [status.UNIMPLEMENTED, ['UNKNOWN_OPERATION']],
  [
    status.ABORTED,
    [
      'TRAP',
      'GUEST_ERROR',
      'HOST_CALL_FAILED',
      'GUEST_PROTOCOL',
      'INVALID_MODULE',
      'MISSING_EXPORT',
      'DIGEST_MISMATCH',
      'PROVIDER_FAILED',
      'APP_FAILED',
    ],
  ],
  [status.INTERNAL, ['INTERNAL']],
];

const STATUS_OF = new Map<string, status>(
  STATUS_BY_CODE.flatMap(([s, codes]) => codes.map((c) => [`WASMESH_ERR_${c}`, s] as const)),
);

/**
 * The gRPC status of wasmesh code `code`. A conflict with an existing object (details name it as
 * `existing`, e.g. a link to another provider) is ALREADY_EXISTS; other conflicts are
 * FAILED_PRECONDITION. Unknown codes are UNKNOWN.
 */
export function grpcStatusOf(code: string, details: Readonly<Record<string, unknown>> = {}): status {
  if (code === 'WASMESH_ERR_CONFLICT' && details.existing !== undefined) return status.ALREADY_EXISTS;
  return STATUS_OF.get(code) ?? status.UNKNOWN;
}

/**
 * The status grpc-js sends for `err`: a {@link WasmeshError} by the table, with its code in the
 * trailers; anything else is INTERNAL with code `WASMESH_ERR_INTERNAL` (a bug: the message says where).
 */
export function toServiceError(err: unknown): Partial<ServiceError> & { code: status; details: string } {
  const wasmesh =
    err instanceof WasmeshError
      ? err
      : new WasmeshError('WASMESH_ERR_INTERNAL', `gateway: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, wasmesh.code);
  return {
    name: 'WasmeshError',
    message: wasmesh.message,
    code: grpcStatusOf(wasmesh.code, wasmesh.details),
    details: wasmesh.message.replace(/\s*\n\s*/g, ' '),
    metadata,
  };
}
