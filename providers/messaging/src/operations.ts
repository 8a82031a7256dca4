/**
 * The operations linked actors call: `Messaging.Publish` and `Messaging.Request`, on the link's
 * connection (the lattice's, or its own with config `url`).
 *
 * - Subjects are checked first (see subjects.ts): a bad one is `WASMESH_ERR_BAD_REQUEST` naming it
 *   and what is wrong. A reply subject an actor sets on a publish is checked like the subject:
 *   on the lattice connection it may not point into the lattice's namespaces either (whoever
 *   answers would publish there).
 * - Publish is fire-and-forget, as in core NATS: it returns once the message is handed to the
 *   connection (a connection reconnecting buffers it).
 * - Request waits `timeout_ms` (0: {@link DEFAULT_REQUEST_TIMEOUT_MS}), never past the call's own
 *   deadline (less a margin, so the typed error still reaches the actor in time). Nobody
 *   subscribed: `WASMESH_ERR_NO_RESPONDERS`; no reply in time: `WASMESH_ERR_TIMEOUT`, both naming
 *   the subject. The reply comes back as a `Message` whose subject is the one NATS delivered it
 *   on (the request's inbox) and whose `reply_to` is the replier's, if it set one.
 * - The caller's trace continues in the headers of what is sent.
 */
import { decode, encode, isWasmeshError, request, traceHeaders } from '@wasmesh/lattice';
import { contracts, Operation } from '@wasmesh/proto';
import type { CallContext, OperationHandler } from '@wasmesh/provider-sdk';
import {
  badRequestError,
  badSubjectError,
  noRespondersError,
  notConnectedError,
  payloadTooLargeError,
  requestTimeoutError,
} from './errors.js';
import type { MessagingLink } from './link.js';
import { subjectProblem } from './subjects.js';

/** How long a request waits for its reply when the actor gives no `timeout_ms`. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** Time kept back from a call's deadline so the provider's own answer arrives before it. */
const DEADLINE_MARGIN_MS = 50;

/** `Messaging.Publish`: publishes the request's message on the link's connection. */
export const publish: OperationHandler<MessagingLink> = (ctx, payload) => {
  const req = decode(contracts.PublishRequest, payload, `${Operation.Messaging.Publish} request`);
  const message = req.message;
  if (!message) throw badRequestError(`${Operation.Messaging.Publish} request has no message (field 1)`);
  const subject = message.subject ?? '';
  const replyTo = message.replyTo ?? '';
  const body = message.body ?? new Uint8Array();
  const link = ctx.resource;
  checkSubject(link, 'publish subject', subject);
  if (replyTo) checkSubject(link, 'reply subject', replyTo);
  checkSize(link, subject, body.length);
  try {
    const headers = traceHeaders(ctx.trace);
    link.nc.publish(subject, body, { ...(replyTo ? { reply: replyTo } : {}), ...(headers ? { headers } : {}) });
  } catch (err) {
    if (link.nc.isClosed()) throw notConnectedError(subject, link.where, err);
    throw err;
  }
  return encode(contracts.PublishResponse, {});
};

/** `Messaging.Request`: sends a request on the link's connection and returns the first reply. */
export const requestReply: OperationHandler<MessagingLink> = async (ctx, payload) => {
  const req = decode(contracts.RequestRequest, payload, `${Operation.Messaging.Request} request`);
  const link = ctx.resource;
  checkSubject(link, 'request subject', req.subject);
  checkSize(link, req.subject, req.body.length);
  const timeoutMs = requestTimeout(ctx, req.timeoutMs);
  if (timeoutMs < 1) throw requestTimeoutError(req.subject, 0, link.where);
  try {
    const reply = await request(link.nc, req.subject, req.body, {
      timeoutMs,
      what: `request on subject "${req.subject}"`,
      context: { subject: req.subject },
      headers: traceHeaders(ctx.trace),
    });
    return encode(contracts.RequestResponse, {
      message: { subject: reply.subject, replyTo: reply.reply ?? '', body: reply.data },
    });
  } catch (err) {
    throw requestError(err, req.subject, timeoutMs, link.where);
  }
};

/** The wait of a request: `requested` (0: the default), cut to the call's deadline less a margin. */
export function requestTimeout(ctx: Pick<CallContext<unknown>, 'deadlineMs'>, requested: number): number {
  const wanted = requested > 0 ? requested : DEFAULT_REQUEST_TIMEOUT_MS;
  return Math.min(wanted, Math.floor(ctx.deadlineMs - Date.now() - DEADLINE_MARGIN_MS));
}

/** The typed error for a failed request on `subject`. */
function requestError(err: unknown, subject: string, timeoutMs: number, where: string): unknown {
  if (isWasmeshError(err, 'WASMESH_ERR_NO_RESPONDERS')) return noRespondersError(subject, where, err);
  if (isWasmeshError(err, 'WASMESH_ERR_TIMEOUT')) return requestTimeoutError(subject, timeoutMs, where, err);
  if (isWasmeshError(err, 'WASMESH_ERR_NOT_CONNECTED')) return notConnectedError(subject, where, err);
  return err;
}

/** Throws `WASMESH_ERR_BAD_REQUEST` when `subject` cannot be sent to on `link`'s connection. */
function checkSubject(link: MessagingLink, role: string, subject: string): void {
  const problem = subjectProblem(subject, 'send', !link.ownConnection);
  if (problem) throw badSubjectError(role, subject, problem);
}

/** Throws `WASMESH_ERR_PAYLOAD_TOO_LARGE` when a body exceeds the server's `max_payload` (headers need room too). */
function checkSize(link: MessagingLink, subject: string, size: number): void {
  const limit = link.nc.info?.max_payload;
  if (limit !== undefined && size > limit) throw payloadTooLargeError(subject, size, limit);
}
