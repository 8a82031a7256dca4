/**
 * Bad input on the bus gets a clear, typed error reply, and the host keeps running: malformed
 * protobuf on control and actor subjects, unknown actor and host ids, a digest mismatch, an invalid
 * module, oversize payloads.
 */
import { readFileSync } from 'node:fs';
import { artifactName, digestOf, errorReply, unwrapReply, type WasmeshError } from '@wasmesh/lattice';
import { lattice as pb } from '@wasmesh/proto';
import { actorPath, fixturePath } from '../fixtures.js';
import { startLattice, waitForEvent, type LatticeFixture } from './fixture.js';

let lat: LatticeFixture;
let hostId: string;

beforeAll(async () => {
  // A 1 MiB max payload, so "too large for one message" is easy to reach.
  lat = await startLattice({ hosts: [{}], nats: { maxPayload: 1024 * 1024 } });
  hostId = lat.hosts[0]!.hostId;
  await lat.client.control.startActor({ hostId, actorId: 'echo', artifactRef: actorPath('echo') });
}, 60_000);
afterAll(async () => lat?.[Symbol.asyncDispose]());

async function hostStillServes(): Promise<void> {
  expect(Buffer.from(await lat.client.invoke('echo', 'Echo', Buffer.from('alive'))).toString()).toBe('alive');
  expect((await lat.client.control.ping()).map((h) => h.hostId)).toEqual([hostId]);
}

test('malformed protobuf on a control subject gets a BAD_REQUEST reply naming the request', async () => {
  // Field 1 says 5 bytes follow; only 1 does.
  const garbage = Buffer.from([0x0a, 0x05, 0x41]);
  for (const op of ['actor.start', 'actor.stop', 'label.put', 'host.inventory'] as const) {
    const msg = await lat.client.nc.request(lat.client.subjects.control(op, hostId), garbage, { timeout: 5000 });
    let err: WasmeshError | undefined;
    try {
      unwrapReply(msg.data, op);
    } catch (e) {
      err = e as WasmeshError;
    }
    expect(err?.code).toBe('WASMESH_ERR_BAD_REQUEST');
    expect(err?.message).toMatch(/^malformed .*request/);
  }
  await hostStillServes();
});

test('a malformed invocation envelope gets an error reply, not silence', async () => {
  const msg = await lat.client.nc.request(lat.client.subjects.actor('echo'), Buffer.from([0xff, 0xff, 0xff]), {
    timeout: 5000,
  });
  const result = pb.InvocationResult.decode(msg.data);
  expect(result.error?.code).toBe('WASMESH_ERR_BAD_REQUEST');
  expect(result.error?.message).toContain('invocation envelope for actor echo');
  await hostStillServes();
});

test('unknown actor ids and host ids are named in the error', async () => {
  await expect(lat.client.invoke('ghost', 'Echo', Buffer.from('x'))).rejects.toMatchObject({
    code: 'WASMESH_ERR_NO_RESPONDERS',
    message: expect.stringContaining('"ghost"'),
  });
  await expect(lat.client.control.stopActor({ hostId, actorId: 'ghost' })).rejects.toMatchObject({
    code: 'WASMESH_ERR_NOT_FOUND',
    message: expect.stringContaining('"ghost" is not running'),
  });
  const unknownHost = 'NBADHOSTBADHOSTBADHOSTBADHOSTBADHOSTBADHOSTBADHOSTBADHOS';
  await expect(lat.client.control.inventory(unknownHost)).rejects.toMatchObject({
    code: 'WASMESH_ERR_NOT_FOUND',
    message: expect.stringContaining(unknownHost),
  });
  await expect(
    lat.client.control.startActor({ hostId, actorId: 'bad id!', artifactRef: actorPath('echo') }),
  ).rejects.toMatchObject({
    code: 'WASMESH_ERR_INVALID_NAME',
  });
  await hostStillServes();
});

test('an artifact whose bytes do not match its digest is refused', async () => {
  const objects = await lat.client.objects();
  const echo = readFileSync(actorPath('echo'));
  const claimed = digestOf(echo);
  // Plant other bytes under echo's digest, as a corrupted or tampered store would hold.
  const other = `sha256:${'0'.repeat(64)}`;
  await objects.raw.putBlob({ name: artifactName(other) }, echo);
  const events = lat.client.events({ types: ['actor_failed'] });
  const failed = waitForEvent(events, (e) => e.type === 'actor_failed' && e.data.actorId === 'tampered');
  await expect(
    lat.client.control.startActor({ hostId, actorId: 'tampered', artifactRef: other }),
  ).rejects.toMatchObject({
    code: 'WASMESH_ERR_DIGEST_MISMATCH',
    message: expect.stringContaining(claimed),
  });
  expect((await failed).type).toBe('actor_failed');
  events.close();
  await expect(
    lat.client.control.startActor({ hostId, actorId: 'absent', artifactRef: `sha256:${'1'.repeat(64)}` }),
  ).rejects.toMatchObject({
    code: 'WASMESH_ERR_NOT_FOUND',
  });
  await expect(
    lat.client.control.startActor({ hostId, actorId: 'bad-ref', artifactRef: 'sha256:xyz' }),
  ).rejects.toMatchObject({
    code: 'WASMESH_ERR_BAD_REQUEST',
  });
  await hostStillServes();
});

test('a start request for an invalid module fails with the module error and an actor_failed event', async () => {
  const events = lat.client.events({ types: ['actor_failed'] });
  const failed = waitForEvent(events, (e) => e.type === 'actor_failed' && e.data.actorId === 'not-an-actor');
  await expect(
    lat.client.control.startActor({ hostId, actorId: 'not-an-actor', artifactRef: fixturePath('no-guest-call') }),
  ).rejects.toMatchObject({ code: 'WASMESH_ERR_MISSING_EXPORT' });
  const e = await failed;
  events.close();
  if (e.type !== 'actor_failed') throw new Error('unreachable');
  expect(e.data.error?.code).toBe('WASMESH_ERR_MISSING_EXPORT');
  await expect(
    lat.client.control.startActor({ hostId, actorId: 'no-file', artifactRef: fixturePath('definitely-not-here') }),
  ).rejects.toMatchObject({ code: 'WASMESH_ERR_NOT_FOUND' });
  await hostStillServes();
});

test('payloads larger than a NATS message travel through the object store, both ways', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const out = await lat.client.invoke('echo', 'Echo', big, { timeoutMs: 20_000 });
  expect(Buffer.compare(Buffer.from(out), big)).toBe(0);
  await hostStillServes();
});

test('a response over the actor limit is an error reply, and the host keeps running', async () => {
  await lat.client.control.startActor({ hostId, actorId: 'testbed', artifactRef: actorPath('testbed') });
  await expect(
    lat.client.invoke('testbed', 'Huge', Buffer.from(String(20 * 1024 * 1024)), { timeoutMs: 20_000 }),
  ).rejects.toMatchObject({
    code: 'WASMESH_ERR_RESPONSE_TOO_LARGE',
    details: expect.objectContaining({ actor: 'testbed', operation: 'Huge' }),
  });
  await hostStillServes();
});

test('a raw message over the server limit is refused by the client with a clear error', async () => {
  const tooBig = Buffer.alloc(2 * 1024 * 1024);
  let message = '';
  try {
    lat.client.nc.publish(lat.client.subjects.control('actor.start', hostId), tooBig);
    await lat.client.nc.flush();
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/max_payload|payload/i);
  await hostStillServes();
});

test('errors cross the bus with their code and details', () => {
  const reply = errorReply(Object.assign(new Error('x'), {}));
  expect(() => unwrapReply(reply, 'thing')).toThrow(expect.objectContaining({ code: 'WASMESH_ERR_INTERNAL' }));
});
