/**
 * The serving side of an invocation, shared by hosts (actors) and providers: decode the envelope,
 * run it in a span that continues the caller's trace, and always answer with an
 * `InvocationResult` — the payload, or the error with its code. A failure never goes unanswered.
 */
import type { Msg } from '@nats-io/transport-node';
import type { Attributes, Context } from '@opentelemetry/api';
import { lattice } from '@wasmesh/proto';
import { decode, encode, toErrorInfo } from './codec.js';
import { isWasmeshError, WasmeshError } from './errors.js';
import type { Logger } from './logger.js';
import { contextFrom, inSpan, SpanKind } from './tracing.js';

/** Options of {@link answerInvocation}. */
export interface AnswerOptions {
  /** Span name, e.g. `serve echo`. */
  span: string;
  attributes: Attributes;
  /** What the envelope is, for a malformed-envelope error: `invocation envelope for actor echo`. */
  what: string;
  /** Written into the result so callers know who served them. */
  servedBy: string;
  logger: Logger;
}

/** Serves an invocation: what `run` returns, or the error it throws as an `InvocationResult`. */
export type InvocationRunner = (inv: lattice.Invocation, trace: Context) => Promise<lattice.IInvocationResult>;

/**
 * Runs one invocation in a span under `parent` (the caller's trace) and turns a failure into an
 * error result: the part of serving shared by the bus ({@link answerInvocation}) and local
 * dispatch, so a call means the same either way. `invocation` is a thunk so that a malformed
 * envelope fails inside the span, as an error result too.
 */
export async function runInvocation(
  parent: Context,
  invocation: () => lattice.Invocation,
  options: AnswerOptions,
  run: InvocationRunner,
): Promise<lattice.IInvocationResult> {
  try {
    return await inSpan(
      options.span,
      { kind: SpanKind.SERVER, parent, attributes: options.attributes },
      async (span, ctx) => {
        const inv = invocation();
        span.setAttribute('wasmesh.operation', inv.operation);
        return run(inv, ctx);
      },
    );
  } catch (err) {
    // Failures of the guest or the request are the caller's business; ours deserve a warning.
    if (!isWasmeshError(err) || err.code === 'WASMESH_ERR_INTERNAL') options.logger.warn({ err }, 'invocation failed');
    else options.logger.debug({ err }, 'invocation failed');
    return { error: toErrorInfo(err), hostId: options.servedBy };
  }
}

/** Answers one invocation message with what `run` returns or throws. */
export async function answerInvocation(msg: Msg, options: AnswerOptions, run: InvocationRunner): Promise<void> {
  let reply = await runInvocation(
    contextFrom(msg.headers),
    () => decode(lattice.Invocation, msg.data, options.what),
    options,
    run,
  );
  if (!msg.reply) return;
  const bytes = encode(lattice.InvocationResult, reply);
  try {
    msg.respond(bytes);
    return;
  } catch (err) {
    options.logger.warn({ err, bytes: bytes.length }, 'cannot send the invocation reply');
    reply = {
      error: toErrorInfo(
        new WasmeshError(
          'WASMESH_ERR_TOO_LARGE',
          `the invocation reply (${bytes.length} bytes) could not be sent: ${(err as Error)?.message ?? err}`,
          { details: { bytes: bytes.length } },
        ),
      ),
      hostId: options.servedBy,
    };
  }
  try {
    // A small error instead, so the caller is not left waiting for its deadline.
    msg.respond(encode(lattice.InvocationResult, reply));
  } catch {
    // The connection is gone: the caller times out.
  }
}
