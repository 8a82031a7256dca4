/**
 * The messaging provider (run in this process) against a real nats-server and a real host running
 * the responder actor: requests on subscribed subjects answered by the actor, Publish and Request
 * from actors, typed no-responders and timeout errors, the lattice's internal subjects and bad
 * subjects refused, live config changes and link deletes, two instances sharing a queue group,
 * failed deliveries answered with service-error headers, max_in_flight, and links with their own
 * NATS server (including its health while that server is down).
 */
import { readFileSync } from 'node:fs';
import { connect, createInbox, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import {
  ControlClient,
  controlRequest,
  decode,
  encode,
  invoke,
  LatticeClient,
  linkKey,
  request,
  WasmeshError,
  type LinkState,
} from '@wasmesh/lattice';
import { contracts, lattice as pb } from '@wasmesh/proto';
import {
  createMessagingProvider,
  parseLinkConfig,
  subjectProblem,
  serviceErrorStatus,
  type MessagingLink,
} from '@wasmesh/provider-messaging';
import type { Provider } from '@wasmesh/provider-sdk';
import { actorPath } from '../fixtures.js';
import { HostProcess } from '../harness/host-process.js';
import { NatsServer } from '../harness/nats-server.js';
import { EventLog, uniqueLattice, until } from '../lattice/fixture.js';
import { rejection, testLogger } from './helpers.js';

const CONTRACT = 'wasmesh:messaging';
const PROVIDER = 'msg-provider';
const RESPONDER = 'responder';

let nats: NatsServer;
let host: HostProcess;
let client: LatticeClient;
let state: LinkState;
let events: EventLog;
let provider: Provider<MessagingLink>;
/** An application's NATS client: the `app` role, NATS's default inboxes, no lattice subjects. */
let app: NatsConnection;

/**
 * The messaging provider `providerId` in this process, with its provider and app credentials (what
 * a host gives the processes it supervises).
 */
async function embeddedProvider(providerId: string, config: string[] = []): Promise<Provider<MessagingLink>> {
  const lattice = client.lattice;
  return createMessagingProvider({
    ...(await nats.processAccess(lattice, 'provider', providerId)),
    appCreds: (await nats.access(lattice, 'app', providerId)).creds,
    config,
    lattice,
    providerId,
    logger: testLogger(),
    drainTimeoutMs: 2000,
  });
}

/** A plain nats.js client with `app` credentials, as any application would connect. */
async function connectApp(lattice: string, name: string): Promise<NatsConnection> {
  const { servers, creds, tlsCa } = await nats.access(lattice, 'app', name);
  return connect({
    servers,
    name,
    ...(creds ? { authenticator: credsAuthenticator(readFileSync(creds)) } : {}),
    ...(tlsCa ? { tls: { caFile: tlsCa } } : {}),
  });
}

beforeAll(async () => {
  nats = await NatsServer.start();
  const lattice = uniqueLattice('msg');
  // The first access adds the lattice's account to the server; the others wait for nothing.
  await nats.access(lattice);
  [host, client, app] = await Promise.all([
    (async () => HostProcess.start({ ...(await nats.processAccess(lattice)), lattice, heartbeatMs: 500 }))(),
    (async () => LatticeClient.connect({ ...(await nats.access(lattice)), lattice, name: 'msg-test' }))(),
    connectApp(lattice, 'msg-test-app'),
  ]);
  state = await client.state();
  events = new EventLog(client, ['link_status']);
  provider = await embeddedProvider(PROVIDER);
  await Promise.all([
    provider.start(),
    client.control.startActor({ hostId: host.hostId, actorId: RESPONDER, artifactRef: actorPath('responder') }),
  ]);
}, 60_000);
afterAll(async () => {
  events?.close();
  await provider?.close();
  await app?.close();
  await client?.close();
  await host?.kill();
  await nats?.[Symbol.asyncDispose]();
});

/**
 * Links `actor` (link `name`) to `providerId` with `config` (values: stored as named config
 * `<actor>-<name>`; names: used as they are) and resolves with the first verdict published.
 */
async function link(actor: string, name: string, config: Record<string, string> | string[], providerId = PROVIDER) {
  let names: string[];
  if (Array.isArray(config)) names = config;
  else {
    names = [`${actor}-${name}`];
    await state.putConfig(names[0]!, config);
  }
  const from = events.events.length;
  await state.putLink({ sourceId: actor, contract: CONTRACT, name, targetId: providerId, config: names });
  const e = await events.find(
    (ev) => ev.type === 'link_status' && ev.data.link?.sourceId === actor && ev.data.link?.name === name,
    10_000,
    from,
  );
  if (e.type !== 'link_status') throw new Error('unreachable');
  return e.data;
}

/** Calls the provider as actor `actor` would, through link `linkName`. */
function messaging(actor: string, linkName = 'default') {
  const call = async (op: string, payload: Uint8Array, timeoutMs = 10_000) =>
    (
      await invoke(client.nc, client.subjects, { provider: PROVIDER }, `Messaging.${op}`, payload, {
        source: actor,
        linkName,
        timeoutMs,
      })
    ).payload;
  return {
    publish: async (subject: string, body: string, replyTo = '') => {
      await call(
        'Publish',
        encode(contracts.PublishRequest, { message: { subject, replyTo, body: Buffer.from(body) } }),
      );
    },
    request: async (subject: string, body: string, timeoutMs = 0, callTimeoutMs = 10_000) => {
      const out = await call(
        'Request',
        encode(contracts.RequestRequest, { subject, body: Buffer.from(body), timeoutMs }),
        callTimeoutMs,
      );
      const reply = decode(contracts.RequestResponse, out, 'RequestResponse').message;
      return Buffer.from(reply?.body ?? []).toString();
    },
  };
}

/** A request with a plain NATS client, as any service would send it. */
async function ask(subject: string, body: string, nc: NatsConnection = app): Promise<Msg> {
  return request(nc, subject, Buffer.from(body), { timeoutMs: 10_000, what: `request on ${subject}` });
}

/** True when requests on `subject` have no responders. */
async function noResponders(subject: string, nc: NatsConnection = app): Promise<boolean> {
  try {
    await ask(subject, 'anyone?', nc);
    return false;
  } catch (err) {
    return (err as WasmeshError).code === 'WASMESH_ERR_NO_RESPONDERS';
  }
}

/** The provider's answer to a health check. */
async function health(): Promise<pb.ProviderHealth> {
  const body = await controlRequest(client.nc, client.subjects.providerHealth(PROVIDER), new Uint8Array(), {
    timeoutMs: 5000,
    what: 'health check',
  });
  return decode(pb.ProviderHealth, body, 'health');
}

describe('subjects and config (pure)', () => {
  test('subjects: concrete for sending, whole-token wildcards for subscribing, internal namespaces on the lattice', () => {
    expect(subjectProblem('orders.new', 'send', true)).toBeUndefined();
    expect(subjectProblem('orders.*', 'subscribe', true)).toBeUndefined();
    expect(subjectProblem('orders.>', 'subscribe', true)).toBeUndefined();
    expect(subjectProblem('', 'send', true)).toContain('is empty');
    expect(subjectProblem('a b', 'send', true)).toContain('whitespace');
    expect(subjectProblem('a..b', 'subscribe', true)).toContain('empty token');
    expect(subjectProblem('.a', 'send', false)).toContain('empty token');
    expect(subjectProblem('orders.*', 'send', true)).toContain('wildcard "*"');
    expect(subjectProblem('orders.a>', 'send', false)).toContain('wildcard ">"');
    expect(subjectProblem('orders.a*', 'subscribe', true)).toContain('whole token');
    expect(subjectProblem('a.>.b', 'subscribe', true)).toContain('must be last');
    for (const s of ['wasmesh.ctl.v1.x', '$JS.API.INFO', '$KV.b.k', '$O.b', '$SYS.REQ.x', '_INBOX.abc', 'wasmesh']) {
      expect(subjectProblem(s, 'send', true)).toContain('internal namespace');
      expect(subjectProblem(s, 'send', false)).toBeUndefined();
    }
    expect(subjectProblem('>', 'subscribe', true)).toContain('starts with the wildcard ">"');
    expect(subjectProblem('*.evt.>', 'subscribe', true)).toContain('starts with the wildcard "*"');
    expect(subjectProblem('>', 'subscribe', false)).toBeUndefined();
  });

  test('link config: defaults, validation naming the key, and the error status of failed deliveries', () => {
    expect(parseLinkConfig({}, 'q')).toEqual({
      subscriptions: [],
      queue: 'q',
      url: undefined,
      maxInFlight: 256,
      timeoutMs: 10_000,
    });
    expect(
      parseLinkConfig(
        { subscriptions: ' a.b , c.> ,, a.b', queue: 'workers', max_in_flight: '4', timeout_ms: '250' },
        'q',
      ),
    ).toMatchObject({ subscriptions: ['a.b', 'c.>'], queue: 'workers', maxInFlight: 4, timeoutMs: 250 });
    const bad = (config: Record<string, string>): WasmeshError => {
      try {
        parseLinkConfig(config, 'q');
      } catch (err) {
        return err as WasmeshError;
      }
      throw new Error('expected a refusal');
    };
    expect(bad({ max_in_flight: '0' })).toMatchObject({ code: 'WASMESH_ERR_CONFIG' });
    expect(bad({ max_in_flight: '0' }).message).toContain('"max_in_flight"');
    expect(bad({ timeout_ms: '1.5' }).message).toContain('"timeout_ms"');
    expect(bad({ url: 'http://x:4222' }).message).toContain('"url"');
    expect(bad({ url: 'nats://user:secret@host:4222,http://a:b@c' }).message).not.toContain('secret');
    expect(bad({ subscriptions: 'ok.a, wasmesh.>' }).message).toContain('"wasmesh.>"');
    expect(parseLinkConfig({ subscriptions: 'wasmesh.>', url: 'nats://127.0.0.1:1' }, 'q').subscriptions).toEqual([
      'wasmesh.>',
    ]);
    expect(serviceErrorStatus(new WasmeshError('WASMESH_ERR_NO_RESPONDERS', 'x'))).toBe(503);
    expect(serviceErrorStatus(new WasmeshError('WASMESH_ERR_TIMEOUT', 'x'))).toBe(504);
    expect(serviceErrorStatus(new WasmeshError('WASMESH_ERR_GUEST_ERROR', 'x'))).toBe(500);
    expect(serviceErrorStatus(new Error('x'))).toBe(500);
  });
});

test('a request on a subscribed subject is answered by the responder actor', async () => {
  const status = await link(RESPONDER, 'default', { subscriptions: 'demo.hello, demo.other.*' });
  expect(status.ok).toBe(true);
  expect(Buffer.from((await ask('demo.hello', 'hello')).data).toString()).toBe('re: hello');
  expect(Buffer.from((await ask('demo.other.x', 'there')).data).toString()).toBe('re: there');
  const inbox = createInbox();
  const replies: string[] = [];
  const sub = app.subscribe(inbox, { callback: (_e, m) => void replies.push(m.string()) });
  for (let i = 0; i < 10; i++) app.publish('demo.hello', `m${i}`, { reply: inbox });
  await until('10 replies', () => replies.length === 10);
  expect(replies.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `re: m${i}`).sort());
  sub.unsubscribe();
});

test('an actor publishes and requests through its link (plain NATS on the other side)', async () => {
  expect((await link('pub-actor', 'default', {})).ok).toBe(true);
  const seen: Msg[] = [];
  const appEvents = app.subscribe('app.events', { callback: (_e, m) => void seen.push(m) });
  const service = app.subscribe('app.svc', { callback: (_e, m) => void m.respond(`pong: ${m.string()}`) });
  await app.flush();
  const pub = messaging('pub-actor');
  await pub.publish('app.events', 'created', 'app.replies');
  await until('the published message', () => seen.length === 1);
  expect(seen[0]!.string()).toBe('created');
  expect(seen[0]!.reply).toBe('app.replies');
  expect(await pub.request('app.svc', 'ping')).toBe('pong: ping');
  // Actor to actor through NATS: the responder answers on its subscribed subject.
  expect(await pub.request('demo.hello', 'from an actor')).toBe('re: from an actor');
  appEvents.unsubscribe();
  service.unsubscribe();
});

test('a request nobody answers and one answered too late are typed errors naming the subject', async () => {
  const pub = messaging('pub-actor');
  const none = await rejection(pub.request('nobody.home', 'x'));
  expect(none.code).toBe('WASMESH_ERR_NO_RESPONDERS');
  expect(none.message).toContain('"nobody.home"');
  const silent = app.subscribe('slow.svc', { callback: () => undefined });
  await app.flush();
  const late = await rejection(pub.request('slow.svc', 'x', 300));
  expect(late.code).toBe('WASMESH_ERR_TIMEOUT');
  expect(late.message).toContain('"slow.svc"');
  expect(late.message).toContain('300 ms');
  // timeout_ms 0 (5 s) is cut to the call's own deadline: the typed error still arrives in time.
  const started = Date.now();
  const cut = await rejection(pub.request('slow.svc', 'x', 0, 1000));
  expect(cut.code).toBe('WASMESH_ERR_TIMEOUT');
  expect(cut.message).toContain('"slow.svc"');
  expect(Date.now() - started).toBeLessThan(2000);
  silent.unsubscribe();
});

test('the lattice internal subjects are refused: to publish, request, reply to, and subscribe', async () => {
  const pub = messaging('pub-actor');
  const refusals: [() => Promise<unknown>, string][] = [
    [() => pub.publish('wasmesh.x', 'forged'), 'wasmesh.x'],
    [() => pub.publish('_INBOX.abc', 'forged'), '_INBOX.abc'],
    [() => pub.request('$JS.API.INFO', ''), '$JS.API.INFO'],
    [() => pub.publish('ok.subject', 'x', `wasmesh.ctl.v1.${client.lattice}.host.stop`), 'wasmesh.ctl.v1'],
  ];
  for (const [call, subject] of refusals) {
    const err = await rejection(call());
    expect(err.code).toBe('WASMESH_ERR_BAD_REQUEST');
    expect(err.message).toContain(subject);
    expect(err.message).toContain('internal namespace');
  }
  const refused = await link('snoop', 'default', { subscriptions: 'ok.subject, wasmesh.>' });
  expect(refused.ok).toBe(false);
  expect(refused.error?.code).toBe('WASMESH_ERR_CONFIG');
  expect(refused.error?.message).toContain('"wasmesh.>"');
  expect(refused.error?.message).toContain('internal namespace');
  const all = await link('snoop', 'all', { subscriptions: '>' });
  expect(all.ok).toBe(false);
  expect(all.error?.message).toContain('starts with the wildcard ">"');
  // Calls on a refused link say why.
  const err = await rejection(messaging('snoop').publish('ok.subject', 'x'));
  expect(err.code).toBe('WASMESH_ERR_CONFIG');
  expect(err.message).toContain('wasmesh.>');
});

test('bad subjects are WASMESH_ERR_BAD_REQUEST naming the subject and what is wrong', async () => {
  const pub = messaging('pub-actor');
  const cases: [() => Promise<unknown>, string][] = [
    [() => pub.publish('orders.*', 'x'), 'wildcard'],
    [() => pub.request('orders.>', 'x'), 'wildcard'],
    [() => pub.publish('orders..new', 'x'), 'empty token'],
    [() => pub.publish('', 'x'), 'is empty'],
    [() => pub.publish('orders new', 'x'), 'whitespace'],
  ];
  for (const [call, what] of cases) {
    const err = await rejection(call());
    expect(err.code).toBe('WASMESH_ERR_BAD_REQUEST');
    expect(err.message).toContain(what);
  }
  expect((await rejection(pub.publish('orders..new', 'x'))).message).toContain('"orders..new"');
  const refused = await link('bad-subs', 'default', { subscriptions: 'a.>.b' });
  expect(refused.ok).toBe(false);
  expect(refused.error?.message).toContain('"a.>.b"');
});

test('a config change moves the subscription live, and a link delete stops delivery', async () => {
  await state.putConfig('moving-subs', { subscriptions: 'move.a' });
  expect((await link(RESPONDER, 'moving', ['moving-subs'])).ok).toBe(true);
  expect(Buffer.from((await ask('move.a', 'one')).data).toString()).toBe('re: one');
  const from = events.events.length;
  await state.putConfig('moving-subs', { subscriptions: 'move.b' });
  const applied = await events.find(
    (e) => e.type === 'link_status' && e.data.link?.sourceId === RESPONDER && e.data.link?.name === 'moving',
    10_000,
    from,
  );
  expect(applied.type === 'link_status' && applied.data.ok).toBe(true);
  expect(Buffer.from((await ask('move.b', 'two')).data).toString()).toBe('re: two');
  await until('move.a to be unsubscribed', () => noResponders('move.a'));
  expect(provider.state).toBe('running');
  const key = linkKey(RESPONDER, CONTRACT, 'moving');
  expect(provider.links().find((l) => l.key === key)?.resource?.config.subscriptions).toEqual(['move.b']);

  await state.deleteLink(RESPONDER, CONTRACT, 'moving');
  await until('move.b to be unsubscribed', () => noResponders('move.b'));
  expect(provider.links().find((l) => l.key === key)).toBeUndefined();
  // The other links of the actor are untouched.
  expect(Buffer.from((await ask('demo.hello', 'still')).data).toString()).toBe('re: still');
});

test('a failed delivery answers the requester with Nats-Service-Error headers (503: the actor is not running)', async () => {
  expect((await link('ghost', 'default', { subscriptions: 'ghost.svc' })).ok).toBe(true);
  const reply = await ask('ghost.svc', 'hello?');
  expect(reply.data.length).toBe(0);
  expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('503');
  expect(reply.headers?.get('Nats-Service-Error')).toContain('WASMESH_ERR_NO_RESPONDERS');
  expect(reply.headers?.get('Nats-Service-Error')).toContain('"ghost"');
  // Many failures in a row never harm the provider.
  await Promise.all(Array.from({ length: 50 }, () => ask('ghost.svc', 'x')));
  const key = linkKey('ghost', CONTRACT, 'default');
  expect(provider.links().find((l) => l.key === key)?.resource?.failed).toBe(51);
  expect((await health()).healthy).toBe(true);
});

describe('deliveries to a slow actor (a stand-in answering its invocation subject)', () => {
  const ACTOR = 'slowpoke';
  /** Invocations of the stand-in actor not answered yet, oldest first. */
  const held: { msg: Msg; body: string; subject: string }[] = [];
  let maxHeld = 0;
  let sub: { unsubscribe(): void };

  beforeAll(async () => {
    sub = client.nc.subscribe(client.subjects.actor(ACTOR), {
      callback: (_e, msg) => {
        const inv = decode(pb.Invocation, msg.data, 'invocation');
        const m = decode(contracts.Message, inv.payload, 'message');
        held.push({ msg, body: Buffer.from(m.body).toString(), subject: m.subject });
        maxHeld = Math.max(maxHeld, held.length);
      },
    });
    await client.nc.flush();
  });

  afterAll(() => sub.unsubscribe());

  /** Answers the oldest invocation held with `re: <body>`. */
  const answerOldest = (): void => {
    const h = held.shift()!;
    const payload = encode(contracts.HandleMessageResponse, { reply: Buffer.from(`re: ${h.body}`) });
    h.msg.respond(encode(pb.InvocationResult, { payload, hostId: 'stand-in' }));
  };

  test('max_in_flight bounds deliveries in flight; the rest wait, in order, none dropped', async () => {
    expect((await link(ACTOR, 'default', { subscriptions: 'slow.in', max_in_flight: '2' })).ok).toBe(true);
    const inbox = createInbox();
    const replies: string[] = [];
    const r = app.subscribe(inbox, { callback: (_e, m) => void replies.push(m.string()) });
    for (let i = 0; i < 6; i++) app.publish('slow.in', `m${i}`, { reply: inbox });
    await until('two deliveries in flight', () => held.length === 2);
    const delivered: string[] = [];
    while (delivered.length < 6) {
      await until('a delivery to answer', () => held.length > 0);
      delivered.push(held[0]!.body);
      answerOldest();
    }
    await until('6 replies', () => replies.length === 6);
    expect(maxHeld).toBe(2);
    expect(delivered).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(replies).toEqual(delivered.map((b) => `re: ${b}`));
    r.unsubscribe();
  });

  test('a delivery past timeout_ms answers 504', async () => {
    expect((await link(ACTOR, 'timeout', { subscriptions: 'slow.timeout', timeout_ms: '300' })).ok).toBe(true);
    const reply = await ask('slow.timeout', 'x');
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('504');
    expect(reply.headers?.get('Nats-Service-Error')).toContain('WASMESH_ERR_TIMEOUT');
    held.splice(0);
  });
});

test('a link with its own NATS server (url): internal names allowed there, health follows that server', async () => {
  // Someone else's NATS, not the lattice's: a link reaches it by its url alone (userinfo is the
  // only way to authenticate there), so it runs in the open mode.
  const other = await NatsServer.start({ jetstream: false, insecure: true });
  let nc2: NatsConnection | undefined;
  try {
    const status = await link(RESPONDER, 'external', { url: other.url, subscriptions: 'wasmesh.ext.>' });
    expect(status.ok).toBe(true);
    nc2 = await connect({ servers: other.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    expect(Buffer.from((await ask('wasmesh.ext.hi', 'hi', nc2)).data).toString()).toBe('re: hi');
    // Nothing of it reaches the lattice's NATS (where only the lattice's own users may use wasmesh.>).
    expect(await noResponders('wasmesh.ext.hi', client.nc)).toBe(true);
    const seen: string[] = [];
    nc2.subscribe('wasmesh.out', { callback: (_e, m) => void seen.push(m.string()) });
    await nc2.flush();
    await messaging(RESPONDER, 'external').publish('wasmesh.out', 'outside');
    await until('the message on the other server', () => seen.length === 1);
    expect(seen).toEqual(['outside']);
    expect((await health()).healthy).toBe(true);

    await other.stop();
    await until('the provider to be unhealthy', async () => !(await health()).healthy);
    const sick = await health();
    expect(sick.message).toContain('link "external"');
    expect(sick.message).toContain('disconnected');
    await other.restart();
    await until('the provider to be healthy again', async () => (await health()).healthy);
    await until('the subscription to be back', async () => {
      try {
        return Buffer.from((await ask('wasmesh.ext.again', 'again', nc2)).data).toString() === 're: again';
      } catch {
        return false;
      }
    });

    const own = provider.links().find((l) => l.link.name === 'external')!.resource!;
    expect(own.ownConnection).toBe(true);
    await state.deleteLink(RESPONDER, CONTRACT, 'external');
    await until('the link to be released', () => !provider.links().some((l) => l.link.name === 'external'));
    await until('its own connection to be closed', () => own.nc.isClosed());
    expect(await noResponders('wasmesh.ext.hi', nc2)).toBe(true);
  } finally {
    await nc2?.close();
    await other[Symbol.asyncDispose]();
  }
});

test('a url that cannot be reached refuses the link, naming the key', async () => {
  const refused = await link(RESPONDER, 'unreachable', { url: 'nats://127.0.0.1:1' });
  expect(refused.ok).toBe(false);
  expect(refused.error?.code).toBe('WASMESH_ERR_CONFIG');
  expect(refused.error?.message).toContain('config key "url"');
  expect((await health()).healthy).toBe(true);
});

test('a host runs it as builtin:messaging, a process of its own', async () => {
  const control = new ControlClient(client.nc, client.subjects, 30_000);
  const ack = await control.startProvider({
    hostId: host.hostId,
    providerId: 'msg-process',
    artifactRef: 'builtin:messaging',
  });
  expect(ack.message).toContain('provider msg-process started');
  try {
    expect((await link(RESPONDER, 'process', { subscriptions: 'proc.hello' }, 'msg-process')).ok).toBe(true);
    expect(Buffer.from((await ask('proc.hello', 'from afar')).data).toString()).toBe('re: from afar');
  } finally {
    await control.stopProvider({ hostId: host.hostId, providerId: 'msg-process' });
  }
  await until('its subscription to be drained', () => noResponders('proc.hello'));
});

// Last: closing the second instance removes the id's registry entry (it wrote the newest one),
// and putLink refuses links to a provider id without one (see the report: an SDK limitation).
test('two instances of one provider id deliver each message once (one queue group per link)', async () => {
  // The second instance's own config gives its links defaults (link config would win).
  await state.putConfig('msg-defaults', { max_in_flight: '7' });
  const second = await embeddedProvider(PROVIDER, ['msg-defaults']);
  await second.start();
  try {
    expect((await link(RESPONDER, 'twice', { subscriptions: 'twice.x' })).ok).toBe(true);
    const key = linkKey(RESPONDER, CONTRACT, 'twice');
    const linkOf = (p: Provider<MessagingLink>) => p.links().find((l) => l.key === key)?.resource;
    await until('both instances to subscribe', () => linkOf(provider) !== undefined && linkOf(second) !== undefined);
    expect(linkOf(second)!.config).toMatchObject({ maxInFlight: 7, subscriptions: ['twice.x'] });
    expect(linkOf(provider)!.config).toMatchObject({ maxInFlight: 256, subscriptions: ['twice.x'] });
    expect(linkOf(second)!.config.queue).toBe(linkOf(provider)!.config.queue);
    const inbox = createInbox();
    const replies: string[] = [];
    const sub = app.subscribe(inbox, { callback: (_e, m) => void replies.push(m.string()) });
    const N = 40;
    for (let i = 0; i < N; i++) app.publish('twice.x', `m${i}`, { reply: inbox });
    await until(`${N} replies`, () => replies.length === N);
    // Give a duplicate time to show up (an absence cannot be awaited).
    await new Promise((r) => setTimeout(r, 300));
    expect(replies.length).toBe(N);
    expect(new Set(replies).size).toBe(N);
    const [a, b] = [linkOf(provider)!.delivered, linkOf(second)!.delivered];
    expect(a + b).toBe(N);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    sub.unsubscribe();
  } finally {
    await second.close();
  }
  // The first instance serves on alone.
  expect(Buffer.from((await ask('twice.x', 'alone')).data).toString()).toBe('re: alone');
});
