/**
 * Signed actors end to end through a real lattice: a host with a trust policy runs only valid
 * modules of its trusted issuers (unsigned, tampered, expired, not-yet-valid and untrusted ones are
 * refused with WASMESH_ERR_UNTRUSTED_ACTOR naming the reason, and a refused update keeps the old
 * module serving), records the real claims (claims.get), and a signed actor calls only the
 * contracts of its caps: host calls outside them fail with WASMESH_ERR_CAPABILITY_DENIED even
 * when a link exists, and `link put` of a contract it lacks is refused.
 */
import type { WasmeshError } from '@wasmesh/lattice';
import {
  accountKeyPair,
  generateKey,
  isWasmeshError,
  nowSeconds,
  signModule,
  type SignOptions,
} from '@wasmesh/lattice';
import { providerFixturePath } from '../fixtures.js';
import { customSectionBytes, jwtOf, unsignedActor } from '../claims/wasm-edit.js';
import { wasmesh } from '../cli/run-cli.js';
import { EventLog, startLattice, type LatticeFixture } from './fixture.js';

const trustedKey = generateKey('account');
const trusted = accountKeyPair(trustedKey.seed);
const echo = unsignedActor('echo');
const fib = unsignedActor('fib');
const testbed = unsignedActor('testbed');

let lat: LatticeFixture;
let hostId: string;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{ args: ['--trusted-issuer', trustedKey.publicKey] }] });
  hostId = lat.hosts[0]!.hostId;
});
afterAll(async () => {
  await lat?.[Symbol.asyncDispose]();
});

function sign(wasm: Buffer, options: Partial<SignOptions> = {}): Buffer {
  return signModule(wasm, { issuer: trusted, ...options }).wasm;
}

async function push(wasm: Buffer): Promise<string> {
  return (await lat.client.objects()).pushArtifact(wasm);
}

async function start(actorId: string, wasm: Buffer): Promise<unknown> {
  return lat.client.control.startActor({ hostId, actorId, artifactRef: await push(wasm), maxConcurrent: 4 });
}

/** The environment a CLI command needs to reach this lattice as an admin. */
async function cliAccess(): Promise<Record<string, string>> {
  const { creds, tlsCa } = await lat.nats.access(lat.lattice);
  return { ...(creds ? { WASMESH_NATS_CREDS: creds } : {}), ...(tlsCa ? { WASMESH_NATS_CA: tlsCa } : {}) };
}

async function refusal(p: Promise<unknown>): Promise<WasmeshError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isWasmeshError(err)) throw new Error(`expected a wasmesh error, got ${String(err)}`);
  return err;
}

test('a module signed by a trusted issuer runs, and claims.get returns its real claims', async () => {
  const { wasm, claims } = signModule(echo, { issuer: trusted, name: 'echo', ver: '1.0.0', caps: ['wasmesh:actor'] });
  await start('signed-echo', wasm);
  expect(Buffer.from(await lat.client.invoke('signed-echo', 'Echo', Buffer.from('hi'))).toString()).toBe('hi');
  const record = (await lat.client.control.getClaims()).find((c) => c.actorId === 'signed-echo');
  expect(record).toMatchObject({
    digest: expect.stringMatching(/^sha256:/),
    claims: {
      issuer: trustedKey.publicKey,
      subject: claims.subject,
      name: 'echo',
      version: '1.0.0',
      hash: claims.hash,
      caps: 'wasmesh:actor',
    },
  });
});

test('wasmesh get claims lists what hosts recorded: signed actors with their claims', async () => {
  const env = { WASMESH_NATS_URL: lat.nats.url, WASMESH_LATTICE: lat.lattice, ...(await cliAccess()) };
  const json = await wasmesh(['get', 'claims', '--json'], env);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toContainEqual({
    actorId: 'signed-echo',
    digest: expect.stringMatching(/^sha256:/),
    signed: true,
    claims: expect.objectContaining({ issuer: trustedKey.publicKey, name: 'echo', caps: 'wasmesh:actor' }),
  });
  const human = await wasmesh(['get', 'claims'], env);
  expect(human.stdout).toMatch(/^ACTOR +ISSUER +SUBJECT +NAME +CAPS +EXPIRES\n/);
  expect(human.stdout).toMatch(
    new RegExp(`signed-echo +${trustedKey.publicKey.slice(0, 8)}… +M\\w{7}… +echo +wasmesh:actor +never`),
  );
});

test.each([
  ['unsigned', () => echo, /the module is unsigned, and only actors signed by A\w+ are trusted/],
  [
    'tampered',
    () => Buffer.concat([fib, customSectionBytes('wasmcloud_jwt', jwtOf(sign(echo)))]),
    /its claims are tampered: the module's hash [0-9A-F]{64} is not the one its claims were signed for/,
  ],
  ['expired', () => sign(echo, { expires: nowSeconds() - 60 }), /its claims are expired: the claims expired at/],
  [
    'not-yet-valid',
    () => sign(echo, { notBefore: nowSeconds() + 3600 }),
    /its claims are not yet valid: the claims are not valid before/,
  ],
  [
    'untrusted-issuer',
    () => signModule(echo, { issuer: accountKeyPair(generateKey('account').seed) }).wasm,
    /signed by A\w+, an untrusted issuer \(trusted: A\w+\)/,
  ],
])('%s modules are refused with WASMESH_ERR_UNTRUSTED_ACTOR naming the reason', async (reason, wasm, message) => {
  const events = new EventLog(lat.client, ['actor_failed']);
  const actorId = `refused-${reason}`;
  const err = await refusal(start(actorId, wasm()));
  expect(err.code).toBe('WASMESH_ERR_UNTRUSTED_ACTOR');
  expect(err.message).toMatch(new RegExp(`^actor "${actorId}" refused: `));
  expect(err.message).toMatch(message);
  const failed = await events.find((e) => e.type === 'actor_failed' && e.data.actorId === actorId);
  expect(failed.data).toMatchObject({ error: { code: 'WASMESH_ERR_UNTRUSTED_ACTOR' } });
  events.close();
  const inventory = await lat.client.control.inventory(hostId);
  expect(inventory.actors.map((a) => a.actorId)).not.toContain(actorId);
});

test('a refused update keeps the old module serving', async () => {
  await start('steady', sign(echo, { caps: [] }));
  const err = await refusal(
    lat.client.control.updateActor({ hostId, actorId: 'steady', artifactRef: await push(sign(fib, { expires: 1 })) }),
  );
  expect(err).toMatchObject({ code: 'WASMESH_ERR_UNTRUSTED_ACTOR', details: { reason: 'expired' } });
  expect(Buffer.from(await lat.client.invoke('steady', 'Echo', Buffer.from('still echo'))).toString()).toBe(
    'still echo',
  );
});

describe('capabilities', () => {
  beforeAll(async () => {
    await lat.client.control.startProvider({
      hostId,
      providerId: 'echo-prov',
      artifactRef: providerFixturePath('echo-provider'),
    });
  });

  async function callContract(actorId: string, payload: string): Promise<string> {
    return Buffer.from(await lat.client.invoke(actorId, 'CallContract', Buffer.from(payload))).toString();
  }

  test('a signed actor calls the contracts of its caps through its links', async () => {
    await start('tb-granted', sign(testbed, { caps: ['test:echo', 'wasmesh:actor'] }));
    const events = new EventLog(lat.client, ['link_status']);
    const state = await lat.client.state();
    await state.putLink({ sourceId: 'tb-granted', contract: 'test:echo', targetId: 'echo-prov' });
    await events.find((e) => e.type === 'link_status' && e.data.link?.sourceId === 'tb-granted');
    events.close();
    expect(await callContract('tb-granted', 'test:echo/default/Echo/granted')).toBe('granted');
    const relayed = await lat.client.invoke('tb-granted', 'Relay', Buffer.from('signed-echo/Echo/via relay'));
    expect(Buffer.from(relayed).toString()).toBe('via relay');
  });

  test('any other host call fails with WASMESH_ERR_CAPABILITY_DENIED, even when a link exists', async () => {
    // The link is put before the actor runs (nothing is recorded of it yet), so it exists.
    const state = await lat.client.state();
    await state.putLink({ sourceId: 'tb-denied', contract: 'test:echo', targetId: 'echo-prov' });
    await start('tb-denied', sign(testbed, { caps: ['wasmesh:keyvalue'] }));
    const err = await refusal(callContract('tb-denied', 'test:echo/default/Echo/nope'));
    expect(err.message).toMatch(
      /WASMESH_ERR_CAPABILITY_DENIED: actor "tb-denied" may not call contract "test:echo": its signed claims grant wasmesh:keyvalue/,
    );
    const relay = await refusal(lat.client.invoke('tb-denied', 'Relay', Buffer.from('signed-echo/Echo/x')));
    expect(relay.message).toMatch(
      /WASMESH_ERR_CAPABILITY_DENIED: actor "tb-denied" may not call contract "wasmesh:actor"/,
    );
  });

  test('link put of a contract a signed actor lacks is refused, naming the missing cap', async () => {
    await start('tb-nolink', sign(testbed, { caps: ['wasmesh:keyvalue'] }));
    const state = await lat.client.state();
    const err = await refusal(state.putLink({ sourceId: 'tb-nolink', contract: 'test:echo', targetId: 'echo-prov' }));
    expect(err).toMatchObject({
      code: 'WASMESH_ERR_CAPABILITY_DENIED',
      details: { actor: 'tb-nolink', contract: 'test:echo', caps: ['wasmesh:keyvalue'] },
    });
    expect(err.message).toMatch(
      /cannot link tb-nolink -\[test:echo, link "default"\]-> echo-prov: actor "tb-nolink" is signed without capability test:echo \(its caps: wasmesh:keyvalue\); re-sign it with --cap test:echo/,
    );
    expect((await state.allLinks()).some((l) => l.sourceId === 'tb-nolink')).toBe(false);
  });
});

test('hosts without a policy run unsigned actors as before, and still check signed ones', async () => {
  const open = await lat.addHost();
  await lat.client.control.startActor({ hostId: open.hostId, actorId: 'open-echo', artifactRef: await push(echo) });
  expect(Buffer.from(await lat.client.invoke('open-echo', 'Echo', Buffer.from('open'))).toString()).toBe('open');
  const err = await refusal(
    lat.client.control.startActor({
      hostId: open.hostId,
      actorId: 'open-expired',
      artifactRef: await push(sign(echo, { expires: nowSeconds() - 1 })),
    }),
  );
  expect(err).toMatchObject({ code: 'WASMESH_ERR_UNTRUSTED_ACTOR', details: { reason: 'expired' } });
});
