/**
 * What a `local_call` event carries of a call delivered by local dispatch: the invocation and its
 * result as a spy would have seen them on the bus, with payloads cut to {@link MIRROR_PAYLOAD_BYTES}
 * (the event must fit a NATS message; `payload_object` then reads `truncated:<original bytes>`).
 */
import type { lattice } from '@wasmesh/proto';

/** Most payload bytes a mirrored call carries, each way. */
export const MIRROR_PAYLOAD_BYTES = 16 * 1024;

function cut<T extends { payload?: Uint8Array | null; payloadObject?: string | null }>(m: T): T {
  const payload = m.payload ?? new Uint8Array();
  if (payload.length <= MIRROR_PAYLOAD_BYTES) return m;
  return { ...m, payload: payload.subarray(0, MIRROR_PAYLOAD_BYTES), payloadObject: `truncated:${payload.length}` };
}

/** The invocation and result of a local call, ready for a `local_call` event. */
export function mirrorOf(
  inv: lattice.IInvocation,
  result: lattice.IInvocationResult,
): { invocation: lattice.IInvocation; result: lattice.IInvocationResult } {
  return { invocation: cut(inv), result: cut(result) };
}
