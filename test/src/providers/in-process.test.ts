/**
 * Providers running inside a host process (mode in-process), on a real lattice with a real host
 * process: the provider serves from the host's pid, the inventory says so, and an actor's calls to
 * it skip NATS (local dispatch). Its failures stay its own — a rejecting operation is a typed
 * error, a call it never answers times out at the caller's deadline, and an exception escaping its
 * callbacks or a rejection it leaves unhandled ends only the provider, which the host restarts —
 * while the host keeps serving its actors. A module written as a process (no providerDefinition
 * export) is refused before any of it runs in the host; the same module in mode process runs in a
 * process of its own.
 */
import type { Subscription } from '@nats-io/transport-node';
import { ControlClient, isWasmeshError, type LatticeEvent, type LinkState } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import { actorPath, providerFixturePath } from '../fixtures.js';
import type { HostProcess } from '../harness/host-process.js';
import { EventLog, startLattice, until, type LatticeFixture } from '../lattice/fixture.js';

let lat: LatticeFixture;
let host: HostProcess;
let control: ControlClient;
let state: LinkState;
let events: EventLog;
const subs: Subscription[] = [];
const FAULTY = providerFixturePath('faulty-provider');

beforeAll(async () => {
  lat = await startLattice({ hosts: [{ args: ['--provider-health-ms', '200'] }] });
  host = lat.hosts[0]!;
  control = new ControlClient(lat.client.nc, lat.client.subjects, 30_000);
  state = await lat.client.state();
  events = new EventLog(lat.client, ['provider_health', 'link_status']);
  await control.startActor({ hostId: host.hostId, actorId: 'caller', artifactRef: actorPath('testbed') });
  await control.startActor({ hostId: host.hostId, actorId: 'echo', artifactRef: actorPath('echo') });
  const ack = await control.startProvider({
    hostId: host.hostId,
    providerId: 'faulty',
    artifactRef: FAULTY,
    mode: 'in-process',
  });
  expect(ack.message).toContain('(in-process');
  const from = events.events.length;
  await state.putLink({ sourceId: 'caller', contract: 'test:faulty', targetId: 'faulty', config: [] });
  await events.find((e) => e.type === 'link_status' && e.data.link?.sourceId === 'caller', 10_000, from);
}, 60_000);

afterAll(async () => {
  for (const s of subs) s.unsubscribe();
  events?.close();
  await lat?.[Symbol.asyncDispose]();
});

/** The caller actor calls operation `op` of the faulty provider with `data`. */
async function call(op: string, data = '', timeoutMs = 5000): Promise<string> {
  const out = await lat.client.invoke('caller', 'CallContract', Buffer.from(`test:faulty/default/${op}/${data}`), {
    timeoutMs,
  });
  return Buffer.from(out).toString();
}

/** The host still serves: it answers a ping and runs an actor. */
async function hostServes(): Promise<void> {
  expect((await lat.client.control.ping(500)).map((h) => h.hostId)).toContain(host.hostId);
  expect(Buffer.from(await lat.client.invoke('echo', 'Echo', Buffer.from('alive'))).toString()).toBe('alive');
}

async function faultyDescription(): Promise<lattice.IProviderDescription> {
  const inv = await lat.client.control.inventory(host.hostId);
  return inv.providers.find((p) => p.providerId === 'faulty') ?? {};
}

test('it runs in the host process, says so in the inventory, and an actor’s calls to it skip NATS', async () => {
  expect(Number(await call('Pid'))).toBe(host.pid);
  expect(await faultyDescription()).toMatchObject({ mode: 'in-process', pid: host.pid });
  let onBus = 0;
  subs.push(
    lat.client.nc.subscribe(lat.client.subjects.provider('faulty'), {
      callback: () => {
        onBus++;
      },
    }),
  );
  await lat.client.nc.flush();
  for (let i = 0; i < 20; i++) expect(await call('Echo', `m${i}`)).toBe(`m${i}`);
  await lat.client.nc.flush();
  expect(onBus).toBe(0);
});

test('a rejecting operation is a typed error for the caller; the provider keeps serving', async () => {
  const err = await call('Fail').catch((e: Error) => e);
  expect(String(err)).toMatch(/failing on purpose/);
  expect(await call('Echo', 'after')).toBe('after');
});

test('a call it never answers fails at the caller’s deadline; host and provider keep serving', async () => {
  const started = Date.now();
  const err = await call('Hang', '', 1500).catch((e: unknown) => e);
  expect(isWasmeshError(err, 'WASMESH_ERR_TIMEOUT')).toBe(true);
  expect(Date.now() - started).toBeLessThan(4000);
  await hostServes();
  expect(await call('Echo', 'still')).toBe('still');
});

describe.each([
  ['an exception escaping a callback', 'Throw', 'scheduled', /thrown from a timer/],
  ['a rejection left unhandled', 'Reject', 'leaked', /left unhandled/],
])('%s', (_what, op, answer, why) => {
  test('ends only the provider: the host keeps serving and restarts it', async () => {
    const restarts = (await faultyDescription()).restarts ?? 0;
    const from = events.events.length;
    expect(await call(op)).toBe(answer);
    const down = await events.find(
      (e: LatticeEvent) => e.type === 'provider_health' && e.data.providerId === 'faulty' && e.data.healthy === false,
      10_000,
      from,
    );
    expect(down.type === 'provider_health' && down.data.message).toMatch(why);
    await hostServes();
    await events.find(
      (e: LatticeEvent) => e.type === 'provider_health' && e.data.providerId === 'faulty' && e.data.healthy === true,
      15_000,
      from,
    );
    await until('the restarted provider to serve', async () => (await call('Echo', 'back').catch(() => '')) === 'back');
    expect(await faultyDescription()).toMatchObject({ mode: 'in-process', restarts: restarts + 1 });
    await hostServes();
  }, 40_000);
});

test('a module without a providerDefinition export is refused in-process, unrun; mode process runs it apart', async () => {
  const refused = await control
    .startProvider({
      hostId: host.hostId,
      providerId: 'echo-inproc',
      artifactRef: providerFixturePath('echo-provider'),
      mode: 'in-process',
    })
    .catch((e: unknown) => e);
  expect(isWasmeshError(refused, 'WASMESH_ERR_BAD_REQUEST')).toBe(true);
  expect((refused as Error).message).toMatch(/exports no providerDefinition/);
  expect(await state.providers.get('echo-inproc')).toBeUndefined();

  await control.startProvider({
    hostId: host.hostId,
    providerId: 'faulty-apart',
    artifactRef: FAULTY,
    mode: 'process',
  });
  const inv = await lat.client.control.inventory(host.hostId);
  const apart = inv.providers.find((p) => p.providerId === 'faulty-apart');
  expect(apart).toMatchObject({ mode: 'process' });
  expect(apart?.pid).not.toBe(host.pid);
  const bad = await control
    .startProvider({ hostId: host.hostId, providerId: 'x', artifactRef: FAULTY, mode: 'elsewhere' })
    .catch((e: unknown) => e);
  expect((bad as Error).message).toMatch(/mode "elsewhere": use in-process or process/);
});
