/**
 * The planner and a provider's mode (issue 12): the manifest's `mode` goes into the start request;
 * a provider the app started that runs in another mode than the manifest now asks for is stopped,
 * to be started again in the new mode next round (as for an image or config change); a manifest
 * without a mode takes whichever mode the host chose, and a host that does not report modes (''),
 * or a provider the app did not start, is never restarted for it. Hosts honouring the mode is the
 * host's part (tested with the hosts).
 */
import { LatticeView, loadManifest, planApp, type Plan } from '@wasmesh/apps';
import type { LatticeEvent } from '@wasmesh/lattice';

/** The app: one keyvalue provider `kv` (mode as given; left out when undefined), on every host. */
function manifest(mode?: string) {
  return loadManifest(
    `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: modes
  annotations:
    version: v1
spec:
  components:
    - name: kv
      type: capability
      properties:
        image: builtin:keyvalue
${mode === undefined ? '' : `        mode: ${mode}\n`}`,
    { source: 'test' },
  );
}

/** A view of host NHOST, running provider `kv` in `mode` when given (as its heartbeat says). */
function viewWith(mode?: string): LatticeView {
  const view = new LatticeView();
  const providers =
    mode === undefined
      ? []
      : [{ providerId: 'kv', artifactRef: 'builtin:keyvalue', config: [], state: 'running', mode }];
  view.apply({
    type: 'host_heartbeat',
    id: '1',
    source: 'NHOST',
    timeMs: Date.now(),
    data: {
      intervalMs: 2000,
      inventory: { host: { hostId: 'NHOST', friendlyName: 'h', labels: {} }, actors: [], providers },
    },
  } as unknown as LatticeEvent);
  return view;
}

/** One round: the app wants `wanted`, the host runs `running`; `owned`: the app started it. */
function plan(wanted: string | undefined, running: string | undefined, owned = true): Plan {
  return planApp({
    manifest: manifest(wanted),
    appName: 'modes',
    view: viewWith(running),
    links: new Map(),
    config: new Map(),
    previous: owned
      ? { name: 'modes', version: 'v1', state: 'deployed', providers: [{ providerId: 'kv', hostId: 'NHOST' }] }
      : undefined,
    shared: new Map(),
  });
}

test('the manifest mode is passed in the start request', () => {
  for (const mode of ['in-process', 'process']) {
    expect(plan(mode, undefined).startProviders).toEqual([
      { hostId: 'NHOST', providerId: 'kv', artifactRef: 'builtin:keyvalue', config: [], mode },
    ]);
  }
});

test('without a mode in the manifest the request has none: the host decides', () => {
  const [start] = plan(undefined, undefined).startProviders;
  expect(start).toEqual({ hostId: 'NHOST', providerId: 'kv', artifactRef: 'builtin:keyvalue', config: [] });
  expect('mode' in start!).toBe(false);
});

test('a provider running in another mode than the manifest asks for is stopped, then started in the new mode', () => {
  const first = plan('in-process', 'process');
  expect(first.stopProviders).toEqual([{ providerId: 'kv', hostId: 'NHOST' }]);
  expect(first.startProviders).toEqual([]);
  expect(first.owned.providers).toEqual([]);
  // Once it stopped (provider_stopped removed it from the view), the next round starts it anew.
  const second = plan('in-process', undefined);
  expect(second.startProviders).toEqual([
    { hostId: 'NHOST', providerId: 'kv', artifactRef: 'builtin:keyvalue', config: [], mode: 'in-process' },
  ]);
  expect(plan('process', 'in-process').stopProviders).toEqual([{ providerId: 'kv', hostId: 'NHOST' }]);
});

test('a provider already in the mode asked for is left alone', () => {
  for (const mode of ['in-process', 'process']) {
    const p = plan(mode, mode);
    expect(p.startProviders).toEqual([]);
    expect(p.stopProviders).toEqual([]);
    expect(p.owned.providers).toEqual([{ providerId: 'kv', hostId: 'NHOST' }]);
  }
});

test('no mode in the manifest: either mode the host chose is fine', () => {
  for (const running of ['in-process', 'process']) {
    expect(plan(undefined, running).stopProviders).toEqual([]);
  }
});

test('a host that does not report the mode does not get its provider restarted', () => {
  const p = plan('in-process', '');
  expect(p.stopProviders).toEqual([]);
  expect(p.startProviders).toEqual([]);
});

test('a provider the app did not start is not restarted for its mode', () => {
  const p = plan('in-process', 'process', false);
  expect(p.stopProviders).toEqual([]);
  expect(p.startProviders).toEqual([]);
});
