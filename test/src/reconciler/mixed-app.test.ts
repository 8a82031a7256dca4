/**
 * One app manifest with a waPC actor and a component actor (issue 14): the AssemblyScript hello and
 * the TypeScript hello (a wasi:http component), each linked to the app's HTTP server under its own
 * route, deployed by the reconciler on a real lattice. Both answer the same request the same way,
 * and the app reports deployed like any other.
 */
import { readFileSync } from 'node:fs';
import { AppStore, loadManifest, Reconciler } from '@wasmesh/apps';
import { actorPath } from '../fixtures.js';
import { freePort } from '../harness/redis-server.js';
import { startLattice, until, type LatticeFixture } from '../lattice/fixture.js';

let lat: LatticeFixture;
let store: AppStore;
let reconciler: Reconciler;

afterAll(async () => {
  await reconciler?.close();
  await lat?.[Symbol.asyncDispose]();
});

test('a manifest mixing a waPC actor and a component deploys, and both serve HTTP', async () => {
  lat = await startLattice({ hosts: [{}, {}] });
  store = await AppStore.open(lat.client.nc, lat.client.subjects);
  const { servers: natsUrl, ...auth } = await lat.nats.access(lat.lattice);
  reconciler = await Reconciler.start({ natsUrl, ...auth, lattice: lat.lattice, id: 'mixed', intervalMs: 300 });
  const objects = await lat.client.objects();
  const wapc = await objects.pushArtifact(readFileSync(actorPath('hello')));
  const component = await objects.pushArtifact(readFileSync(actorPath('hello-ts')));
  const port = await freePort();
  const actor = (name: string, image: string, route: string): string => `
    - name: ${name}
      type: actor
      properties:
        image: ${image}
        id: ${name}
      traits:
        - type: spreadscaler
          properties:
            instances: 4
        - type: link
          properties:
            target: http
            contract: wasmesh:httpserver
            config:
              path: ${route}
              strip_prefix: "true"`;
  const manifest = loadManifest(
    `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: greetings
  annotations:
    version: v1
spec:
  components:${actor('hello-wapc', wapc, '/as')}${actor('hello-component', component, '/ts')}
    - name: http
      type: capability
      properties:
        image: builtin:http-server
        config:
          address: 127.0.0.1:${port}
      traits:
        - type: spreadscaler
          properties:
            instances: 1
`,
    { source: 'greetings.yaml' },
  );
  await store.put(manifest);
  await store.deploy(manifest.name, manifest.version);
  await until('the app to be deployed', async () => (await store.status('greetings'))?.state === 'deployed', 60_000);

  for (const route of ['/as', '/ts']) {
    let answer = '';
    await until(
      `${route} to answer`,
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}${route}/hello/Ada`).catch(() => undefined);
        answer = r ? `${r.status} ${await r.text()}` : '';
        return answer.startsWith('200 ');
      },
      20_000,
    );
    expect(answer).toBe('200 Hello, Ada!\n');
  }
  const inventory = await lat.client.control.inventory(lat.hosts[0]!.hostId);
  expect(inventory.actors.map((a) => a.actorId).sort()).toEqual(['hello-component', 'hello-wapc']);
}, 120_000);
