/**
 * The custom sections of a core wasm module, read and written the way wasmCloud's `wascap` crate
 * does, so that module hashes agree byte for byte: the claims live in a custom section named
 * `wasmcloud_jwt` (`jwt` before wascap 0.9), and the hash covers the module re-encoded without
 * those sections — the 8-byte header, then every other section as `id`, canonical LEB128 size and
 * its payload, in order (wascap re-encodes with wasm-encoder, so a padded size in the input is
 * canonical in what is hashed).
 *
 * A component (the Component Model's binary) frames its top-level sections the same way, so its
 * claims are a top-level custom section and its hash the same re-encoding under its own header.
 * That is wasmesh's rule for components; agreement with wascap is checked for core modules only.
 */
import { createHash } from 'node:crypto';
import { WasmeshError } from '../errors.js';

/** Names of the custom sections that hold claims; the first is the one written. */
export const CLAIMS_SECTIONS: readonly string[] = Object.freeze(['wasmcloud_jwt', 'jwt']);

const CORE_HEADER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
const COMPONENT_HEADER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00);
const MAGIC = CORE_HEADER.subarray(0, 4);
const HIGHEST_SECTION_ID = 13; // tag section; data count is 12

/** One section of a module: its id and payload (a view into the module's bytes). */
export interface WasmSection {
  id: number;
  payload: Uint8Array;
  /** The name of a custom section (id 0). */
  name?: string;
  /** The bytes after a custom section's name. */
  data?: Uint8Array;
}

function malformed(message: string, details: Record<string, unknown> = {}): WasmeshError {
  return new WasmeshError('WASMESH_ERR_INVALID_MODULE', `not a valid wasm module: ${message}`, { details });
}

/** Reads an unsigned LEB128 u32 at `offset`; returns the value and the offset after it. */
function readU32(bytes: Uint8Array, offset: number, what: string): [number, number] {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[offset + i];
    if (b === undefined) throw malformed(`${what} runs past the end of the module`, { offset });
    result += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (result > 0xffffffff) throw malformed(`${what} does not fit in 32 bits`, { offset });
      return [result, offset + i + 1];
    }
  }
  throw malformed(`${what} is a LEB128 number longer than 5 bytes`, { offset });
}

/** The canonical (shortest) LEB128 encoding of `n`. */
function u32Leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/**
 * The 8-byte header of `bytes`: a core module's or a component's. Anything else is
 * `WASMESH_ERR_INVALID_MODULE`.
 */
export function binaryHeader(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 8 || !MAGIC.every((b, i) => bytes[i] === b)) throw malformed('no \\0asm header');
  for (const header of [CORE_HEADER, COMPONENT_HEADER]) if (header.every((b, i) => bytes[i] === b)) return header;
  throw malformed('neither a core module (version 1) nor a component (version 0x0d, layer 1)', {
    version: [...bytes.subarray(4, 8)],
  });
}

/**
 * The top-level sections of the core module or component `bytes`, in order. Refuses anything else
 * (a truncated section, an unknown section id, a custom section whose name does not fit or is not
 * UTF-8) with `WASMESH_ERR_INVALID_MODULE`.
 */
export function readSections(bytes: Uint8Array): WasmSection[] {
  binaryHeader(bytes);
  const sections: WasmSection[] = [];
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset]!;
    if (id > HIGHEST_SECTION_ID) throw malformed(`unknown section id ${id}`, { offset });
    const [size, start] = readU32(bytes, offset + 1, `size of section ${id}`);
    const end = start + size;
    if (end > bytes.length) throw malformed(`section ${id} runs past the end of the module`, { offset });
    const payload = bytes.subarray(start, end);
    if (id === 0) {
      const [nameLen, nameStart] = readU32(payload, 0, 'custom section name length');
      if (nameStart + nameLen > payload.length)
        throw malformed('a custom section name runs past its section', { offset });
      let name: string;
      try {
        name = new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(nameStart, nameStart + nameLen));
      } catch {
        throw malformed('a custom section name is not UTF-8', { offset });
      }
      sections.push({ id, payload, name, data: payload.subarray(nameStart + nameLen) });
    } else {
      sections.push({ id, payload });
    }
    offset = end;
  }
  return sections;
}

/** True for a custom section that holds claims. */
export function isClaimsSection(s: WasmSection): boolean {
  return s.id === 0 && s.name !== undefined && CLAIMS_SECTIONS.includes(s.name);
}

/** Encodes a module (or, with a component's `header`, a component) from its sections, with canonical section sizes. */
export function encodeModule(sections: readonly WasmSection[], header: Uint8Array = CORE_HEADER): Buffer {
  const parts: Uint8Array[] = [header];
  for (const s of sections) parts.push(Uint8Array.from([s.id, ...u32Leb(s.payload.length)]), s.payload);
  return Buffer.concat(parts);
}

/** A custom section `name` holding `data`. */
export function customSection(name: string, data: Uint8Array): WasmSection {
  const nameBytes = Buffer.from(name, 'utf8');
  const payload = Buffer.concat([Uint8Array.from(u32Leb(nameBytes.length)), nameBytes, data]);
  return { id: 0, payload, name, data: payload.subarray(payload.length - data.length) };
}

/** The module (or component: its `header`) without its claims sections, encoded as wascap encodes it before hashing. */
export function stripClaims(sections: readonly WasmSection[], header: Uint8Array = CORE_HEADER): Buffer {
  return encodeModule(
    sections.filter((s) => !isClaimsSection(s)),
    header,
  );
}

/** wascap's module hash: upper-case hex SHA-256 of the module (or component) without its claims sections. */
export function moduleHash(sections: readonly WasmSection[], header: Uint8Array = CORE_HEADER): string {
  return createHash('sha256').update(stripClaims(sections, header)).digest('hex').toUpperCase();
}
