/**
 * Delivering one NATS message to an actor: `MessageHandler.HandleMessage` with the message
 * (subject, reply subject, body); when the message has a reply subject, the actor's `reply` bytes
 * are published to it, even when empty (proto3 cannot tell an unset `reply` from an empty one, and
 * an empty answer beats a requester's timeout).
 *
 * When the delivery fails and the message has a reply subject, the requester gets an empty reply
 * with the headers of the NATS services framework, `Nats-Service-Error: <CODE: message>` and
 * `Nats-Service-Error-Code: <status>` (503 when no host runs the actor or the link closed, 504 on
 * a timeout, 500 otherwise), so it learns why at once instead of waiting for its own timeout.
 */
import { headers, type Msg } from '@nats-io/transport-node';
import { contextFrom, decode, encode, isWasmeshError } from '@wasmesh/lattice';
import { contracts, Operation } from '@wasmesh/proto';
import type { Provider } from '@wasmesh/provider-sdk';

/** The NATS services framework's header with the error description. */
export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';
/** The NATS services framework's header with the error status code. */
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';
/** The longest error description put in a header (long ones are cut). */
const MAX_ERROR_HEADER_CHARS = 1024;

/** The status a failed delivery answers with: 503 unavailable, 504 timeout, 500 anything else. */
export function serviceErrorStatus(err: unknown): number {
  if (isWasmeshError(err, 'WASMESH_ERR_NO_RESPONDERS', 'WASMESH_ERR_CLOSED', 'WASMESH_ERR_NOT_CONNECTED')) return 503;
  if (isWasmeshError(err, 'WASMESH_ERR_TIMEOUT')) return 504;
  return 500;
}

/** The description of `err` for the `Nats-Service-Error` header: one line (no header injection), bounded. */
export function serviceErrorDescription(err: unknown): string {
  const text = isWasmeshError(err) ? err.toLine() : err instanceof Error ? err.message : String(err);
  const line = text.replace(/[\r\n\t]+/g, ' ').trim() || 'delivery failed';
  return line.length > MAX_ERROR_HEADER_CHARS ? `${line.slice(0, MAX_ERROR_HEADER_CHARS - 1)}…` : line;
}

/**
 * Calls `actorId`'s `MessageHandler.HandleMessage` with `msg` (deadline `timeoutMs`, continuing the
 * publisher's trace when its headers carry one) and publishes the reply when `msg` has a reply
 * subject. Throws when the actor call or its response fails.
 */
export async function deliverMessage<R>(
  provider: Provider<R>,
  actorId: string,
  msg: Msg,
  timeoutMs: number,
): Promise<void> {
  const payload = encode(contracts.Message, { subject: msg.subject, replyTo: msg.reply ?? '', body: msg.data });
  const out = await provider.invokeActor(actorId, Operation.MessageHandler.HandleMessage, payload, {
    timeoutMs,
    parent: contextFrom(msg.headers),
  });
  if (!msg.reply) return;
  const response = decode(
    contracts.HandleMessageResponse,
    out,
    `${Operation.MessageHandler.HandleMessage} response of actor "${actorId}"`,
  );
  msg.respond(response.reply);
}

/** Answers `msg`'s reply subject with an empty body and the service error headers for `err`; false when it cannot. */
export function respondWithError(msg: Msg, err: unknown): boolean {
  if (!msg.reply) return false;
  try {
    const h = headers();
    h.set(SERVICE_ERROR_HEADER, serviceErrorDescription(err));
    h.set(SERVICE_ERROR_CODE_HEADER, String(serviceErrorStatus(err)));
    return msg.respond(new Uint8Array(), { headers: h });
  } catch {
    return false; // the connection is gone; the requester will time out
  }
}
