/**
 * The errors a provider answers with. Codes are the lattice's (`WASMESH_ERR_*`, README table); each
 * message names what the caller needs to fix it.
 */
import { DEFAULT_LINK_NAME, WasmeshError } from '@wasmesh/lattice';

/** `WASMESH_ERR_NO_LINK`: `actor` has no link for `contract` named `linkName` to this provider. */
export function noLinkError(actor: string, contract: string, linkName: string, providerId: string): WasmeshError {
  const nameFlag = linkName === DEFAULT_LINK_NAME ? '' : ` --name ${linkName}`;
  return new WasmeshError(
    'WASMESH_ERR_NO_LINK',
    `actor "${actor}" has no link for contract "${contract}" named "${linkName}" to provider "${providerId}" (add one with \`wasmesh link put ${actor} ${providerId} ${contract}${nameFlag}\`)`,
    { details: { actor, contract, link: linkName, provider: providerId } },
  );
}

/** `WASMESH_ERR_UNKNOWN_OPERATION`: the provider does not implement `operation` of its contract. */
export function unknownOperationError(
  operation: string,
  contract: string,
  providerId: string,
  known: readonly string[],
): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_UNKNOWN_OPERATION',
    `provider "${providerId}" (${contract}) has no operation "${operation}"; it serves ${known.join(', ') || 'none'}`,
    { details: { operation, contract, provider: providerId } },
  );
}

/**
 * `WASMESH_ERR_CONFIG`: link (or provider) config the provider refuses. Throw it from
 * `onLinkPut`; the message reaches the user in a `link_status` event.
 */
export function configError(message: string, details: Record<string, unknown> = {}, cause?: unknown): WasmeshError {
  return new WasmeshError('WASMESH_ERR_CONFIG', message, { details, ...(cause === undefined ? {} : { cause }) });
}
