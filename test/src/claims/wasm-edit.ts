/**
 * Byte-level edits of modules for the claims tests: custom sections written by hand, section sizes
 * padded as some toolchains write them, and a module's JWT swapped for a forged one (signature
 * left as it was), so the tests do not depend on the code they check.
 */
import { readFileSync } from 'node:fs';
import { readSections, stripClaims } from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';

/** The example actor `name` without any claims (the build signs the examples). */
export function unsignedActor(name: string): Buffer {
  return stripClaims(readSections(readFileSync(actorPath(name))));
}

const leb = (n: number, width?: number): number[] => {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  } while (n !== 0 || (width !== undefined && out.length < width));
  out[out.length - 1]! &= 0x7f;
  return out;
};

/** A custom section `name` holding `text`, encoded by hand. */
export function customSectionBytes(name: string, text: string): Buffer {
  const body = Buffer.concat([Buffer.from(leb(Buffer.byteLength(name))), Buffer.from(name), Buffer.from(text)]);
  return Buffer.concat([Buffer.from([0, ...leb(body.length)]), body]);
}

/** `wasm` with every section size written as a 5-byte LEB128 (valid, but not canonical). */
export function paddedSizes(wasm: Buffer): Buffer {
  const parts = [wasm.subarray(0, 8)];
  for (const s of readSections(wasm))
    parts.push(Buffer.from([s.id, ...leb(s.payload.length, 5)]), Buffer.from(s.payload));
  return Buffer.concat(parts);
}

/** The JWT in a signed module's `wasmcloud_jwt` section. */
export function jwtOf(wasm: Buffer): string {
  const s = readSections(wasm).find((x) => x.name === 'wasmcloud_jwt');
  if (!s?.data) throw new Error('no claims section');
  return Buffer.from(s.data).toString('utf8');
}

/** `wasm` with its JWT payload rewritten by `edit`, header and signature unchanged. */
export function replaceJwt(wasm: Buffer, edit: (payload: Record<string, unknown>) => Record<string, unknown>): Buffer {
  const [head, body, sig] = jwtOf(wasm).split('.') as [string, string, string];
  const payload = edit(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>);
  const forged = `${head}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
  const sections = readSections(wasm).filter((x) => x.name !== 'wasmcloud_jwt');
  const rest = sections.map((s) =>
    Buffer.concat([Buffer.from([s.id, ...leb(s.payload.length)]), Buffer.from(s.payload)]),
  );
  return Buffer.concat([wasm.subarray(0, 8), ...rest, customSectionBytes('wasmcloud_jwt', forged)]);
}
