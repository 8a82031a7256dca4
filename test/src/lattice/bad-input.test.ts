/**
 * Bad input on the bus gets a clear, typed error reply, and the host keeps running: malformed
 * protobuf on control and actor subjects, unknown actor and host ids, a digest mismatch, an invalid
 * module, oversize payloads; and a barrage of empty, malformed and oversized bodies on every
 * control subject, the actor rpc subject and a provider's rpc and health subjects.
 */
import { readFileSync } from 'node:fs';
import {
  answerInvocation,
  artifactName,
  digestOf,
  errorReply,
  serve,
  silentLogger,
  unwrapReply,
  type WasmeshError,
} from '@wasmesh/lattice';
import { lattice as pb } from '@wasmesh/proto';
import { actorPath, fixturePath } from '../fixtures.js';
import { startLattice, waitForEvent, type LatticeFixture } from './fixture.js';

/** The NATS server's max_payload in these tests. */
const MAX_PAYLOAD = 1024 * 1024;

let lat: LatticeFixture;
let hostId: string;

beforeAll(async () => {
  // A 1 MiB max payload, so "too large for one message" is easy to reach.
  lat = await startLattice({ hosts: [{}], nats: { maxPayload: MAX_PAYLOAD } });
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

/** A string of `n` characters. */
const big = (n: number): string => 'x'.repeat(n);
/** Nearly as much as fits in one message (room for the request's own framing). */
const NEAR_MAX = MAX_PAYLOAD - 4096;

/** Field 1 claims more bytes than follow: malformed, and nearly max_payload long. */
function oversizedMalformed(): Uint8Array {
  const body = Buffer.alloc(NEAR_MAX, 0x41);
  // tag (field 1, length-delimited) and a 4-byte varint length larger than the rest.
  body.set([0x0a, 0xff, 0xff, 0xff, 0x7f], 0);
  return body;
}

/** Sends `body` to `subject` and returns the raw reply; a reply must come, within `timeoutMs`. */
async function raw(subject: string, body: Uint8Array, timeoutMs = 10_000): Promise<Uint8Array> {
  return (await lat.client.nc.request(subject, body, { timeout: timeoutMs })).data;
}

/** A control reply: its body, or its error, which must be typed. */
function controlOutcome(data: Uint8Array, what: string): { code: string } {
  expect(data.length).toBeLessThanOrEqual(MAX_PAYLOAD);
  try {
    unwrapReply(data, what);
    return { code: 'ok' };
  } catch (err) {
    expect((err as WasmeshError).code).toMatch(/^WASMESH_ERR_[A-Z_]+$/);
    expect((err as WasmeshError).message.length).toBeLessThan(10_000);
    return { code: (err as WasmeshError).code };
  }
}

test('every control subject answers empty, malformed and oversized bodies with a typed reply', async () => {
  const subjects = lat.client.subjects.hostControlSubjects(hostId);
  // Every operation the host serves is in the barrage (a new one is covered as soon as it exists).
  expect(subjects.map((s) => s.op)).toEqual(
    expect.arrayContaining([
      'host.ping',
      'host.inventory',
      'host.stop',
      'label.put',
      'label.del',
      'actor.auction',
      'actor.start',
      'actor.stop',
      'actor.update',
      'claims.get',
      'provider.start',
      'provider.stop',
    ]),
  );
  const seen: string[] = [];
  for (const { op, subject } of subjects) {
    // An empty stop request is a valid request to stop: it is the one body left out.
    const bodies: [string, Uint8Array][] = [
      ['malformed', Buffer.from([0x0a, 0x05, 0x41])],
      ['oversized malformed', oversizedMalformed()],
    ];
    if (op !== 'host.stop') bodies.push(['empty', new Uint8Array()]);
    for (const [kind, body] of bodies) {
      const outcome = controlOutcome(await raw(subject, body), `${op} (${kind})`);
      if (kind !== 'empty') expect({ op, kind, ...outcome }).toEqual({ op, kind, code: 'WASMESH_ERR_BAD_REQUEST' });
      seen.push(`${op} ${kind}`);
    }
  }
  expect(seen.length).toBe(subjects.length * 3 - 1);
  await hostStillServes();
});

test('well-formed control requests with huge fields get bounded error replies and change nothing', async () => {
  const control = (op: Parameters<typeof lat.client.subjects.control>[0]): string =>
    lat.client.subjects.control(op, hostId);
  const huge = big(NEAR_MAX - 64);
  const before = await lat.client.control.inventory(hostId);
  const cases: [string, string, Uint8Array][] = [
    ['label.put', 'key', pb.PutLabelRequest.encode({ key: huge, value: 'v' }).finish()],
    ['label.put', 'value', pb.PutLabelRequest.encode({ key: 'k', value: huge }).finish()],
    ['label.del', 'key', pb.DeleteLabelRequest.encode({ key: huge }).finish()],
    ['actor.start', 'actor id', pb.StartActorRequest.encode({ actorId: huge, artifactRef: 'x' }).finish()],
    ['actor.start', 'artifact ref', pb.StartActorRequest.encode({ actorId: 'a', artifactRef: huge }).finish()],
    [
      'actor.start',
      'sha256 ref',
      pb.StartActorRequest.encode({ actorId: 'a', artifactRef: `sha256:${huge}` }).finish(),
    ],
    [
      'actor.start',
      'annotations',
      pb.StartActorRequest.encode({ actorId: 'a', artifactRef: actorPath('echo'), annotations: { a: huge } }).finish(),
    ],
    ['actor.update', 'artifact ref', pb.UpdateActorRequest.encode({ actorId: 'echo', artifactRef: huge }).finish()],
    ['actor.stop', 'actor id', pb.StopActorRequest.encode({ actorId: huge }).finish()],
    ['provider.start', 'provider id', pb.StartProviderRequest.encode({ providerId: huge, artifactRef: 'x' }).finish()],
    ['provider.start', 'artifact ref', pb.StartProviderRequest.encode({ providerId: 'p', artifactRef: huge }).finish()],
    [
      'provider.start',
      'config names',
      pb.StartProviderRequest.encode({
        providerId: 'p',
        artifactRef: 'builtin:keyvalue',
        config: Array.from({ length: NEAR_MAX / 16 }, (_, i) => `c${i}`),
      }).finish(),
    ],
    ['provider.stop', 'provider id', pb.StopProviderRequest.encode({ providerId: huge }).finish()],
  ];
  for (const [op, field, body] of cases) {
    expect(body.length).toBeLessThan(MAX_PAYLOAD);
    const started = Date.now();
    const outcome = controlOutcome(await raw(control(op as 'label.put'), body), `${op} with a huge ${field}`);
    expect({ op, field, refused: outcome.code !== 'ok' }).toEqual({ op, field, refused: true });
    expect(Date.now() - started).toBeLessThan(5000);
  }
  // Queries with a huge (ignored) field still answer.
  for (const op of ['host.inventory', 'actor.auction'] as const) {
    const body = pb.AuctionActorRequest.encode({ actorId: huge }).finish();
    const subject = op === 'host.inventory' ? control(op) : lat.client.subjects.control(op, hostId);
    expect(controlOutcome(await raw(subject, body), op).code).toBe('ok');
  }
  const after = await lat.client.control.inventory(hostId);
  expect(after.actors.map((a) => [a.actorId, a.revision])).toEqual(before.actors.map((a) => [a.actorId, a.revision]));
  expect(after.providers).toEqual(before.providers);
  expect(after.host?.labels).toEqual(before.host?.labels);
  await hostStillServes();
});

test('the actor rpc subject answers empty, malformed and oversized envelopes with typed errors', async () => {
  const subject = lat.client.subjects.actor('echo');
  const bodies: [string, Uint8Array][] = [
    ['empty', new Uint8Array()],
    ['malformed', Buffer.from([0x0a, 0x05, 0x41])],
    ['oversized malformed', oversizedMalformed()],
    [
      'huge operation',
      pb.Invocation.encode({ operation: big(NEAR_MAX - 64), deadlineMs: Date.now() + 10_000 }).finish(),
    ],
    ['huge target', pb.Invocation.encode({ target: big(NEAR_MAX - 64), operation: 'Nope' }).finish()],
  ];
  for (const [kind, body] of bodies) {
    const data = await raw(subject, body);
    expect(data.length).toBeLessThanOrEqual(MAX_PAYLOAD);
    const result = pb.InvocationResult.decode(data);
    expect({ kind, code: result.error?.code }).toEqual({ kind, code: expect.stringMatching(/^WASMESH_ERR_[A-Z_]+$/) });
    expect(result.error?.message?.length ?? 0).toBeLessThan(10_000);
  }
  await hostStillServes();
});

test("a provider's rpc and health subjects answer empty, malformed and oversized bodies", async () => {
  await lat.client.control.startProvider({ hostId, providerId: 'kv-barrage', artifactRef: 'builtin:keyvalue' });
  try {
    const bodies: [string, Uint8Array][] = [
      ['empty', new Uint8Array()],
      ['malformed', Buffer.from([0x0a, 0x05, 0x41])],
      ['oversized malformed', oversizedMalformed()],
      ['huge operation', pb.Invocation.encode({ operation: big(NEAR_MAX - 64) }).finish()],
    ];
    for (const [kind, body] of bodies) {
      const result = pb.InvocationResult.decode(await raw(lat.client.subjects.provider('kv-barrage'), body));
      expect({ kind, code: result.error?.code }).toEqual({
        kind,
        code: expect.stringMatching(/^WASMESH_ERR_[A-Z_]+$/),
      });
      const health = pb.ProviderHealth.decode(
        unwrapReply(await raw(lat.client.subjects.providerHealth('kv-barrage'), body), `health (${kind})`),
      );
      expect(health.healthy).toBe(true);
    }
    // Still serving after the barrage.
    const after = pb.ProviderHealth.decode(
      unwrapReply(await raw(lat.client.subjects.providerHealth('kv-barrage'), new Uint8Array()), 'health'),
    );
    expect(after.healthy).toBe(true);
  } finally {
    await lat.client.control.stopProvider({ hostId, providerId: 'kv-barrage' });
  }
  await hostStillServes();
});

test('a reply too large to send becomes a small TOO_LARGE error, never a crash', async () => {
  const nc = lat.client.nc;
  const subject = `bad-input.${Date.now()}`;
  const sub = serve(nc, subject, () => Promise.resolve(new Uint8Array(MAX_PAYLOAD + 1)), {
    logger: silentLogger(),
    name: 'too large',
  });
  const invSubject = `${subject}.invocation`;
  const invSub = nc.subscribe(invSubject, {
    callback: (_err, msg) =>
      void answerInvocation(
        msg,
        { span: 'too large', attributes: {}, what: 'envelope', servedBy: 'test', logger: silentLogger() },
        () => Promise.resolve({ payload: new Uint8Array(MAX_PAYLOAD + 1) }),
      ),
  });
  try {
    let err: WasmeshError | undefined;
    try {
      unwrapReply(await raw(subject, new Uint8Array()), 'a huge reply');
    } catch (e) {
      err = e as WasmeshError;
    }
    expect(err?.code).toBe('WASMESH_ERR_TOO_LARGE');
    expect(err?.message).toMatch(/could not be sent: .*max_payload/);
    const result = pb.InvocationResult.decode(await raw(invSubject, pb.Invocation.encode({ operation: 'X' }).finish()));
    expect(result.error?.code).toBe('WASMESH_ERR_TOO_LARGE');
  } finally {
    sub.unsubscribe();
    invSub.unsubscribe();
  }
  await hostStillServes();
});
