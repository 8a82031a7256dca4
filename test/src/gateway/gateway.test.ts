/**
 * The gRPC gateway against a real nats-server and real host processes, driven by a plain
 * @grpc/grpc-js client built from the same .proto files, over TLS with an admin client certificate: scatter streaming, actor start and
 * invocation, error → status mapping with the wasmesh code in the trailers, deadlines, links and
 * config, the event stream, reflection, and health following the NATS connection.
 */
import { readFileSync } from 'node:fs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { Gateway } from '@wasmesh/gateway';
import { actorPath } from '../fixtures.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import {
  collect,
  connectClients,
  gatewayPki,
  grpc,
  stream,
  unary,
  wasmeshCode,
  type GatewayClients,
  type GatewayPki,
} from './grpc-client.js';

let lat: LatticeFixture;
let pki: GatewayPki;
let gateway: Gateway;
let c: GatewayClients;
let echoRef: string;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{ labels: { zone: 'a' } }, { labels: { zone: 'b' } }] });
  const { servers: natsUrl, creds: natsCreds, tlsCa: natsCa } = await lat.nats.access(lat.lattice);
  pki = await gatewayPki();
  gateway = new Gateway({ listen: '127.0.0.1:0', tls: pki.tls, natsUrl, natsCreds, natsCa, lattice: lat.lattice });
  await gateway.start();
  c = connectClients(gateway.address, await pki.client('admin'));
  const objects = await lat.client.objects();
  echoRef = await objects.pushArtifact(readFileSync(actorPath('echo')));
}, 60_000);

afterAll(async () => {
  c?.close();
  await gateway?.close();
  await lat?.[Symbol.asyncDispose]();
  pki?.remove();
});

const hostId = (i: number): string => lat.hosts[i]!.hostId;

test('the gateway serves on the resolved port and is running', () => {
  expect(gateway.state).toBe('running');
  expect(gateway.address).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(gateway.address).not.toMatch(/:0$/);
});

test('Ping streams one HostInfo per host', async () => {
  const hosts = await collect<{ hostId: string; lattice: string; labels: Record<string, string> }>(
    stream(c.control, 'Ping', {}),
  );
  expect(hosts.map((h) => h.hostId).sort()).toEqual(lat.hosts.map((h) => h.hostId).sort());
  expect(hosts.every((h) => h.lattice === lat.lattice)).toBe(true);
  expect(hosts.map((h) => h.labels.zone).sort()).toEqual(['a', 'b']);
});

test('AuctionActor streams the offers of the hosts matching the constraints', async () => {
  const offers = await collect<{ hostId: string }>(
    stream(c.control, 'AuctionActor', { actorId: 'nobody-runs-this', constraints: { zone: 'b' } }),
  );
  expect(offers.map((o) => o.hostId)).toEqual([hostId(1)]);
});

test('WatchEvents streams actor_started; StartActor and Invoke work through gRPC', async () => {
  const watch = stream(c.lattice, 'WatchEvents', { types: ['actor_started', 'config_set'] });
  const events: { actorStarted?: { hostId: string; actor: { actorId: string } }; configSet?: { name: string } }[] = [];
  watch.on('data', (e: (typeof events)[number]) => events.push(e));
  watch.on('error', () => undefined);
  // The stream is live once a probe's config_set comes through it.
  await until('the event stream to be live', async () => {
    await unary(c.lattice, 'PutConfig', { config: { name: 'probe', values: { x: '1' } } });
    return events.some((e) => e.configSet?.name === 'probe');
  });

  const ack = await unary<{ message: string }>(c.control, 'StartActor', {
    hostId: hostId(0),
    actorId: 'echo',
    artifactRef: echoRef,
    maxConcurrent: 4,
  });
  expect(typeof ack.message).toBe('string');
  await until('actor_started on the gRPC event stream', () =>
    events.some((e) => e.actorStarted?.actor.actorId === 'echo' && e.actorStarted.hostId === hostId(0)),
  );
  watch.cancel();

  const out = await unary<{ payload: Buffer; hostId: string }>(c.lattice, 'Invoke', {
    actorId: 'echo',
    operation: 'Echo',
    payload: Buffer.from('hello over grpc'),
    timeoutMs: 5000,
  });
  expect(out.payload.toString()).toBe('hello over grpc');
  expect(out.hostId).toBe(hostId(0));

  const inv = await unary<{ actors: { actorId: string }[] }>(c.control, 'GetInventory', { hostId: hostId(0) });
  expect(inv.actors.map((a) => a.actorId)).toContain('echo');
});

test('GetInventory of an unknown host is NOT_FOUND with the wasmesh code in the trailers', async () => {
  const err = await unary(c.control, 'GetInventory', { hostId: 'NUNKNOWNHOST' }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: grpc.status.NOT_FOUND });
  expect((err as grpc.ServiceError).details).toContain('NUNKNOWNHOST');
  expect(wasmeshCode(err)).toBe('WASMESH_ERR_NOT_FOUND');
});

test('malformed requests are INVALID_ARGUMENT naming the field', async () => {
  const missing = await unary(c.control, 'GetInventory', {}).catch((e: unknown) => e);
  expect(missing).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  expect((missing as grpc.ServiceError).details).toContain('GetInventoryRequest.host_id');
  expect(wasmeshCode(missing)).toBe('WASMESH_ERR_BAD_REQUEST');

  const start = await unary(c.control, 'StartActor', { hostId: hostId(0), actorId: 'x' }).catch((e: unknown) => e);
  expect((start as grpc.ServiceError).details).toContain('StartActorRequest.artifact_ref');

  const badName = await unary(c.control, 'GetInventory', { hostId: 'bad.host*' }).catch((e: unknown) => e);
  expect(badName).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });

  const badType = await collect(stream(c.lattice, 'WatchEvents', { types: ['nope'] })).catch((e: unknown) => e);
  expect(badType).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  expect((badType as grpc.ServiceError).details).toContain('"nope"');
});

test("the client's deadline bounds the lattice call: DEADLINE_EXCEEDED", async () => {
  const testbed = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('testbed')));
  await unary(c.control, 'StartActor', { hostId: hostId(1), actorId: 'testbed', artifactRef: testbed });
  const started = Date.now();
  const err = await unary(c.lattice, 'Invoke', { actorId: 'testbed', operation: 'Spin', timeoutMs: 30_000 }, 400).catch(
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
  expect(Date.now() - started).toBeLessThan(3000);
  // The host was told the short deadline too: the next call is served at once.
  const ok = await unary<{ payload: Buffer }>(c.lattice, 'Invoke', {
    actorId: 'echo',
    operation: 'Echo',
    payload: Buffer.from('after'),
  });
  expect(ok.payload.toString()).toBe('after');
});

test('links, config and providers through gRPC', async () => {
  const state = await lat.client.state();
  // The source is an actor id nothing runs yet (links may come first): a running signed example
  // such as echo may only be linked to contracts in its caps.
  for (const id of ['kv-a', 'kv-b']) {
    await state.providers.put(id, { providerId: id, contract: 'wasmesh:keyvalue', hostId: hostId(0) });
  }
  await unary(c.lattice, 'PutConfig', { config: { name: 'counter-kv', values: { prefix: 'counter/' } } });
  expect(await unary(c.lattice, 'GetConfig', { name: 'counter-kv' })).toEqual({
    name: 'counter-kv',
    values: { prefix: 'counter/' },
  });
  const configs = await unary<{ configs: { name: string }[] }>(c.lattice, 'ListConfig', {});
  expect(configs.configs.map((x) => x.name)).toContain('counter-kv');

  const put = await unary<{ link: { name: string }; replaced: boolean }>(c.lattice, 'PutLink', {
    link: { sourceId: 'counter', contract: 'wasmesh:keyvalue', targetId: 'kv-a', config: ['counter-kv'] },
  });
  expect(put).toMatchObject({ link: { name: 'default' }, replaced: false });
  const links = await unary<{ links: { sourceId: string; targetId: string; config: string[] }[] }>(
    c.lattice,
    'ListLinks',
    {},
  );
  expect(links.links).toEqual([
    expect.objectContaining({ sourceId: 'counter', targetId: 'kv-a', config: ['counter-kv'] }),
  ]);

  const conflict = await unary(c.lattice, 'PutLink', {
    link: { sourceId: 'counter', contract: 'wasmesh:keyvalue', targetId: 'kv-b' },
  }).catch((e: unknown) => e);
  expect(conflict).toMatchObject({ code: grpc.status.ALREADY_EXISTS });
  expect(wasmeshCode(conflict)).toBe('WASMESH_ERR_CONFLICT');

  const inUse = await unary(c.lattice, 'DeleteConfig', { name: 'counter-kv' }).catch((e: unknown) => e);
  expect(inUse).toMatchObject({ code: grpc.status.FAILED_PRECONDITION });

  const providers = await unary<{ providers: { providerId: string }[] }>(c.lattice, 'ListProviders', {});
  expect(providers.providers.map((p) => p.providerId).sort()).toEqual(['kv-a', 'kv-b']);

  await unary(c.lattice, 'DeleteLink', { sourceId: 'counter', contract: 'wasmesh:keyvalue' });
  expect(await unary(c.lattice, 'ListLinks', {})).toEqual({ links: [] });
  await unary(c.lattice, 'DeleteConfig', { name: 'counter-kv' });
  const gone = await unary(c.lattice, 'GetConfig', { name: 'counter-kv' }).catch((e: unknown) => e);
  expect(gone).toMatchObject({ code: grpc.status.NOT_FOUND });
});

test('reflection lists the services', async () => {
  const call = (
    c.reflection as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, unknown> }
  ).ServerReflectionInfo();
  const reply = new Promise<{ list_services_response: { service: { name: string }[] } }>((resolve, reject) => {
    call.on('data', (r: { list_services_response: { service: { name: string }[] } }) => resolve(r));
    call.on('error', reject);
  });
  call.write({ list_services: '' });
  const names = (await reply).list_services_response.service.map((s) => s.name);
  call.end();
  expect(names).toEqual(
    expect.arrayContaining(['wasmesh.lattice.v1.Control', 'wasmesh.lattice.v1.Lattice', 'grpc.health.v1.Health']),
  );
});

test('reflection describes map fields as protoc does (XEntry types), so grpcurl can call through it', async () => {
  const call = (
    c.reflection as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, unknown> }
  ).ServerReflectionInfo();
  type Reply = { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
  const reply = new Promise<Reply>((resolve, reject) => {
    call.on('data', (r: Reply) => resolve(r));
    call.on('error', reject);
  });
  call.write({ file_containing_symbol: 'wasmesh.lattice.v1.HostInfo' });
  const files = (await reply).file_descriptor_response.file_descriptor_proto.map(
    (b) => descriptor.FileDescriptorProto.decode(b) as unknown as { messageType?: Msg[]; package: string },
  );
  call.end();
  type Msg = {
    name: string;
    field?: { name: string; typeName?: string }[];
    nestedType?: Msg[];
    options?: { mapEntry?: boolean };
  };
  const maps: string[] = [];
  const walk = (m: Msg, scope: string): void => {
    for (const n of m.nestedType ?? []) {
      if (n.options?.mapEntry) {
        expect(n.name).toMatch(/Entry$/);
        const users = (m.field ?? []).filter((f) => f.typeName === `${scope}.${m.name}.${n.name}`);
        expect(users).toHaveLength(1);
        maps.push(`${m.name}.${users[0]!.name}`);
      }
      walk(n, `${scope}.${m.name}`);
    }
  };
  for (const f of files) for (const m of f.messageType ?? []) walk(m, `.${f.package}`);
  expect(maps).toContain('HostInfo.labels');
});

test('health is SERVING while NATS is up, NOT_SERVING while it is down, and SERVING again after', async () => {
  const check = (service = ''): Promise<string> =>
    unary<{ status: string }>(c.health, 'Check', { service }, 2000).then((r) => r.status);
  expect(await check()).toBe('SERVING');
  expect(await check('wasmesh.lattice.v1.Control')).toBe('SERVING');

  await lat.nats.stop();
  await until('health NOT_SERVING', async () => (await check()) === 'NOT_SERVING', 10_000);
  const down = await collect(stream(c.control, 'Ping', {})).catch((e: unknown) => e);
  expect(down).toMatchObject({ code: grpc.status.UNAVAILABLE });
  expect(wasmeshCode(down)).toBe('WASMESH_ERR_NOT_CONNECTED');

  await lat.nats.restart();
  await until('health SERVING again', async () => (await check()) === 'SERVING', 15_000);
}, 40_000);

test('close() is idempotent and ends in stopped', async () => {
  const closing = [gateway.close(), gateway.close()];
  await Promise.all(closing);
  expect(gateway.state).toBe('stopped');
  expect(gateway.health).toBe('NOT_SERVING');
});
