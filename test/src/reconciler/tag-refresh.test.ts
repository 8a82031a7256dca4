/**
 * The planner's rule for images that can move under the same text: an actor whose image is an
 * `oci://` tag is refreshed (`actor.update` with the same reference, then `actor.start` recording
 * the version) once per new app version and host; a digest reference, a `sha256:` image or the
 * version already recorded plans nothing. (The host side, "unchanged" when the tag did not move,
 * is tested end to end in test/src/oci/moving-tag.test.ts.)
 */
import { APP_ANNOTATION, APP_VERSION_ANNOTATION, LatticeView, loadManifest, planApp } from '@wasmesh/apps';
import type { LatticeEvent } from '@wasmesh/lattice';

const TAG = 'oci://registry.example:5000/wasmesh/echo:latest';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const PINNED = `oci://registry.example:5000/wasmesh/echo@${DIGEST}`;

function manifest(version: string, image: string) {
  return loadManifest(
    `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: tags
  annotations:
    version: ${version}
spec:
  components:
    - name: echo
      type: actor
      properties:
        image: ${image}
        id: echo
      traits:
        - type: spreadscaler
          properties:
            instances: 4
`,
    { source: 'test' },
  );
}

/** A view of one host running actor `echo` from `artifactRef`, placed by app version `version`. */
function viewWith(artifactRef: string, version: string): LatticeView {
  const view = new LatticeView();
  const heartbeat = {
    type: 'host_heartbeat',
    id: '1',
    source: 'NHOST',
    timeMs: Date.now(),
    data: {
      intervalMs: 2000,
      inventory: {
        host: { hostId: 'NHOST', friendlyName: 'h', labels: {} },
        actors: [
          {
            actorId: 'echo',
            artifactRef,
            digest: DIGEST,
            maxConcurrent: 4,
            annotations: { [APP_ANNOTATION]: 'tags', [APP_VERSION_ANNOTATION]: version },
          },
        ],
        providers: [],
      },
    },
  } as unknown as LatticeEvent;
  view.apply(heartbeat);
  return view;
}

function plan(image: string, runningVersion: string, deployedVersion: string) {
  return planApp({
    manifest: manifest(deployedVersion, image),
    appName: 'tags',
    view: viewWith(image, runningVersion),
    links: new Map(),
    config: new Map(),
    previous: undefined,
    shared: new Map(),
  });
}

test('a tag image placed by another app version is refreshed: update with the same reference, then start with the new version', () => {
  expect(plan(TAG, 'v1', 'v2').startActors).toEqual([
    {
      hostId: 'NHOST',
      actorId: 'echo',
      artifactRef: TAG,
      maxConcurrent: 4,
      config: [],
      annotations: { [APP_ANNOTATION]: 'tags', [APP_VERSION_ANNOTATION]: 'v2' },
      replace: true,
    },
  ]);
});

test('a tag image already refreshed for this version plans nothing (one refresh per version and host)', () => {
  expect(plan(TAG, 'v2', 'v2').startActors).toEqual([]);
});

test('images that cannot move under the same text are not refreshed on a new version', () => {
  expect(plan(PINNED, 'v1', 'v2').startActors).toEqual([]);
  expect(plan(DIGEST, 'v1', 'v2').startActors).toEqual([]);
});
