/**
 * Placement of app components on hosts (pure): spreads by weight and labels, even splits within a
 * group, stability (hosts keep what they run), daemons, providers on distinct hosts, and the
 * shortfalls an app reports when hosts cannot take it.
 */
import { placeActor, placeProvider, shareByWeight, type PlacementHost, type Scaler } from '@wasmesh/apps';

const hosts: PlacementHost[] = [
  { hostId: 'a1', labels: { zone: 'a' } },
  { hostId: 'a2', labels: { zone: 'a', gpu: 'yes' } },
  { hostId: 'b1', labels: { zone: 'b' } },
];

const spread = (instances: number, ...groups: [string, Record<string, string>, number][]): Scaler => ({
  kind: 'spread',
  instances,
  spread: groups.map(([name, requirements, weight]) => ({ name, requirements, weight })),
});

const asObject = (m: Map<string, number>) => Object.fromEntries([...m].sort(([x], [y]) => x.localeCompare(y)));

test('largest remainder shares', () => {
  expect(shareByWeight(4, [75, 25])).toEqual([3, 1]);
  expect(shareByWeight(5, [1, 1, 1])).toEqual([2, 2, 1]);
  expect(shareByWeight(3, [0, 0])).toEqual([0, 0]);
  expect(shareByWeight(10, [50, 30, 20])).toEqual([5, 3, 2]);
});

test('a spread by zone weights, split evenly inside each zone', () => {
  const p = placeActor(spread(4, ['zone-a', { zone: 'a' }, 75], ['zone-b', { zone: 'b' }, 25]), hosts);
  expect(asObject(p.perHost)).toEqual({ a1: 2, a2: 1, b1: 1 });
  expect(p.shortfalls).toEqual([]);
});

test('hosts that already run the actor keep their share first (a rescale moves little)', () => {
  const p = placeActor(spread(3, ['zone-a', { zone: 'a' }, 1]), hosts, new Map([['a2', 2]]));
  expect(asObject(p.perHost)).toEqual({ a1: 1, a2: 2 });
});

test('no spread: every host is eligible', () => {
  expect(asObject(placeActor({ kind: 'spread', instances: 5, spread: [] }, hosts).perHost)).toEqual({
    a1: 2,
    a2: 2,
    b1: 1,
  });
});

test('a group no host meets is a shortfall naming it', () => {
  const p = placeActor(spread(2, ['gpus', { gpu: 'yes' }, 1], ['moon', { zone: 'moon' }, 1]), hosts);
  expect(asObject(p.perHost)).toEqual({ a2: 1 });
  expect(p.shortfalls).toEqual(['spread "moon": no host has zone=moon']);
});

test('a daemon runs on every eligible host with its instances each', () => {
  const p = placeActor(
    { kind: 'daemon', instances: 2, spread: [{ name: 'a', requirements: { zone: 'a' }, weight: 1 }] },
    hosts,
  );
  expect(asObject(p.perHost)).toEqual({ a1: 2, a2: 2 });
});

test('providers: one process per host, on distinct hosts, preferring where they run', () => {
  expect(asObject(placeProvider(spread(2, ['any', {}, 1]), hosts, new Set(['b1'])).perHost)).toEqual({ a1: 1, b1: 1 });
  const short = placeProvider(spread(3, ['zone-a', { zone: 'a' }, 1]), hosts);
  expect(asObject(short.perHost)).toEqual({ a1: 1, a2: 1 });
  expect(short.shortfalls).toEqual(['spread "zone-a": 3 provider instance(s) wanted but 2 host(s) have zone=a']);
  expect(asObject(placeProvider({ kind: 'daemon', instances: 0, spread: [] }, hosts).perHost)).toEqual({
    a1: 1,
    a2: 1,
    b1: 1,
  });
  expect(
    placeProvider(
      { kind: 'daemon', instances: 0, spread: [{ name: 'x', requirements: { zone: 'x' }, weight: 1 }] },
      hosts,
    ).shortfalls,
  ).toEqual(['spread "x": no host has zone=x']);
});
