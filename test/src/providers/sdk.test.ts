/**
 * The provider SDK with a provider defined here (contract `wasmesh:testecho`), in this process,
 * against a real nats-server: lifecycle states and idempotent close, the registry entry and
 * events, link and config hooks (with the resource a link's calls get), errors as replies,
 * health checks, calls to actors, several instances of one provider id, and a drain that
 * finishes in-flight calls.
 */
import {
  controlRequest,
  decode,
  encode,
  invoke,
  LatticeClient,
  WasmeshError,
  type LatticeEvent,
  type LinkState,
} from '@wasmesh/lattice';
import { lattice as pb } from '@wasmesh/proto';
import { Provider, type LinkReleaseReason, type ProviderDefinition, type ProviderOptions } from '@wasmesh/provider-sdk';
import { NatsServer } from '../harness/nats-server.js';
import { uniqueLattice, until, waitForEvent } from '../lattice/fixture.js';
import { rejection, testLogger } from './helpers.js';

const CONTRACT = 'wasmesh:testecho';
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

let nats: NatsServer;
let client: LatticeClient;
let state: LinkState;

beforeAll(async () => {
  nats = await NatsServer.start();
  const lattice = uniqueLattice('sdk');
  client = await LatticeClient.connect({ ...(await nats.access(lattice)), lattice, name: 'sdk-test' });
  state = await client.state();
});

afterAll(async () => {
  await client?.close();
  await nats?.[Symbol.asyncDispose]();
});

/** A resource per link: the link's config and a generation number. */
interface Res {
  generation: number;
  greeting: string;
}

/** What the test provider's hooks saw. */
interface Journal {
  puts: { actor: string; config: Record<string, string> }[];
  releases: { actor: string; generation: number; reason: LinkReleaseReason }[];
  ownConfigs: Record<string, string>[];
}

/** A provider of the test contract, with provider credentials; `gate` holds `Slow` calls until it resolves. */
async function testProvider(
  providerId: string,
  extra: Partial<ProviderOptions> = {},
  hooks: Partial<ProviderDefinition<Res>> = {},
) {
  const journal: Journal = { puts: [], releases: [], ownConfigs: [] };
  const tag = Math.random().toString(36).slice(2);
  let generation = 0;
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  const definition: ProviderDefinition<Res> = {
    contract: CONTRACT,
    operations: {
      'Echo.Say': (ctx, payload) => text(`${ctx.resource.greeting} ${str(payload)}`),
      'Echo.Describe': (ctx) =>
        text(
          JSON.stringify({
            source: ctx.source,
            linkName: ctx.linkName,
            config: ctx.config,
            generation: ctx.resource.generation,
            deadlineInMs: ctx.deadlineMs - Date.now(),
            provider: ctx.provider.id,
            tag,
          }),
        ),
      'Echo.Fail': (_ctx, payload) => {
        if (str(payload) === 'typed') throw new WasmeshError('WASMESH_ERR_NOT_FOUND', 'no such thing');
        throw new Error('plain failure');
      },
      'Echo.Slow': async (ctx) => {
        await gate;
        return text(`slow done for ${ctx.source}`);
      },
      'Echo.CallActor': async (ctx, payload) =>
        ctx.provider.invokeActor(str(payload), 'Hello', text('from provider'), {
          deadlineMs: ctx.deadlineMs,
          parent: ctx.trace,
        }),
    },
    onLinkPut(link, config) {
      journal.puts.push({ actor: link.sourceId!, config: { ...config } });
      if (config.refuse) throw new WasmeshError('WASMESH_ERR_CONFIG', `refused: ${config.refuse}`);
      return { generation: ++generation, greeting: config.greeting ?? 'hello' };
    },
    onLinkDelete(link, resource, reason) {
      journal.releases.push({ actor: link.sourceId!, generation: resource.generation, reason });
    },
    onConfig(config) {
      journal.ownConfigs.push({ ...config });
    },
    ...hooks,
  };
  const provider = new Provider(definition, {
    ...(await nats.processAccess(client.lattice, 'provider', providerId)),
    lattice: client.lattice,
    providerId,
    logger: testLogger(),
    drainTimeoutMs: 5000,
    ...extra,
  });
  return {
    provider,
    journal,
    tag,
    open: () => {
      release();
      gate = new Promise<void>((r) => (release = r));
    },
  };
}

/** Calls `operation` of provider `providerId` as actor `actor`. */
async function call(providerId: string, actor: string, operation: string, payload = '', linkName = 'default') {
  return str(
    (
      await invoke(client.nc, client.subjects, { provider: providerId }, operation, text(payload), {
        source: actor,
        linkName,
        timeoutMs: 10_000,
      })
    ).payload,
  );
}

/** Puts a link and waits for the provider's link_status verdict on it. */
async function link(
  events: AsyncIterable<LatticeEvent>,
  actor: string,
  providerId: string,
  config: string[] = [],
): Promise<pb.ILinkStatus> {
  const verdict = waitForEvent(events, (e) => e.type === 'link_status' && e.data.link?.sourceId === actor);
  await state.putLink({ sourceId: actor, contract: CONTRACT, targetId: providerId, config });
  return ((await verdict) as Extract<LatticeEvent, { type: 'link_status' }>).data;
}

test('lifecycle: created → starting → running → draining → stopped; registry entry and events; close is idempotent', async () => {
  const events = client.events({ types: ['provider_started', 'provider_stopped'] });
  const { provider } = await testProvider('life');
  expect(provider.state).toBe('created');
  const starting = provider.start();
  expect(provider.state).toBe('starting');
  expect(provider.start()).toBe(starting);
  await starting;
  expect(provider.state).toBe('running');

  const started = await waitForEvent(events, (e) => e.type === 'provider_started');
  expect(started.type === 'provider_started' && started.data.provider).toMatchObject({
    providerId: 'life',
    contract: CONTRACT,
    instance: process.pid,
  });
  expect(started.source).toBe('life');
  const record = await state.providers.get('life');
  expect(record).toMatchObject({ providerId: 'life', contract: CONTRACT, hostId: '', instance: process.pid });

  const closing = provider.close('test over');
  expect(provider.close()).toBe(closing);
  await closing;
  expect(provider.state).toBe('stopped');
  await provider.close();
  const stopped = await waitForEvent(events, (e) => e.type === 'provider_stopped');
  expect(stopped.type === 'provider_stopped' && stopped.data).toMatchObject({
    providerId: 'life',
    reason: 'test over',
  });
  expect(await state.providers.get('life')).toBeUndefined();
  await expect(provider.start()).rejects.toMatchObject({ code: 'WASMESH_ERR_CLOSED' });
  events.close();
});

test('a provider without an id is a configuration error; closing one never started is fine', async () => {
  expect(() => new Provider({ contract: CONTRACT, operations: {} }, { env: {} })).toThrow(
    expect.objectContaining({ code: 'WASMESH_ERR_CONFIG', message: expect.stringContaining('WASMESH_PROVIDER_ID') }),
  );
  expect(() => new Provider({ contract: 'not a contract', operations: {} }, { providerId: 'x' })).toThrow(
    expect.objectContaining({ code: 'WASMESH_ERR_INVALID_NAME' }),
  );
  const fromEnv = new Provider(
    { contract: CONTRACT, operations: {} },
    {
      env: {
        WASMESH_PROVIDER_ID: 'env-id',
        WASMESH_LATTICE: 'lat',
        WASMESH_HOST_ID: 'NHOST',
        WASMESH_PROVIDER_REF: 'builtin:x',
        WASMESH_PROVIDER_CONFIG: 'a, b',
        WASMESH_NATS_CREDS: '/run/provider.creds',
        WASMESH_NATS_CA: '/run/ca.pem',
      },
      logger: testLogger(),
    },
  );
  expect(fromEnv.options).toMatchObject({
    providerId: 'env-id',
    lattice: 'lat',
    hostId: 'NHOST',
    ref: 'builtin:x',
    config: ['a', 'b'],
    creds: '/run/provider.creds',
    tlsCa: '/run/ca.pem',
  });
  expect(Object.isFrozen(fromEnv.options)).toBe(true);
  await fromEnv.close();
  expect(fromEnv.state).toBe('stopped');
});

test('links: onLinkPut builds the resource calls get, config changes rebuild it, deletes and close release it', async () => {
  const events = client.events({ types: ['link_status'] });
  const { provider, journal } = await testProvider('hooks');
  await provider.start();
  try {
    await state.putConfig('greet', { greeting: 'hi' });
    await state.putConfig('extra', { more: 'yes', greeting: 'hey' });
    const ok = await link(events, 'alice', 'hooks', ['greet', 'extra']);
    expect(ok).toMatchObject({ ok: true, providerId: 'hooks' });
    expect(journal.puts).toEqual([{ actor: 'alice', config: { greeting: 'hey', more: 'yes' } }]);

    expect(await call('hooks', 'alice', 'Echo.Say', 'world')).toBe('hey world');
    const described = JSON.parse(await call('hooks', 'alice', 'Echo.Describe'));
    expect(described).toMatchObject({ source: 'alice', linkName: 'default', generation: 1, provider: 'hooks' });
    expect(described.config).toEqual({ greeting: 'hey', more: 'yes' });
    expect(described.deadlineInMs).toBeGreaterThan(5000);

    // A change of a config the link uses rebuilds the resource and releases the old one.
    const rebuilt = waitForEvent(events, (e) => e.type === 'link_status' && e.data.link?.sourceId === 'alice');
    await state.putConfig('extra', { greeting: 'yo' });
    await rebuilt;
    expect(await call('hooks', 'alice', 'Echo.Say', 'world')).toBe('yo world');
    await until('the old resource to be released', () => journal.releases.length === 1);
    expect(journal.releases).toEqual([{ actor: 'alice', generation: 1, reason: 'replaced' }]);
    // A config nobody uses changes nothing.
    await state.putConfig('unused', { greeting: 'nope' });
    await new Promise((r) => setTimeout(r, 100));
    expect(journal.puts).toHaveLength(2);

    // Refused config: a failed link_status with the error, and calls say why.
    await state.putConfig('bad', { refuse: 'not today' });
    const refused = await link(events, 'bob', 'hooks', ['bad']);
    expect(refused).toMatchObject({ ok: false, error: { code: 'WASMESH_ERR_CONFIG', message: 'refused: not today' } });
    const err = await rejection(call('hooks', 'bob', 'Echo.Say'));
    expect(err.code).toBe('WASMESH_ERR_CONFIG');
    expect(err.message).toContain('not today');

    await state.deleteLink('alice', CONTRACT);
    await until('the deleted link to be released', () => journal.releases.length === 2);
    expect(journal.releases[1]).toEqual({ actor: 'alice', generation: 2, reason: 'deleted' });
    expect((await rejection(call('hooks', 'alice', 'Echo.Say'))).code).toBe('WASMESH_ERR_NO_LINK');

    await link(events, 'carol', 'hooks', ['greet']);
  } finally {
    await provider.close();
    events.close();
  }
  expect(journal.releases.at(-1)).toEqual({ actor: 'carol', generation: 3, reason: 'stopping' });
  // bob's link was refused: nothing to release.
  expect(journal.releases.map((r) => r.actor)).toEqual(['alice', 'alice', 'carol']);
});

test('a link put just before the call is found, even before the watcher delivers it', async () => {
  const { provider } = await testProvider('eager');
  await provider.start();
  try {
    await state.putLink({ sourceId: 'dave', contract: CONTRACT, targetId: 'eager' });
    expect(await call('eager', 'dave', 'Echo.Say', 'now')).toBe('hello now');
  } finally {
    await provider.close();
  }
});

test('errors: handler codes pass through, plain errors are INTERNAL, unknown operations and missing links are named', async () => {
  const events = client.events({ types: ['link_status'] });
  const { provider } = await testProvider('errors');
  await provider.start();
  try {
    await link(events, 'erin', 'errors');
    const typed = await rejection(call('errors', 'erin', 'Echo.Fail', 'typed'));
    expect(typed).toMatchObject({ code: 'WASMESH_ERR_NOT_FOUND', message: 'no such thing' });
    const plain = await rejection(call('errors', 'erin', 'Echo.Fail', 'plain'));
    expect(plain).toMatchObject({ code: 'WASMESH_ERR_INTERNAL', message: 'plain failure' });
    const unknown = await rejection(call('errors', 'erin', 'Echo.Nope'));
    expect(unknown.code).toBe('WASMESH_ERR_UNKNOWN_OPERATION');
    expect(unknown.message).toContain('Echo.Say');
    const noLink = await rejection(call('errors', 'erin', 'Echo.Say', '', 'other'));
    expect(noLink.code).toBe('WASMESH_ERR_NO_LINK');
    expect(noLink.message).toContain('actor "erin" has no link for contract "wasmesh:testecho" named "other"');
    const msg = await client.nc.request(client.subjects.provider('errors'), text('\xff\xff not protobuf'), {
      timeout: 5000,
    });
    expect(decode(pb.InvocationResult, msg.data, 'reply').error?.code).toBe('WASMESH_ERR_BAD_REQUEST');
  } finally {
    await provider.close();
    events.close();
  }
});

test('health checks ask the health hook; a provider can call actors', async () => {
  let healthy = true;
  const { provider } = await testProvider(
    'healthy',
    {},
    { health: () => ({ healthy, message: healthy ? 'fine' : 'sick' }) },
  );
  await provider.start();
  // A stand-in actor that answers one operation.
  const actor = client.nc.subscribe(client.subjects.actor('greeter'), {
    callback: (_err, msg) => {
      const inv = decode(pb.Invocation, msg.data, 'invocation');
      msg.respond(
        encode(pb.InvocationResult, {
          payload: text(`${inv.operation} ${str(inv.payload)} (source ${inv.source})`),
          hostId: 'fake-host',
        }),
      );
    },
  });
  try {
    const ask = async () =>
      decode(
        pb.ProviderHealth,
        await controlRequest(client.nc, client.subjects.providerHealth('healthy'), new Uint8Array(), {
          timeoutMs: 5000,
          what: 'health',
        }),
        'health',
      );
    expect(await ask()).toMatchObject({ providerId: 'healthy', healthy: true, message: 'fine' });
    healthy = false;
    expect(await ask()).toMatchObject({ healthy: false, message: 'sick' });

    await state.putLink({ sourceId: 'frank', contract: CONTRACT, targetId: 'healthy' });
    expect(await call('healthy', 'frank', 'Echo.CallActor', 'greeter')).toBe('Hello from provider (source healthy)');
    expect(str(await provider.invokeActor('greeter', 'Hello', text('direct')))).toBe('Hello direct (source healthy)');
  } finally {
    actor.unsubscribe();
    await provider.close();
  }
});

test("the provider's own config reaches it, and changes re-apply its links", async () => {
  const events = client.events({ types: ['link_status'] });
  await state.putConfig('own', { mode: 'one' });
  const { provider, journal } = await testProvider('configured', { config: ['own', 'missing'] });
  await provider.start();
  try {
    expect(provider.config).toEqual({ mode: 'one' });
    await link(events, 'gina', 'configured');
    const reapplied = waitForEvent(events, (e) => e.type === 'link_status' && e.data.link?.sourceId === 'gina');
    await state.putConfig('own', { mode: 'two' });
    await reapplied;
    expect(provider.config).toEqual({ mode: 'two' });
    expect(journal.ownConfigs).toEqual([{ mode: 'two' }]);
    expect(journal.puts.filter((p) => p.actor === 'gina')).toHaveLength(2);
  } finally {
    await provider.close();
    events.close();
  }
});

test('instances of one provider id share the calls; the registry entry belongs to the newest', async () => {
  const a = await testProvider('shared');
  const b = await testProvider('shared');
  await a.provider.start();
  await b.provider.start();
  try {
    await state.putLink({ sourceId: 'hank', contract: CONTRACT, targetId: 'shared' });
    const servedBy = await Promise.all(
      Array.from({ length: 40 }, async () => JSON.parse(await call('shared', 'hank', 'Echo.Describe')).tag),
    );
    expect(new Set(servedBy)).toEqual(new Set([a.tag, b.tag]));
    await until('both instances to apply the link', () => a.journal.puts.length === 1 && b.journal.puts.length === 1);
    expect(a.provider.links()).toHaveLength(1);
    expect(b.provider.links()).toHaveLength(1);
    await a.provider.close();
    // b registered last: a's stop leaves b's entry.
    expect(await state.providers.get('shared')).toBeDefined();
    expect(await call('shared', 'hank', 'Echo.Say', 'still')).toBe('hello still');
  } finally {
    await a.provider.close();
    await b.provider.close();
  }
  expect(await state.providers.get('shared')).toBeUndefined();
});

test('close drains: in-flight calls finish, new calls are refused, then the provider stops', async () => {
  const { provider, open } = await testProvider('drainer');
  await provider.start();
  await state.putLink({ sourceId: 'ivy', contract: CONTRACT, targetId: 'drainer' });
  const inFlight = Array.from({ length: 5 }, () => call('drainer', 'ivy', 'Echo.Slow'));
  await until('the calls to arrive', () => provider.inFlight === 5);
  const closing = provider.close('drain test');
  await until('the provider to drain', () => provider.state === 'draining');
  const late = await rejection(call('drainer', 'ivy', 'Echo.Say'));
  expect(late.code).toBe('WASMESH_ERR_NO_RESPONDERS');
  expect(provider.state).toBe('draining');
  open();
  expect(await Promise.all(inFlight)).toEqual(Array(5).fill('slow done for ivy'));
  await closing;
  expect(provider.state).toBe('stopped');
  expect(await state.providers.get('drainer')).toBeUndefined();
});
