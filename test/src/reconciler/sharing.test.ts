/**
 * Sharing a provider between apps, end to end with a reconciler on a real lattice: an app whose
 * manifest shares its providers lends its key-value provider to another app's actor (the link
 * targets the lender's provider, and HTTP requests count through it); an app that does not share
 * refuses to lend, and two apps may not claim one provider id.
 */
import { Reconciler, AppStore, loadManifest, resolveImages } from '@wasmesh/apps';
import { actorPath } from '../fixtures.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';
import { rejection } from '../providers/helpers.js';

let lat: LatticeFixture;
let reconciler: Reconciler;
let store: AppStore;

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
  const { servers: natsUrl, ...auth } = await lat.nats.access(lat.lattice);
  reconciler = await Reconciler.start({ natsUrl, ...auth, lattice: lat.lattice, intervalMs: 300, leaseMs: 1000 });
  store = await AppStore.open(lat.client.nc, lat.client.subjects);
}, 60_000);

afterAll(async () => {
  await reconciler?.close();
  await lat?.[Symbol.asyncDispose]();
});

/** A capability-only app lending (or not) a key-value provider with id `kvId`. */
const lender = (name: string, kvId: string, shares: boolean) => `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: ${name}
  annotations:
    version: v1
${shares ? '    wasmesh.dev/shared-providers: "true"\n' : ''}spec:
  components:
    - name: kv
      type: capability
      properties:
        image: builtin:keyvalue
        id: ${kvId}
      traits:
        - type: daemonscaler
`;

/** kvcounter over HTTP, its key-value store borrowed from app `from`. */
const borrower = (name: string, from: string) => `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: ${name}
  annotations:
    version: v1
spec:
  components:
    - name: counter
      type: actor
      properties:
        image: file://${actorPath('kvcounter')}
        id: ${name}-counter
      traits:
        - type: spreadscaler
          properties: { instances: 4 }
        - type: link
          properties: { target: http, contract: wasmesh:httpserver, config: { path: /counter } }
        - type: link
          properties: { target: kv, contract: wasmesh:keyvalue }
    - name: http
      type: capability
      properties:
        image: builtin:http-server
        id: ${name}-http
        config: { address: "127.0.0.1:0" }
      traits:
        - type: daemonscaler
    - name: kv
      type: capability
      properties:
        application: { name: ${from}, component: kv }
`;

async function deploy(text: string): Promise<string> {
  const objects = await lat.client.objects();
  const manifest = await resolveImages(loadManifest(text), process.cwd(), (b, d) => objects.pushArtifact(b, d));
  await store.put(manifest);
  await store.deploy(manifest.name);
  return manifest.name;
}

async function deployed(name: string): Promise<void> {
  await until(`app ${name} to be deployed`, async () => (await store.status(name))?.state === 'deployed', 20_000);
}

test('an app that shares its providers lends its key-value provider to another app', async () => {
  await deployed(await deploy(lender('infra', 'shared-kv', true)));
  await deployed(await deploy(borrower('shop', 'infra')));
  const link = await (await lat.client.state()).links.get('shop-counter.wasmesh.keyvalue.default');
  expect(link).toMatchObject({ targetId: 'shared-kv' });
  const url = (await (await lat.client.state()).providers.get('shop-http'))!.annotations!.url!;
  expect(await (await fetch(`${url}/counter/a`)).text()).toBe('1\n');
  expect(await (await fetch(`${url}/counter/a`)).text()).toBe('2\n');
  // The borrower does not own what it borrowed: its status lists only its own provider.
  expect((await store.status('shop'))?.providers?.map((p) => p.providerId)).toEqual(['shop-http']);
}, 60_000);

test('an app that does not share refuses to lend; one provider id cannot belong to two apps', async () => {
  await deployed(await deploy(lender('private', 'private-kv', false)));
  const refused = await rejection(deploy(borrower('thief', 'private')));
  expect(refused.message).toContain(
    'app "thief" cannot use capability kv of app "private": that app does not share its providers (its manifest needs the annotation wasmesh.dev/shared-providers: "true")',
  );
  const twice = await rejection(deploy(lender('copycat', 'private-kv', true)));
  expect(twice.message).toBe(
    'app "copycat" cannot be deployed: provider id "private-kv" belongs to deployed app "private" (to share a provider, use the shared-provider form in the manifest)',
  );
}, 60_000);
