/**
 * Hosts supervise capability providers: a real nats-server, real host processes and the
 * echo-provider fixture (test/fixtures/providers/echo-provider.mjs, a provider written against
 * @wasmesh/lattice directly). Start registers the provider; a provider that dies is restarted with
 * backoff and provider_health events; health checks report changes; stop and host drain leave no
 * process behind; bad references and a provider that cannot start are clear errors.
 */
import {
  ControlClient,
  invoke,
  isWasmeshError,
  readCredentials,
  type WasmeshError,
  type LatticeEvent,
  type LinkState,
} from '@wasmesh/lattice';
import { LatticeHost } from '@wasmesh/host';
import { providerFixtureDir, providerFixturePath } from '../fixtures.js';
import { isGone, killIfAlive } from '../harness/processes.js';
import type { HostProcess } from '../harness/host-process.js';
import { EventLog, startLattice, until, type LatticeFixture } from '../lattice/fixture.js';

const ECHO = providerFixturePath('echo-provider');
const HEALTH_MS = 300;
const STOP_TIMEOUT_MS = 2000;
/** What a host passes to its providers' environment beyond the bootstrap variables. */
const HOST_ENV = {
  WASMESH_PROVIDER_HEALTH_MS: String(HEALTH_MS),
  WASMESH_PROVIDER_STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS),
  // Must not reach providers:
  NODE_OPTIONS: '--no-deprecation',
  WASMESH_TEST_SECRET: 'do-not-pass',
  OTEL_SERVICE_NAME: 'host-under-test',
  // Must reach them:
  OTEL_RESOURCE_ATTRIBUTES: 'test.marker=1',
};

let lattice: LatticeFixture;
let host: HostProcess;
let control: ControlClient;
let state: LinkState;
let events: EventLog;
/** Provider pids seen, killed after the tests in case one failed half-way. */
const pids = new Set<number>();

beforeAll(async () => {
  lattice = await startLattice({ hosts: [{ env: HOST_ENV }] });
  host = lattice.hosts[0]!;
  control = new ControlClient(lattice.client.nc, lattice.client.subjects, 30_000);
  state = await lattice.client.state();
  events = new EventLog(lattice.client, ['provider_started', 'provider_stopped', 'provider_health']);
}, 60_000);

afterAll(async () => {
  events?.close();
  await lattice?.[Symbol.asyncDispose]();
  for (const pid of pids) killIfAlive(pid);
});

/** Starts provider `providerId` from the echo fixture on `on` (default: the first host). */
async function startEcho(providerId: string, config: string[] = [], on: HostProcess = host): Promise<number> {
  const ack = await control.startProvider({ hostId: on.hostId, providerId, artifactRef: ECHO, config });
  expect(ack.message).toContain(`provider ${providerId} started on host ${on.hostId}`);
  const pid = (await state.providers.get(providerId))?.instance ?? 0;
  expect(pid).toBeGreaterThan(0);
  pids.add(pid);
  return pid;
}

/** Calls the provider directly, as a host does for a linked actor. */
async function call(providerId: string, operation: string, data = '', linkName = 'default'): Promise<string> {
  const out = await invoke(
    lattice.client.nc,
    lattice.client.subjects,
    { provider: providerId },
    operation,
    Buffer.from(data),
    {
      timeoutMs: 5000,
      source: 'caller-actor',
      linkName,
    },
  );
  return Buffer.from(out.payload).toString();
}

/** Expects `p` to reject with a WasmeshError of `code`; returns it. */
async function rejection(p: Promise<unknown>, code: string): Promise<WasmeshError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isWasmeshError(err, code)) throw new Error(`expected ${code}, got ${String(err)}`);
  return err;
}

const of = (providerId: string) => (e: LatticeEvent) =>
  (e.type === 'provider_health' || e.type === 'provider_stopped'
    ? e.data.providerId
    : e.type === 'provider_started'
      ? e.data.provider?.providerId
      : undefined) === providerId;

test('start by path: the provider registers, serves calls, and gets a clean environment', async () => {
  const pid = await startEcho('echo');
  const record = await state.providers.get('echo');
  expect(record).toMatchObject({ providerId: 'echo', contract: 'test:echo', hostId: host.hostId, artifactRef: ECHO });
  expect(isGone(pid)).toBe(false);
  await events.find((e) => of('echo')(e) && e.type === 'provider_started');

  const described = JSON.parse(await call('echo', 'Describe', 'hello', 'primary')) as Record<string, unknown>;
  expect(described).toMatchObject({
    providerId: 'echo',
    hostId: host.hostId,
    source: 'caller-actor',
    linkName: 'primary',
    operation: 'Describe',
    payload: 'hello',
    pid,
  });
  expect(await call('echo', 'Echo', 'bytes back')).toBe('bytes back');

  const env = JSON.parse(await call('echo', 'Env')) as Record<string, string>;
  expect(env).toMatchObject({
    WASMESH_NATS_URL: lattice.nats.url,
    // Credentials the host minted for this provider id (never its own), and the server's CA.
    WASMESH_NATS_CREDS: expect.stringMatching(/echo\.provider\.creds$/),
    WASMESH_NATS_CA: lattice.nats.caFile,
    WASMESH_LATTICE: lattice.lattice,
    WASMESH_PROVIDER_ID: 'echo',
    WASMESH_HOST_ID: host.hostId,
    WASMESH_PROVIDER_REF: ECHO,
    WASMESH_PROVIDER_CONFIG: '',
    OTEL_RESOURCE_ATTRIBUTES: 'test.marker=1',
  });
  const allowed =
    /^(PATH|HOME|WASMESH_LOG_LEVEL|OTEL_.*|WASMESH_(NATS_URL|NATS_CREDS|APP_NATS_CREDS|NATS_CA|LATTICE|PROVIDER_ID|HOST_ID|PROVIDER_REF|PROVIDER_CONFIG))$/;
  expect(Object.keys(env).filter((k) => !allowed.test(k))).toEqual([]);
  // Provider credentials pinned to its id (the server enforces the role); only the messaging
  // provider also gets app credentials.
  expect(readCredentials(env.WASMESH_NATS_CREDS!)).toMatchObject({ role: 'provider', name: 'echo', signers: {} });
  expect(env).not.toHaveProperty('WASMESH_APP_NATS_CREDS');
  expect(env).not.toHaveProperty('NODE_OPTIONS');
  expect(env).not.toHaveProperty('OTEL_SERVICE_NAME');

  // Its log lines reach the host's log, tagged with the provider id.
  await until('the provider log line in the host log', () =>
    host
      .logs()
      .split('\n')
      .some((l) => l.includes('"provider":"echo"') && l.includes('echo provider ready')),
  );
});

test('starting it again is a no-op; with another reference it is a conflict', async () => {
  const pid = (await state.providers.get('echo'))?.instance;
  const again = await control.startProvider({ hostId: host.hostId, providerId: 'echo', artifactRef: ECHO });
  expect(again.message).toMatch(/already running/);
  expect((await state.providers.get('echo'))?.instance).toBe(pid);
  const err = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'echo', artifactRef: providerFixturePath('other') }),
    'WASMESH_ERR_CONFLICT',
  );
  expect(err.message).toMatch(/provider "echo" already runs .*echo-provider\.mjs on host .*; stop it first/);
});

test('a provider killed with SIGKILL is restarted and serves again; provider_health goes unhealthy, then healthy', async () => {
  const before = (await state.providers.get('echo'))!.instance!;
  const from = events.events.length;
  process.kill(before, 'SIGKILL');
  const took = await until(
    'a new instance of the provider',
    async () => {
      const now = (await state.providers.get('echo'))?.instance;
      return now !== undefined && now !== before;
    },
    10_000,
  );
  expect(took).toBeLessThan(5000);
  const after = (await state.providers.get('echo'))!.instance!;
  pids.add(after);
  expect(await call('echo', 'Echo', 'back again')).toBe('back again');

  const down = await events.find(
    (e) => of('echo')(e) && e.type === 'provider_health' && e.data.healthy !== true,
    5000,
    from,
  );
  expect(down.type === 'provider_health' && down.data).toMatchObject({
    hostId: host.hostId,
    healthy: false,
    restarts: 0,
    message: expect.stringMatching(
      new RegExp(`provider process ${before} exited unexpectedly \\(signal SIGKILL\\).*restarting in 250 ms`),
    ),
  });
  const up = await events.find(
    (e) => of('echo')(e) && e.type === 'provider_health' && e.data.healthy === true,
    5000,
    from,
  );
  expect(up.type === 'provider_health' && up.data).toMatchObject({ healthy: true, restarts: 1 });
  expect(events.events.indexOf(down)).toBeLessThan(events.events.indexOf(up));
  // The restarted instance announced itself too.
  await events.find(
    (e) =>
      e.type === 'provider_started' && e.data.provider?.providerId === 'echo' && e.data.provider.instance === after,
    5000,
    from,
  );
});

test('health checks report a provider that says it is unhealthy, and its recovery', async () => {
  const from = events.events.length;
  expect(await call('echo', 'SetHealth', 'false')).toBe('false');
  const sick = await events.find(
    (e) => of('echo')(e) && e.type === 'provider_health' && e.data.healthy !== true,
    5000,
    from,
  );
  expect(sick.type === 'provider_health' && sick.data.message).toBe('told to be unhealthy');
  expect(await call('echo', 'SetHealth', 'true')).toBe('true');
  const well = await events.find(
    (e) => of('echo')(e) && e.type === 'provider_health' && e.data.healthy === true,
    5000,
    from,
  );
  expect(well.type === 'provider_health' && well.data.message).toBe('echoing');
  // One event per change, not one per check.
  await new Promise((r) => setTimeout(r, HEALTH_MS * 3));
  expect(events.events.slice(from).filter((e) => of('echo')(e) && e.type === 'provider_health')).toHaveLength(2);
});

test('stop: the provider and its children are gone, its record too, and provider_stopped is published once', async () => {
  await state.putConfig('with-child', { spawn_child: 'true' });
  await control.stopProvider({ hostId: host.hostId, providerId: 'echo' });
  const pid = await startEcho('echo', ['with-child']);
  const { childPid } = JSON.parse(await call('echo', 'Describe')) as { childPid: number };
  expect(childPid).toBeGreaterThan(0);
  pids.add(childPid);
  const from = events.events.length;

  const ack = await control.stopProvider({ hostId: host.hostId, providerId: 'echo' });
  expect(ack.message).toBe(`provider echo stopped on host ${host.hostId}`);
  expect(isGone(pid)).toBe(true);
  await until('the child of the provider to be gone', () => isGone(childPid), 2000);
  expect(await state.providers.get('echo')).toBeUndefined();
  await events.find((e) => of('echo')(e) && e.type === 'provider_stopped', 2000, from);
  await new Promise((r) => setTimeout(r, 300));
  const stopped = events.events.slice(from).filter((e) => of('echo')(e) && e.type === 'provider_stopped');
  expect(stopped).toHaveLength(1);
  // The provider announced it itself (the host did not add its own).
  expect(stopped[0]!.source).toBe('echo');

  const again = await rejection(
    control.stopProvider({ hostId: host.hostId, providerId: 'echo' }),
    'WASMESH_ERR_NOT_FOUND',
  );
  expect(again.message).toBe(`provider "echo" is not running on host ${host.hostId}`);
});

test('a provider that keeps crashing is restarted with growing delays, and can still be stopped', async () => {
  await state.putConfig('crashy', { crash_after_ms: '50' });
  const from = events.events.length;
  const pid = await startEcho('crashy', ['crashy']);
  expect(pid).toBeGreaterThan(0);
  const delays: number[] = [];
  await until(
    'three restarts',
    () => {
      delays.length = 0;
      for (const e of events.events.slice(from)) {
        if (e.type === 'provider_health' && e.data.providerId === 'crashy' && !e.data.healthy) {
          const m = /restarting in (\d+) ms/.exec(e.data.message ?? '');
          if (m) delays.push(Number(m[1]));
        }
      }
      return delays.length >= 3;
    },
    15_000,
  );
  expect(delays.slice(0, 3)).toEqual([250, 500, 1000]);
  const lastCrash = events.events
    .slice(from)
    .filter((e) => e.type === 'provider_health' && e.data.providerId === 'crashy' && !e.data.healthy)
    .at(-1)!;
  expect(lastCrash.type === 'provider_health' && lastCrash.data.message).toMatch(
    /exited unexpectedly \(exit status 1\), last stderr line: echo-provider: crashing as configured/,
  );

  const stopFrom = events.events.length;
  await control.stopProvider({ hostId: host.hostId, providerId: 'crashy' });
  const stopped = await events.find((e) => of('crashy')(e) && e.type === 'provider_stopped', 5000, stopFrom);
  // Whoever announced it (the provider when it was up, else the host), it is gone for good.
  expect([host.hostId, 'crashy']).toContain(stopped.source);
  const seen = events.events.length;
  await new Promise((r) => setTimeout(r, 1500));
  expect(events.events.slice(seen).filter(of('crashy'))).toEqual([]);
  expect(await state.providers.get('crashy')).toBeUndefined();
});

test('a provider that ignores SIGTERM gets SIGKILL after the stop timeout; the host announces its stop', async () => {
  await state.putConfig('stubborn', { ignore_sigterm: 'true' });
  const pid = await startEcho('stubborn', ['stubborn']);
  const from = events.events.length;
  const started = Date.now();
  await control.stopProvider({ hostId: host.hostId, providerId: 'stubborn' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(STOP_TIMEOUT_MS - 100);
  expect(isGone(pid)).toBe(true);
  const stopped = await events.find((e) => of('stubborn')(e) && e.type === 'provider_stopped', 2000, from);
  expect(stopped.source).toBe(host.hostId);
  expect(stopped.type === 'provider_stopped' && stopped.data).toMatchObject({
    providerId: 'stubborn',
    hostId: host.hostId,
    reason: 'stop requested',
  });
  // The record it could not delete is removed by the host.
  expect(await state.providers.get('stubborn')).toBeUndefined();
});

test('bad references and unknown config are clear errors, and nothing is left running', async () => {
  const builtin = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'nope', artifactRef: 'builtin:nope' }),
    'WASMESH_ERR_NOT_FOUND',
  );
  expect(builtin.message).toBe(
    'no first-party provider "nope": the package @wasmesh/provider-nope is not installed on this host',
  );
  const missing = providerFixturePath('no-such-provider');
  const file = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'nope', artifactRef: missing }),
    'WASMESH_ERR_NOT_FOUND',
  );
  expect(file.message).toBe(`no provider entry module at "${missing}": there is no such file`);
  const outside = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'nope', artifactRef: '/no/such/provider.js' }),
    'WASMESH_ERR_PERMISSION_DENIED',
  );
  expect(outside.message).toBe(
    'refused the provider entry module "/no/such/provider.js": it is not inside a directory this host allows (--allow-dir)',
  );
  const scheme = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'nope', artifactRef: 'sha256:abcd' }),
    'WASMESH_ERR_BAD_REQUEST',
  );
  expect(scheme.message).toMatch(/unsupported provider reference "sha256:abcd"/);
  const badName = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'nope', artifactRef: 'builtin:Key.Value' }),
    'WASMESH_ERR_BAD_REQUEST',
  );
  expect(badName.message).toMatch(/builtin:<name> takes a lower-case name/);
  const config = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'nope', artifactRef: ECHO, config: ['missing'] }),
    'WASMESH_ERR_NOT_FOUND',
  );
  expect(config.message).toMatch(/no config named "missing"/);
  const badId = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'a.b', artifactRef: ECHO }),
    'WASMESH_ERR_INVALID_NAME',
  );
  expect(badId.message).toMatch(/invalid provider id "a\.b"/);
  await rejection(control.stopProvider({ hostId: host.hostId, providerId: 'nope' }), 'WASMESH_ERR_NOT_FOUND');
  expect(await state.providers.get('nope')).toBeUndefined();
});

test('a provider that exits at once fails the start with its exit status and the end of its stderr', async () => {
  await state.putConfig('broken', { startup_exit_code: '3', startup_message: 'bad credentials for the backend' });
  const err = await rejection(
    control.startProvider({ hostId: host.hostId, providerId: 'broken', artifactRef: ECHO, config: ['broken'] }),
    'WASMESH_ERR_PROVIDER_FAILED',
  );
  expect(err.message).toMatch(
    /^provider "broken" \(.*echo-provider\.mjs\) exited before it registered \(exit status 3\); its stderr ends: echo-provider: warming up \| echo-provider: cannot start: bad credentials for the backend$/,
  );
  expect(err.details).toMatchObject({
    provider: 'broken',
    host: host.hostId,
    exitCode: 3,
    stderr: expect.stringContaining('bad credentials for the backend'),
  });
  // Not supervised: no restart, nothing to stop.
  await rejection(control.stopProvider({ hostId: host.hostId, providerId: 'broken' }), 'WASMESH_ERR_NOT_FOUND');
  expect(events.filter(of('broken'))).toEqual([]);
  // The host is fine.
  expect((await control.ping()).map((h) => h.hostId)).toContain(host.hostId);
});

test('a host that drains (SIGTERM) stops its providers first', async () => {
  const other = await lattice.addHost({ env: HOST_ENV });
  const pid = await startEcho('drained', [], other);
  const from = events.events.length;
  expect(await other.stop()).toBe(0);
  expect(isGone(pid)).toBe(true);
  expect(await state.providers.get('drained')).toBeUndefined();
  const stopped = await events.find((e) => of('drained')(e) && e.type === 'provider_stopped', 2000, from);
  expect(stopped.type === 'provider_stopped' && stopped.data.reason).toBe('SIGTERM');
  expect(other.logs()).toMatch(/"provider":"drained".*"msg":"provider stopped"/);
});

test('a host killed with SIGKILL leaves no provider behind (its stdin ends)', async () => {
  const other = await lattice.addHost({ env: HOST_ENV });
  const pid = await startEcho('orphan', [], other);
  await other.kill();
  await until('the provider of the killed host to exit', () => isGone(pid), 10_000);
  await until('its record to be removed', async () => (await state.providers.get('orphan')) === undefined, 5000);
});

test('in process: host.providers describes what the host supervises, and drain empties it', async () => {
  const { natsUrl, ...access } = await lattice.nats.processAccess(lattice.lattice);
  const inproc = await LatticeHost.start({
    nats: natsUrl,
    ...access,
    lattice: lattice.lattice,
    allowDirs: [providerFixtureDir],
    providerHealthMs: 200,
    providerStopTimeoutMs: 2000,
    // Short enough to test a slow start, long enough for a normal provider on a loaded machine.
    providerStartTimeoutMs: 4000,
  });
  try {
    // A provider that does not register in time is killed, and the start fails.
    await state.putConfig('slow', { register_delay_ms: '20000' });
    const slow = await rejection(
      control.startProvider({ hostId: inproc.id, providerId: 'slow', artifactRef: ECHO, config: ['slow'] }),
      'WASMESH_ERR_TIMEOUT',
    );
    expect(slow.message).toBe(
      'provider "slow" did not register within 4000 ms; its stderr ends: echo-provider: registering in 20000 ms',
    );
    expect(isGone(Number(slow.details.pid))).toBe(true);
    expect(inproc.providers.has('slow')).toBe(false);

    await control.startProvider({ hostId: inproc.id, providerId: 'inproc', artifactRef: ECHO });
    const supervised = inproc.providers.get('inproc')!;
    const first = supervised.describe();
    expect(first).toMatchObject({
      providerId: 'inproc',
      artifactRef: ECHO,
      entry: ECHO,
      config: [],
      state: 'running',
      healthy: true,
      restarts: 0,
    });
    pids.add(first.pid);
    process.kill(first.pid, 'SIGKILL');
    await until(
      'the restart',
      () => supervised.state === 'running' && supervised.restarts === 1 && supervised.pid !== first.pid,
    );
    const second = supervised.pid;
    pids.add(second);
    await inproc.drain();
    expect(inproc.providers.size).toBe(0);
    expect(supervised.state).toBe('stopped');
    expect(isGone(second)).toBe(true);
  } finally {
    await inproc.drain();
  }
});
