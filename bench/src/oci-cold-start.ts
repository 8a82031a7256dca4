/**
 * `oci_cold_start_ms` (part of the reconcile bench): the start of an actor by `oci://` reference on
 * a host that never saw it — pull from a real registry (manifest + layer, verified), compile, and the
 * first call answered. The module is the echo actor, unsigned, with a random custom section
 * appended, so its digest is new to every cache (the host's OCI cache and its compiled-code cache)
 * on every run.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { actorPath } from '@wasmesh/actors';
import { pushWasmArtifact, type ControlClient, type LatticeClient } from '@wasmesh/lattice';
import { RegistryServer } from '@wasmesh/test';
import { round } from './stats.js';

/**
 * The echo module without its claims (the `wasmcloud_jwt` custom section: its signature covers the module,
 * which this changes) and with a custom section of random bytes: valid, and never seen before.
 */
function freshModule(): Buffer {
  const signed = readFileSync(actorPath('echo'));
  const parts: Buffer[] = [signed.subarray(0, 8)]; // magic and version
  for (let at = 8; at < signed.length;) {
    const start = at;
    const id = signed[at++]!;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = signed[at++]!;
      size |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    const end = at + size;
    const nameLength = signed[at]!; // names here are short: a one-byte LEB128
    const isClaims = id === 0 && signed.subarray(at + 1, at + 1 + nameLength).toString() === 'wasmcloud_jwt';
    if (!isClaims) parts.push(signed.subarray(start, end));
    at = end;
  }
  const name = Buffer.from('wasmesh-bench');
  const payload = Buffer.concat([Buffer.from([name.length]), name, randomBytes(16)]);
  // Section id 0 (custom), size as a one-byte LEB128 (< 128), then the name and the random bytes.
  return Buffer.concat([...parts, Buffer.from([0, payload.length]), payload]);
}

/**
 * Pushes a fresh module to a registry started for the purpose, then times `start actor` on `hostId`
 * by its tag plus the first call. Returns `{ oci_cold_start_ms }`.
 */
export async function measureOciColdStart(
  client: LatticeClient,
  control: ControlClient,
  hostId: string,
): Promise<{ oci_cold_start_ms: number }> {
  const registry = await RegistryServer.start();
  try {
    const ref = `oci://${registry.host}/bench/echo:cold`;
    await pushWasmArtifact(freshModule(), ref, { dockerConfig: null });
    const startAt = performance.now();
    await control.startActor({ hostId, actorId: 'bench-oci-cold', artifactRef: ref, maxConcurrent: 1 });
    const answer = await client.invoke('bench-oci-cold', 'Echo', Buffer.from('cold'));
    const ms = performance.now() - startAt;
    if (Buffer.from(answer).toString() !== 'cold') throw new Error('the actor started by oci:// answered wrongly');
    await control.stopActor({ hostId, actorId: 'bench-oci-cold' });
    return { oci_cold_start_ms: round(ms, 0) };
  } finally {
    await registry.stop();
  }
}
