/**
 * Object-store references are capabilities, not names: an invocation (or its result) may only name
 * the payload object stored for that invocation, so no message can read or delete an artifact; and
 * `pushArtifact` stores again what a delete left behind as a marker, before it reports success.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { artifactName, encode, payloadObjectName, type WasmeshError } from '@wasmesh/lattice';
import { lattice as pb } from '@wasmesh/proto';
import { natsEnv, wasmesh } from '../cli/run-cli.js';
import { actorPath } from '../fixtures.js';
import { startLattice, until, type LatticeFixture } from './fixture.js';

let lat: LatticeFixture;
let hostId: string;
const echo = readFileSync(actorPath('echo'));
let echoRef: string;

beforeAll(async () => {
  // A 1 MiB max payload, so a 3 MiB payload must go through the object store.
  lat = await startLattice({ hosts: [{}], nats: { maxPayload: 1024 * 1024 } });
  hostId = lat.hosts[0]!.hostId;
  echoRef = await (await lat.client.objects()).pushArtifact(echo);
  await lat.client.control.startActor({ hostId, actorId: 'echo', artifactRef: echoRef });
}, 60_000);
afterAll(async () => lat?.[Symbol.asyncDispose]());

/** Sends a hand-made envelope to actor `actorId` (or provider, `{ provider }`) and decodes the result. */
async function forge(target: string | { provider: string }, envelope: pb.IInvocation): Promise<pb.InvocationResult> {
  const [subject, id] =
    typeof target === 'string'
      ? [lat.client.subjects.actor(target), target]
      : [lat.client.subjects.provider(target.provider), target.provider];
  const msg = await lat.client.nc.request(
    subject,
    encode(pb.Invocation, { source: 'attacker', target: id, operation: 'Echo', ...envelope }),
    { timeout: 5000 },
  );
  return pb.InvocationResult.decode(msg.data);
}

async function echoes(actorId: string, payload: Buffer): Promise<void> {
  const out = await lat.client.invoke(actorId, 'Echo', payload, { timeoutMs: 20_000 });
  expect(Buffer.compare(Buffer.from(out), payload)).toBe(0);
}

test('an envelope naming an artifact as its payload object is refused, and the artifact survives', async () => {
  const objects = await lat.client.objects();
  for (const payloadObject of [
    artifactName(echoRef),
    // An artifact, another invocation's request, and a name that only starts like a payload's.
    payloadObjectName(randomUUID(), 'request'),
    'payloads/x/../../' + artifactName(echoRef),
  ]) {
    const id = randomUUID();
    const result = await forge('echo', { id, payloadObject, deadlineMs: Date.now() + 5000 });
    expect(result.error?.code).toBe('WASMESH_ERR_BAD_REQUEST');
    expect(result.error?.message).toContain('payload_object');
    expect(result.error?.details).toMatchObject({ field: 'payload_object', invocation: id });
  }
  // Its own invocation's response is not its request either.
  const id = randomUUID();
  const own = await forge('echo', { id, payloadObject: payloadObjectName(id, 'response') });
  expect(own.error?.code).toBe('WASMESH_ERR_BAD_REQUEST');
  // An id that cannot name a payload object is refused too, naming the id.
  const badId = await forge('echo', { id: '../artifacts', payloadObject: artifactName(echoRef) });
  expect(badId.error?.code).toBe('WASMESH_ERR_BAD_REQUEST');
  expect(badId.error?.details).toMatchObject({ field: 'id' });

  // Nothing was read or deleted: the artifact is whole and an actor starts from its reference.
  expect(Buffer.compare(Buffer.from(await objects.fetchArtifact(echoRef)), echo)).toBe(0);
  expect((await objects.raw.info(artifactName(echoRef)))?.deleted).toBe(false);
  await lat.client.control.startActor({ hostId, actorId: 'echo-again', artifactRef: echoRef });
  await echoes('echo-again', Buffer.from('still here'));
});

test('a provider refuses an envelope naming an artifact as its payload object, and the artifact survives', async () => {
  await lat.client.control.startProvider({ hostId, providerId: 'kv', artifactRef: 'builtin:keyvalue' });
  await (await lat.client.state()).putLink({ sourceId: 'caller', contract: 'wasmesh:keyvalue', targetId: 'kv' });
  const attempt = async (): Promise<pb.InvocationResult> =>
    forge(
      { provider: 'kv' },
      {
        id: randomUUID(),
        source: 'caller',
        operation: 'KeyValue.Get',
        payloadObject: artifactName(echoRef),
      },
    );
  // Until the provider has the link, it answers NO_LINK before looking at the payload.
  let result: pb.InvocationResult | undefined;
  await until('the provider to take the link', async () => {
    result = await attempt();
    return result.error?.code !== 'WASMESH_ERR_NO_LINK';
  });
  expect(result?.error?.code).toBe('WASMESH_ERR_BAD_REQUEST');
  expect(result?.error?.details).toMatchObject({ field: 'payload_object' });
  const objects = await lat.client.objects();
  expect(Buffer.compare(Buffer.from(await objects.fetchArtifact(echoRef)), echo)).toBe(0);
});

test('a reply naming an artifact as its payload object is refused by the caller, and the artifact survives', async () => {
  const objects = await lat.client.objects();
  const fake = lat.client.nc.subscribe(lat.client.subjects.actor('fake'), {
    callback: (_err, msg) => {
      msg.respond(encode(pb.InvocationResult, { hostId: 'fake', payloadObject: artifactName(echoRef) }));
    },
  });
  await lat.client.nc.flush();
  try {
    const err = await lat.client.invoke('fake', 'Echo', Buffer.from('x')).catch((e: WasmeshError) => e);
    expect(err).toMatchObject({
      code: 'WASMESH_ERR_BAD_REQUEST',
      details: expect.objectContaining({ field: 'payload_object' }),
    });
  } finally {
    fake.unsubscribe();
  }
  expect(Buffer.compare(Buffer.from(await objects.fetchArtifact(echoRef)), echo)).toBe(0);
});

test('large payloads still travel through the object store both ways, and leave nothing behind', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  await echoes('echo', big);
  const objects = await lat.client.objects();
  const live = (await objects.raw.list()).filter((o) => !o.deleted && o.name.startsWith('payloads/'));
  expect(live).toEqual([]);
});

test('pushing an artifact whose object was deleted stores it again', async () => {
  const objects = await lat.client.objects();
  await objects.raw.delete(artifactName(echoRef));
  // The delete leaves a marker: info still answers, with deleted: true.
  expect((await objects.raw.info(artifactName(echoRef)))?.deleted).toBe(true);
  await expect(objects.fetchArtifact(echoRef)).rejects.toMatchObject({ code: 'WASMESH_ERR_NOT_FOUND' });

  expect(await objects.pushArtifact(echo, 'echo.wasm')).toBe(echoRef);
  expect((await objects.raw.info(artifactName(echoRef)))?.deleted).toBe(false);
  expect(Buffer.compare(Buffer.from(await objects.fetchArtifact(echoRef)), echo)).toBe(0);
  await lat.client.control.startActor({ hostId, actorId: 'echo-restored', artifactRef: echoRef });
  await echoes('echo-restored', Buffer.from('restored'));
});

test('`wasmesh push` after a delete stores the module again before it prints the reference', async () => {
  const objects = await lat.client.objects();
  await objects.raw.delete(artifactName(echoRef));
  const r = await wasmesh(['push', actorPath('echo'), '--json'], await natsEnv(lat.nats, lat.lattice));
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, ref: echoRef });
  expect(Buffer.compare(Buffer.from(await objects.fetchArtifact(echoRef)), echo)).toBe(0);
});

test('pushing an artifact whose object holds other bytes stores the right ones', async () => {
  const objects = await lat.client.objects();
  await objects.raw.putBlob({ name: artifactName(echoRef) }, Buffer.from('not echo'));
  expect(await objects.pushArtifact(echo)).toBe(echoRef);
  expect(Buffer.compare(Buffer.from(await objects.fetchArtifact(echoRef)), echo)).toBe(0);
});
