/**
 * The Apps service of the gRPC gateway, with a real lattice and a reconciler: put a manifest,
 * deploy it, watch its status reach `deployed`, list apps and versions; a bad manifest is
 * INVALID_ARGUMENT listing its problems; deleting a deployed app is FAILED_PRECONDITION; undeploy
 * and delete.
 */
import path from 'node:path';
import { Reconciler } from '@wasmesh/apps';
import { Gateway } from '@wasmesh/gateway';
import { actorPath } from '../fixtures.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import {
  connectClients,
  gatewayPki,
  grpc,
  unary,
  wasmeshCode,
  type GatewayClients,
  type GatewayPki,
} from './grpc-client.js';

let lat: LatticeFixture;
let pki: GatewayPki;
let gateway: Gateway;
let reconciler: Reconciler;
let c: GatewayClients;

const manifest = `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: greeter
  annotations:
    version: v1
    description: hello over the lattice
spec:
  components:
    - name: hello
      type: actor
      properties:
        image: file://${actorPath('hello')}
      traits:
        - type: spreadscaler
          properties: { instances: 2 }
`;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
  const { servers: natsUrl, creds, tlsCa } = await lat.nats.access(lat.lattice);
  reconciler = await Reconciler.start({ natsUrl, creds, tlsCa, lattice: lat.lattice, intervalMs: 300, leaseMs: 1000 });
  pki = await gatewayPki();
  gateway = new Gateway({
    listen: '127.0.0.1:0',
    tls: pki.tls,
    natsUrl,
    natsCreds: creds,
    natsCa: tlsCa,
    lattice: lat.lattice,
    allowDirs: [path.dirname(actorPath('hello'))],
  });
  await gateway.start();
  c = connectClients(gateway.address, await pki.client('admin'));
}, 60_000);

afterAll(async () => {
  c?.close();
  await gateway?.close();
  await reconciler?.close();
  await lat?.[Symbol.asyncDispose]();
  pki?.remove();
});

const status = (name: string) =>
  unary<{ state: string; version: string; message: string }>(c.apps, 'GetAppStatus', { name });

test('put, deploy and watch an app reach deployed; list it and its versions', async () => {
  expect(await unary(c.apps, 'PutApp', { manifest })).toEqual({ name: 'greeter', version: 'v1', created: true });
  expect(await unary(c.apps, 'PutApp', { manifest })).toMatchObject({ created: false });
  expect(await unary(c.apps, 'DeployApp', { name: 'greeter' })).toEqual({ version: 'v1', changed: true });
  await until('greeter to be deployed', async () => (await status('greeter')).state === 'deployed', 20_000);
  const out = await lat.client.invoke('hello', 'SayHello', Buffer.from('grpc'), { timeoutMs: 5000 });
  expect(Buffer.from(out).toString()).toBe('Hello, grpc!');
  expect(await unary(c.apps, 'ListApps', {})).toEqual({
    apps: [
      {
        name: 'greeter',
        latestVersion: 'v1',
        deployedVersion: 'v1',
        description: 'hello over the lattice',
        state: 'deployed',
        message: '',
      },
    ],
  });
  const { versions } = await unary<{ versions: { version: string; deployed: boolean }[] }>(c.apps, 'ListAppVersions', {
    name: 'greeter',
  });
  expect(versions.map((v) => [v.version, v.deployed])).toEqual([['v1', true]]);
});

test('a bad manifest is INVALID_ARGUMENT listing every problem; delete while deployed is refused', async () => {
  const bad = await unary(c.apps, 'PutApp', {
    manifest: manifest.replace('instances: 2', 'instances: -1').replace('version: v1', 'versionz: v1'),
  }).catch((e: grpc.ServiceError) => e);
  expect((bad as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(wasmeshCode(bad)).toBe('WASMESH_ERR_INVALID_MANIFEST');
  expect((bad as grpc.ServiceError).details).toBe(
    'invalid app manifest PutAppRequest.manifest: 2 problems - missing required field "version" at metadata.annotations' +
      ' - spec.components[0].traits[0].properties.instances: expected an integer >= 0, got -1',
  );
  const unknown = await unary(c.apps, 'GetAppStatus', { name: 'nope' }).catch((e: grpc.ServiceError) => e);
  expect((unknown as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  const refused = await unary(c.apps, 'DeleteApp', { name: 'greeter' }).catch((e: grpc.ServiceError) => e);
  expect((refused as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
});

test("PutApp reads actor images only inside the gateway's --allow-dir, and only regular files", async () => {
  for (const [image, code, grpcStatus] of [
    ['file:///etc/passwd', 'WASMESH_ERR_PERMISSION_DENIED', grpc.status.PERMISSION_DENIED],
    [
      `${path.dirname(actorPath('hello'))}/../../../../etc/passwd`,
      'WASMESH_ERR_PERMISSION_DENIED',
      grpc.status.PERMISSION_DENIED,
    ],
    ['/dev/zero', 'WASMESH_ERR_PERMISSION_DENIED', grpc.status.PERMISSION_DENIED],
    [path.dirname(actorPath('hello')), 'WASMESH_ERR_BAD_REQUEST', grpc.status.INVALID_ARGUMENT],
  ] as const) {
    const started = Date.now();
    const err = (await unary(c.apps, 'PutApp', {
      manifest: manifest.replace(`file://${actorPath('hello')}`, image).replace('name: greeter', 'name: intruder'),
    }).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect({ image, code: wasmeshCode(err), status: err.code }).toEqual({ image, code, status: grpcStatus });
    expect(err.details).not.toMatch(/root:/);
    expect(Date.now() - started).toBeLessThan(2000);
  }
  expect((await unary<{ apps: { name: string }[] }>(c.apps, 'ListApps', {})).apps.map((a) => a.name)).toEqual([
    'greeter',
  ]);
});

test('undeploy removes the actor; then delete', async () => {
  await unary(c.apps, 'UndeployApp', { name: 'greeter' });
  await until('greeter to be undeployed', async () => (await status('greeter')).state === 'undeployed', 20_000);
  expect((await lat.client.control.inventory(lat.hosts[0]!.hostId)).actors).toEqual([]);
  expect(await unary(c.apps, 'DeleteApp', { name: 'greeter' })).toEqual({ message: 'app greeter deleted' });
  expect(await unary(c.apps, 'ListApps', {})).toEqual({ apps: [] });
});
