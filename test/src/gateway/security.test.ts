/**
 * The gateway's security, with a real gateway on a real secured lattice and plain grpc-js clients:
 * TLS with client certificates required (none, or one from another CA, fails the handshake), every
 * call authorized by the certificate's role from one table that covers every served method
 * (reader reads, admin does everything, other roles only health and reflection), refusals are
 * PERMISSION_DENIED with the wasmesh code; the insecure mode is plaintext on loopback only.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APPS_SERVICE,
  authorize,
  CONTROL_SERVICE,
  Gateway,
  LATTICE_SERVICE,
  loadDefinitions,
  METHOD_ACCESS,
  REFLECTION_SERVICES,
  SERVED_SERVICES,
} from '@wasmesh/gateway';
import { WasmeshError } from '@wasmesh/lattice';
import { startLattice, type LatticeFixture } from '../lattice/fixture.js';
import {
  collect,
  connectClients,
  gatewayPki,
  grpc,
  reflectionDefinitions,
  stream,
  unary,
  wasmeshCode,
  type GatewayClients,
  type GatewayPki,
} from './grpc-client.js';

interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

/** Every method of every service the gateway serves, by service (from the same protos it loads). */
function servedMethods(): Map<string, Record<string, MethodDef>> {
  const defs = { ...loadDefinitions(), ...reflectionDefinitions() };
  return new Map(
    [...SERVED_SERVICES, ...REFLECTION_SERVICES].map((s) => [s, defs[s] as unknown as Record<string, MethodDef>]),
  );
}

let lat: LatticeFixture;
let pki: GatewayPki;
let gateway: Gateway;
let tmp: string;
const opened: GatewayClients[] = [];

/** Clients of the gateway with a client certificate of `role`. */
async function as(role: string): Promise<GatewayClients> {
  const c = connectClients(gateway.address, await pki.client(role));
  opened.push(c);
  return c;
}

/**
 * The gRPC status of calling `method` with `request` (OK when it succeeded; streams until a short
 * deadline). A call that ran out of its deadline is made once more with a longer one: a deadline
 * says nothing of access (a stream that passed ends that way), and on a loaded machine a refusal
 * can come late.
 */
async function statusOf(client: grpc.Client, method: string, def: MethodDef, request: object = {}): Promise<number> {
  const code = (err: unknown): number => (err as grpc.ServiceError).code;
  const call = (deadlineMs: number): Promise<number> =>
    def.responseStream
      ? collect(stream(client, method, request, deadlineMs)).then(() => grpc.status.OK, code)
      : unary(client, method, request, deadlineMs).then(() => grpc.status.OK, code);
  const first = await call(2500);
  return first === grpc.status.DEADLINE_EXCEEDED ? call(5000) : first;
}

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
  const { servers: natsUrl, creds: natsCreds, tlsCa: natsCa } = await lat.nats.access(lat.lattice);
  pki = await gatewayPki();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-gw-sec-'));
  gateway = new Gateway({ listen: '127.0.0.1:0', tls: pki.tls, natsUrl, natsCreds, natsCa, lattice: lat.lattice });
  await gateway.start();
}, 60_000);

afterAll(async () => {
  for (const c of opened) c.close();
  await gateway?.close();
  await lat?.[Symbol.asyncDispose]();
  pki?.remove();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the access table lists every method of every served service, and nothing else', () => {
  const served = servedMethods();
  for (const [service, methods] of served) {
    expect(methods).toBeDefined();
    expect(Object.keys(METHOD_ACCESS[service] ?? {}).sort()).toEqual(Object.keys(methods).sort());
  }
  expect(Object.keys(METHOD_ACCESS).sort()).toEqual([...served.keys()].sort());
});

test('a client without a certificate fails the TLS handshake; so does a plaintext client', async () => {
  const noCert = connectClients(gateway.address, grpc.credentials.createSsl(pki.ca));
  const plaintext = connectClients(gateway.address, grpc.credentials.createInsecure());
  opened.push(noCert, plaintext);
  for (const c of [noCert, plaintext]) {
    const err = await unary(c.health, 'Check', { service: '' }, 5000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE });
  }
});

test('a certificate signed by another CA is refused; the same role from the gateway’s CA works', async () => {
  const other = await gatewayPki();
  try {
    const { cert, key } = await other.issue('admin');
    // The client trusts the gateway (its CA), and presents a certificate the gateway's CA never signed.
    const stranger = connectClients(gateway.address, grpc.credentials.createSsl(pki.ca, key, cert));
    opened.push(stranger);
    const err = await unary(stranger.lattice, 'ListLinks', {}, 5000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(await unary((await as('admin')).lattice, 'ListLinks', {}, 5000)).toEqual({ links: [] });
  } finally {
    other.remove();
  }
});

test('a reader can Ping and ListLinks but is denied StartProvider, StartActor, PutLink, PutConfig, PutApp, Invoke', async () => {
  const reader = await as('reader');
  const hosts = await collect<{ hostId: string }>(stream(reader.control, 'Ping', {}));
  expect(hosts.map((h) => h.hostId)).toEqual([lat.hosts[0]!.hostId]);
  expect(await unary(reader.lattice, 'ListLinks', {})).toEqual({ links: [] });

  // What an open gateway once did: run a file of the caller's choosing as a provider.
  const marker = path.join(tmp, 'ran');
  const script = path.join(tmp, 'evil.js');
  writeFileSync(script, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
  const hostId = lat.hosts[0]!.hostId;
  const attempts: [grpc.Client, string, object][] = [
    [reader.control, 'StartProvider', { hostId, providerId: 'evil', artifactRef: script, contract: 'wasmesh:x' }],
    [reader.control, 'StartActor', { hostId, actorId: 'echo', artifactRef: script }],
    [reader.lattice, 'PutLink', { link: { sourceId: 'a', contract: 'wasmesh:keyvalue', targetId: 'kv' } }],
    [reader.lattice, 'PutConfig', { config: { name: 'c', values: { k: 'v' } } }],
    [reader.apps, 'PutApp', { manifest: 'apiVersion: core.oam.dev/v1beta1' }],
    [reader.lattice, 'Invoke', { actorId: 'echo', operation: 'Echo', payload: Buffer.from('x') }],
  ];
  for (const [client, method, request] of attempts) {
    const err = await unary(client, method, request, 5000).catch((e: unknown) => e);
    expect({ method, code: (err as grpc.ServiceError).code }).toEqual({ method, code: grpc.status.PERMISSION_DENIED });
    expect(wasmeshCode(err)).toBe('WASMESH_ERR_PERMISSION_DENIED');
    expect((err as grpc.ServiceError).details).toContain(`${method} needs the admin role`);
    expect((err as grpc.ServiceError).details).toContain('"reader"');
  }
  // Nothing happened: no provider, no link, no config, no process ran the file.
  const admin = await as('admin');
  expect(await unary(admin.lattice, 'ListProviders', {})).toEqual({ providers: [] });
  expect(await unary(admin.lattice, 'ListLinks', {})).toEqual({ links: [] });
  const config = await unary(admin.lattice, 'GetConfig', { name: 'c' }).catch((e: unknown) => e);
  expect(config).toMatchObject({ code: grpc.status.NOT_FOUND });
  const inv = await unary<{ providers: unknown[]; actors: unknown[] }>(admin.control, 'GetInventory', { hostId });
  expect(inv).toMatchObject({ providers: [], actors: [] });
  expect(existsSync(marker)).toBe(false);
}, 30_000);

test('every method: admin passes, reader passes exactly the reads, other roles only health and reflection', async () => {
  const served = servedMethods();
  const outcome = async (role: string): Promise<Record<string, boolean>> => {
    const c = await as(role);
    const clients: Record<string, grpc.Client> = {
      [CONTROL_SERVICE]: c.control,
      [LATTICE_SERVICE]: c.lattice,
      [APPS_SERVICE]: c.apps,
      'grpc.health.v1.Health': c.health,
    };
    const denied: Record<string, boolean> = {};
    for (const [service, client] of Object.entries(clients)) {
      for (const [method, def] of Object.entries(served.get(service)!)) {
        // Empty requests: a call that passes authorization fails validation at once (or reads).
        const code = await statusOf(client, method, def, service.startsWith('grpc.health') ? { service: '' } : {});
        denied[`${service}/${method}`] = code === grpc.status.PERMISSION_DENIED;
      }
    }
    return denied;
  };
  type Outcome = Record<string, boolean>;
  const [admin, reader, host, app] = (await Promise.all(['admin', 'reader', 'host', 'app'].map(outcome))) as [
    Outcome,
    Outcome,
    Outcome,
    Outcome,
  ];
  const expected = (pass: (access: string) => boolean): Record<string, boolean> =>
    Object.fromEntries(
      Object.entries(METHOD_ACCESS)
        .filter(([s]) => !REFLECTION_SERVICES.includes(s))
        .flatMap(([s, methods]) => Object.entries(methods).map(([m, access]) => [`${s}/${m}`, !pass(access)])),
    );
  expect(admin).toEqual(expected(() => true));
  expect(reader).toEqual(expected((a) => a !== 'admin'));
  expect(host).toEqual(expected((a) => a === 'any'));
  expect(app).toEqual(expected((a) => a === 'any'));
  expect(Object.values(reader).filter((d) => !d).length).toBe(11 + 3); // 11 reads + 3 health methods
}, 120_000);

test('reflection answers any certified client, e.g. an app', async () => {
  const c = await as('app');
  const call = (
    c.reflection as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, unknown> }
  ).ServerReflectionInfo();
  const reply = new Promise<{ list_services_response: { service: { name: string }[] } }>((resolve, reject) => {
    call.on('data', resolve);
    call.on('error', reject);
  });
  call.write({ list_services: '' });
  const names = (await reply).list_services_response.service.map((s) => s.name);
  call.end();
  expect(names).toEqual(expect.arrayContaining([CONTROL_SERVICE, LATTICE_SERVICE, APPS_SERVICE]));
});

test('a certificate with several OUs has no role', () => {
  const cert = { subject: { CN: 'x', OU: ['admin', 'reader'] } };
  const denied = (() => {
    try {
      authorize(`/${LATTICE_SERVICE}/ListLinks`, { sslPeerCertificate: cert } as never);
    } catch (err) {
      return err;
    }
  })();
  expect(denied).toBeInstanceOf(WasmeshError);
  expect(denied).toMatchObject({ code: 'WASMESH_ERR_PERMISSION_DENIED' });
});

describe('configuration', () => {
  const nats = { natsUrl: 'nats://127.0.0.1:1', lattice: 'x' };

  test('the insecure mode refuses a listen address that is not loopback', () => {
    for (const listen of ['0.0.0.0:50051', '[::]:0', '10.1.2.3:50051', 'example.com:50051']) {
      expect(() => new Gateway({ ...nats, listen, insecure: true })).toThrow(
        expect.objectContaining({ code: 'WASMESH_ERR_CONFIG', message: expect.stringContaining('loopback only') }),
      );
    }
    for (const listen of ['127.0.0.1:0', '127.1.2.3:0', '[::1]:0', 'localhost:0']) {
      expect(new Gateway({ ...nats, listen, insecure: true }).config.insecure).toBe(true);
    }
  });

  test('without TLS files or insecure, or with both, the gateway does not start', () => {
    expect(() => new Gateway({ ...nats, listen: '127.0.0.1:0' })).toThrow(
      expect.objectContaining({ code: 'WASMESH_ERR_CONFIG', message: expect.stringContaining('tls.certFile') }),
    );
    expect(() => new Gateway({ ...nats, listen: '127.0.0.1:0', tls: pki.tls, insecure: true })).toThrow(
      expect.objectContaining({ code: 'WASMESH_ERR_CONFIG' }),
    );
  });

  test('TLS files that do not work are WASMESH_ERR_CONFIG naming them, before NATS is tried', async () => {
    const missing = new Gateway({
      ...nats,
      listen: '127.0.0.1:0',
      tls: { ...pki.tls, keyFile: '/nonexistent/key.pem' },
    });
    await expect(missing.start()).rejects.toMatchObject({
      code: 'WASMESH_ERR_CONFIG',
      message: expect.stringContaining('/nonexistent/key.pem'),
    });
    const other = await gatewayPki();
    try {
      const mismatched = new Gateway({
        ...nats,
        listen: '127.0.0.1:0',
        tls: { ...pki.tls, keyFile: other.tls.keyFile },
      });
      await expect(mismatched.start()).rejects.toMatchObject({ code: 'WASMESH_ERR_CONFIG' });
    } finally {
      other.remove();
    }
  });

  test('an insecure gateway on loopback serves plaintext without credentials', async () => {
    const { servers: natsUrl, creds: natsCreds, tlsCa: natsCa } = await lat.nats.access(lat.lattice);
    const open = new Gateway({
      listen: '127.0.0.1:0',
      insecure: true,
      natsUrl,
      natsCreds,
      natsCa,
      lattice: lat.lattice,
    });
    await open.start();
    const c = connectClients(open.address, grpc.credentials.createInsecure());
    try {
      expect(await unary(c.lattice, 'ListLinks', {}, 5000)).toEqual({ links: [] });
    } finally {
      c.close();
      await open.close();
    }
  });
});
