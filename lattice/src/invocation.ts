/**
 * Calling an actor or a provider over the bus: the invocation envelope goes to the target's
 * subject, where its replicas share the load through a queue group. The deadline travels in the
 * envelope; failures come back typed (`WASMESH_ERR_NO_RESPONDERS` when nothing serves the target,
 * `WASMESH_ERR_TIMEOUT`, or the target's own error code) with the target's id and operation.
 * Payloads too large for one NATS message go through the lattice object store. A target served in
 * the caller's own process is called directly instead, given a {@link LocalDispatch} (see there).
 */
import { randomUUID } from 'node:crypto';
import { errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import { lattice } from '@wasmesh/proto';
import { payloadObjectName, type LatticeObjects, type PayloadPart } from './artifacts.js';
import { decode, encode, fromErrorInfo, toErrorInfo } from './codec.js';
import { WasmeshError } from './errors.js';
import type { LocalDispatch, LocalTarget } from './local-dispatch.js';
import { MAX_TIMER_MS, request, requestFailure, type RequestOptions } from './rpc.js';
import type { InvocationTarget, Subjects } from './subjects.js';
import { inSpan, SpanKind, traceHeaders, traceparentOf } from './tracing.js';
import type { Context } from '@opentelemetry/api';

/** Room left in a NATS message for the envelope around a payload. */
export const ENVELOPE_OVERHEAD = 4096;

/** Options of {@link invoke}. */
export interface InvocationOptions {
  timeoutMs: number;
  /** Who calls (actor id, provider id, `cli`). */
  source: string;
  /** Opens the object store when a payload is too large for a message; without it, large payloads fail. */
  objects?: () => Promise<LatticeObjects>;
  /** Unix-ms deadline inherited from a caller; the earlier of it and now + timeoutMs wins. */
  deadlineMs?: number;
  /** Trace context to continue (default: the active one). */
  parent?: Context;
  /** For an actor's call to a provider: the link name it used. */
  linkName?: string;
  /** The targets served in the caller's process: one that accepts takes the call without NATS. */
  local?: LocalDispatch;
}

/** The largest payload that fits in one message on this connection. */
export function inlinePayloadLimit(nc: NatsConnection): number {
  return (nc.info?.max_payload ?? 1024 * 1024) - ENVELOPE_OVERHEAD;
}

/**
 * Stores `payload` in the object store, as the `part` of invocation `invocationId`, when it is too
 * large to go inline; returns the object name for the envelope's `payload_object`, or ''.
 */
export async function offloadIfLarge(
  nc: NatsConnection,
  payload: Uint8Array,
  objects: (() => Promise<LatticeObjects>) | undefined,
  invocationId: string,
  part: PayloadPart,
  what: string,
): Promise<string> {
  const limit = inlinePayloadLimit(nc);
  if (payload.length <= limit) return '';
  if (!objects) {
    throw new WasmeshError(
      'WASMESH_ERR_PAYLOAD_TOO_LARGE',
      `the ${what} is ${payload.length} bytes, more than the ${limit} bytes that fit in one NATS message`,
      { details: { size: payload.length, limit } },
    );
  }
  return (await objects()).putPayload(invocationId, part, payload);
}

/**
 * The payload an invocation or its result carries: inline, or taken (read and deleted) from the
 * object store. An object name in a message is not a capability: the only object it may name is
 * the `part` of its own invocation (`payloads/<invocationId>/<part>`, see {@link payloadObjectName});
 * any other name (an artifact, another part) is `WASMESH_ERR_BAD_REQUEST` naming the field
 * `payload_object`, and nothing is read or deleted.
 */
export async function receivePayload(
  message: { payload: Uint8Array; payloadObject: string },
  invocationId: string,
  part: PayloadPart,
  objects: (() => Promise<LatticeObjects>) | undefined,
  what: string,
): Promise<Uint8Array> {
  if (!message.payloadObject) return message.payload;
  const expected = payloadObjectName(invocationId, part);
  if (message.payloadObject !== expected) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `${what}: payload_object "${message.payloadObject.slice(0, 200)}" is not the ${part} object of invocation ` +
        `${invocationId} ("${expected}"); a message may only name the payload object stored for its own invocation`,
      { details: { field: 'payload_object', invocation: invocationId } },
    );
  }
  if (!objects) {
    throw new WasmeshError(
      'WASMESH_ERR_PAYLOAD_TOO_LARGE',
      `the ${part} payload of the ${what} is in the object store, which this caller cannot open`,
    );
  }
  return (await objects()).takePayload(invocationId, part);
}

/** What an invocation returned, and which host served it. */
export interface InvocationOutcome {
  payload: Uint8Array;
  hostId: string;
}

/**
 * Invokes `operation` on `target` (an actor or a provider) somewhere in the lattice: the one way
 * every caller invokes (the CLI's client, hosts' actors, providers). Resolves with the response
 * and which host served it.
 */
export async function invoke(
  nc: NatsConnection,
  subjects: Subjects,
  target: InvocationTarget,
  operation: string,
  payload: Uint8Array,
  options: InvocationOptions,
): Promise<InvocationOutcome> {
  const subject = subjects.invocations(target);
  const [kind, callee] = 'provider' in target ? ['provider', target.provider] : ['actor', target.actor];
  const context = { [kind]: callee, operation };
  const what = `invocation of ${callee}.${operation}`;
  return inSpan(
    `invoke ${callee}.${operation}`,
    {
      kind: SpanKind.CLIENT,
      attributes: { [`wasmesh.${kind}`]: callee, 'wasmesh.operation': operation },
      ...(options.parent ? { parent: options.parent } : {}),
    },
    async (_span, ctx) => {
      const deadlineMs = Math.min(Date.now() + options.timeoutMs, options.deadlineMs ?? Number.POSITIVE_INFINITY);
      const timeoutMs = Math.max(1, deadlineMs - Date.now());
      const id = randomUUID();
      const outcome = async (result: lattice.IInvocationResult): Promise<InvocationOutcome> => {
        if (result.error?.code) throw fromErrorInfo(result.error, { ...context, host: result.hostId });
        return {
          payload: await receivePayload(
            { payload: result.payload ?? new Uint8Array(), payloadObject: result.payloadObject ?? '' },
            id,
            'response',
            options.objects,
            `reply to the ${what}`,
          ),
          hostId: result.hostId ?? '',
        };
      };
      const local = options.local?.pick(subject);
      if (local) {
        // No traceparent: the serving span continues `ctx` itself.
        const inv = lattice.Invocation.create({
          id,
          source: options.source,
          target: callee,
          operation,
          payload,
          deadlineMs,
          linkName: options.linkName ?? '',
        });
        const started = performance.now();
        const took = (): number => Math.round((performance.now() - started) * 1000);
        let result: lattice.IInvocationResult;
        try {
          result = await callLocal(local, inv, ctx, { timeoutMs, context, what });
        } catch (err) {
          options.local!.delivered(inv, { error: toErrorInfo(err) }, took());
          throw err;
        }
        options.local!.delivered(inv, result, took());
        return outcome(result);
      }
      const payloadObject = await offloadIfLarge(
        nc,
        payload,
        options.objects,
        id,
        'request',
        `request payload for ${callee}.${operation}`,
      );
      const envelope = encode(lattice.Invocation, {
        id,
        source: options.source,
        target: callee,
        operation,
        payload: payloadObject ? new Uint8Array() : payload,
        payloadObject,
        deadlineMs,
        linkName: options.linkName ?? '',
        ...traceparentOf(ctx),
      });
      const msg = await request(nc, subject, envelope, { timeoutMs, headers: traceHeaders(ctx), context, what }).catch(
        (err: WasmeshError) => {
          if (err.code === 'WASMESH_ERR_NO_RESPONDERS') {
            throw new WasmeshError(
              'WASMESH_ERR_NO_RESPONDERS',
              kind === 'actor'
                ? `no host runs actor "${callee}" in lattice "${subjects.lattice}"`
                : `provider "${callee}" is not running in lattice "${subjects.lattice}" (wasmesh get providers)`,
              {
                cause: err,
                details: context,
              },
            );
          }
          throw err;
        },
      );
      return outcome(decode(lattice.InvocationResult, msg.data, `reply to the ${what}`));
    },
  );
}

/**
 * A call to a target in this process, failing as a request over the bus would when its deadline
 * passes first (`WASMESH_ERR_TIMEOUT`, same message) — unless the target itself ends every call by
 * its deadline (an actor), which spares a timer per call.
 */
async function callLocal(
  target: LocalTarget,
  inv: lattice.Invocation,
  trace: Context,
  options: RequestOptions,
): Promise<lattice.IInvocationResult> {
  if (target.bounded) return target.serve(inv, trace);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(requestFailure(new natsErrors.TimeoutError(), options)),
      Math.min(options.timeoutMs, MAX_TIMER_MS),
    );
  });
  try {
    return await Promise.race([target.serve(inv, trace), late]);
  } finally {
    clearTimeout(timer);
  }
}
