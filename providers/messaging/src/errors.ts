/**
 * The errors the messaging provider answers actors with. Codes are the lattice's (`WASMESH_ERR_*`,
 * README table); every message names the subject and what is wrong with it.
 */
import { WasmeshError } from '@wasmesh/lattice';

/** `WASMESH_ERR_BAD_REQUEST`: a request the provider cannot serve as sent. */
export function badRequestError(message: string, details: Record<string, unknown> = {}): WasmeshError {
  return new WasmeshError('WASMESH_ERR_BAD_REQUEST', message, { details });
}

/**
 * `WASMESH_ERR_BAD_REQUEST`: `subject` cannot be used as the `role` of a message ("publish
 * subject", "request subject", "reply subject"); `problem` comes from `subjectProblem`.
 */
export function badSubjectError(role: string, subject: string, problem: string): WasmeshError {
  return badRequestError(`${role} "${subject}" ${problem}`, { subject, role });
}

/** `WASMESH_ERR_NO_RESPONDERS`: nobody subscribes to `subject` on `where` (a description of the NATS used). */
export function noRespondersError(subject: string, where: string, cause?: unknown): WasmeshError {
  return new WasmeshError('WASMESH_ERR_NO_RESPONDERS', `no one answers requests on subject "${subject}" (${where})`, {
    details: { subject },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `WASMESH_ERR_TIMEOUT`: a request on `subject` got no reply within `timeoutMs`. */
export function requestTimeoutError(subject: string, timeoutMs: number, where: string, cause?: unknown): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_TIMEOUT',
    `the request on subject "${subject}" got no reply within ${timeoutMs} ms (${where})`,
    { details: { subject, timeoutMs }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** `WASMESH_ERR_NOT_CONNECTED`: the NATS connection a link sends on is closed. */
export function notConnectedError(subject: string, where: string, cause?: unknown): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_NOT_CONNECTED',
    `cannot send to subject "${subject}": the NATS connection is closed (${where})`,
    { details: { subject }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** `WASMESH_ERR_PAYLOAD_TOO_LARGE`: a body larger than the server's `max_payload`. */
export function payloadTooLargeError(subject: string, size: number, limit: number): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_PAYLOAD_TOO_LARGE',
    `the message to subject "${subject}" is ${size} bytes, more than the ${limit} bytes the NATS server accepts (max_payload)`,
    { details: { subject, size, limit } },
  );
}

/** `WASMESH_ERR_CLOSED`: a message waited for a delivery slot while its link was released. */
export function linkClosedError(subject: string, link: string): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_CLOSED',
    `the message on subject "${subject}" was not delivered: link ${link} was released before a delivery slot freed up`,
    { details: { subject, link } },
  );
}
