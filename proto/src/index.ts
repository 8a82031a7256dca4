/**
 * @wasmesh/proto: the `.proto` sources of wasmesh (control API, events, invocation envelope and
 * contracts) and the message classes generated from them at build time (proto/gen, not committed).
 *
 * Usage: `import { lattice } from '@wasmesh/proto'` then `lattice.Invocation.encode(...)`.
 *
 * Contracts in one place: contract ids, operation names and capability names are written only in
 * the `.proto` files (the `contract_id` service option, wasmesh/contracts/v1/contract.proto, and
 * the rpcs); the build generates {@link ContractId}, {@link Operation}, {@link CAPABILITIES} and
 * {@link CONTRACTS} from them, and the AssemblyScript SDK's codecs too (actors/sdk/assembly/gen).
 * Code imports these instead of spelling `wasmesh:keyvalue` or `KeyValue.Get` again.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { wasmesh } from '../gen/wasmesh.js';
import { ContractId } from '../gen/contracts.js';

export { ContractId };
export { Operation, CAPABILITIES, CONTRACTS, type ContractInfo } from '../gen/contracts.js';

/** A contract id defined in proto/wasmesh (`wasmesh:keyvalue`, …). */
export type ContractIdValue = (typeof ContractId)[keyof typeof ContractId];

/** Directory holding the `.proto` tree (import paths are relative to it, e.g. `wasmesh/lattice/v1/control.proto`). */
export const protoDir: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `wasmesh.lattice.v1`: control API, events and the invocation envelope (classes and types). */
export import lattice = wasmesh.lattice.v1;

/** `wasmesh.contracts.v1`: the capability contracts (key-value, HTTP server, messaging). */
export import contracts = wasmesh.contracts.v1;

/** `wasmesh.examples.v1`: the example Greeter contract. */
export import examples = wasmesh.examples.v1;
