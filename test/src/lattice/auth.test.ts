/**
 * The secured lattice against a real nats-server configured as `wasmesh up` configures it (TLS
 * with a private CA, decentralized auth, one account per lattice, role templates): the server —
 * not wasmesh — refuses strangers and keeps every role to what it needs, and refusals reach the
 * caller at once as WASMESH_ERR_PERMISSION_DENIED.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { createServer } from '@nats-io/nkeys';
import {
  connectNats,
  encodeEvent,
  ensureServerTls,
  isHostGroup,
  LatticeAuthority,
  mintHostCredentials,
  parseCredentials,
  redactUrl,
  isWasmeshError,
  LatticeClient,
  subscribeEvents,
  type LatticeEvent,
} from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import { NatsServer } from '../harness/nats-server.js';
import { startLattice, uniqueLattice, type LatticeFixture } from './fixture.js';

let lat: LatticeFixture;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  lat = await startLattice({ hosts: [{}] });
}, 60_000);
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
  await lat?.[Symbol.asyncDispose]();
});

/** A client of `lattice` with credentials of `role`. */
async function clientAs(role: 'admin' | 'reader' | 'host' | 'provider' | 'app', name?: string): Promise<LatticeClient> {
  const c = await LatticeClient.connect({ ...(await lat.nats.access(lat.lattice, role, name)), lattice: lat.lattice });
  opened.push(c);
  return c;
}

/** Expects `p` to fail with PERMISSION_DENIED within `ms`. */
async function expectDenied(p: Promise<unknown>, subject: RegExp, ms = 3000): Promise<void> {
  const started = Date.now();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isWasmeshError(err, 'WASMESH_ERR_PERMISSION_DENIED')).toBe(true);
  expect((err as Error).message).toMatch(subject);
  expect(Date.now() - started).toBeLessThan(ms);
}

/** Collects the server's refusals on `nc` for `ms`. */
async function refusalsWithin(nc: NatsConnection, ms: number, act: () => void): Promise<string[]> {
  const seen: string[] = [];
  const it = nc.status();
  void (async () => {
    for await (const s of it) if (s.type === 'error') seen.push(String(s.error.message));
  })();
  act();
  await nc.flush().catch(() => undefined);
  await new Promise((r) => setTimeout(r, ms));
  return seen;
}

describe('strangers', () => {
  test('a client without credentials is refused by the server', async () => {
    const err = await connectNats({
      servers: lat.nats.url,
      tlsCa: lat.nats.caFile!,
      creds: '',
      name: 'stranger',
      reconnect: false,
    }).catch((e: unknown) => e);
    expect(isWasmeshError(err, 'WASMESH_ERR_PERMISSION_DENIED')).toBe(true);
  });

  test('a plaintext client is refused: the server requires TLS', async () => {
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(lat.nats.port, '127.0.0.1');
      let text = '';
      s.on('data', (d) => {
        text += d.toString('latin1');
        if (text.includes('\r\n')) s.write('CONNECT {"verbose":false}\r\nPING\r\n');
      });
      s.on('close', () => resolve(text));
      s.on('error', () => resolve(text));
      setTimeout(() => s.destroy(), 3000);
    });
    expect(answer).toMatch(/"tls_required":true/);
    expect(answer).not.toMatch(/PONG/);
  });

  test('a client that does not trust the CA cannot connect', async () => {
    const access = await lat.nats.access(lat.lattice, 'admin');
    const err = await connectNats({
      servers: access.servers,
      creds: access.creds!,
      tlsCa: '',
      name: 'x',
      reconnect: false,
    }).catch((e: unknown) => e);
    expect(isWasmeshError(err, 'WASMESH_ERR_NOT_CONNECTED')).toBe(true);
    expect((err as Error).message).toMatch(/--tls-ca/);
  });
});

describe('reader', () => {
  test('reads hosts, inventories and events', async () => {
    const reader = await clientAs('reader');
    const hosts = await reader.control.ping();
    expect(hosts.map((h) => h.hostId)).toEqual([lat.hosts[0]!.hostId]);
    const inv = await reader.control.inventory(lat.hosts[0]!.hostId);
    expect(inv.host?.hostId).toBe(lat.hosts[0]!.hostId);
    const events = reader.events({ types: ['host_heartbeat'] });
    const it = events[Symbol.asyncIterator]();
    const first = await it.next();
    events.close();
    expect(first.value?.type).toBe('host_heartbeat');
  });

  test('gets PERMISSION_DENIED, at once, for everything that changes state', async () => {
    const reader = await clientAs('reader');
    const hostId = lat.hosts[0]!.hostId;
    await expectDenied(
      reader.control.startActor({ hostId, actorId: 'x', artifactRef: actorPath('echo') }),
      /actor\.start/,
    );
    await expectDenied(reader.control.stopHost(hostId), /host\.stop/);
    await expectDenied(reader.control.auction({ actorId: 'x' }), /actor\.auction/);
    const state = await reader.state();
    await expectDenied(state.putConfig('c', { a: 'b' }), /\$KV\.wasmesh_.*_config/);
    await expectDenied(reader.invoke('anyone', 'Echo', new Uint8Array([1])), /wasmesh\.rpc\.v1/);
    // The host is untouched.
    expect((await reader.control.ping()).length).toBe(1);
  });

  test('may watch invocations but never join an actor’s queue group', async () => {
    const reader = await clientAs('reader');
    const subject = reader.subjects.actor('echo');
    const refusals = await refusalsWithin(reader.nc, 300, () => {
      reader.nc.subscribe(subject);
      reader.nc.subscribe(subject, { queue: subject });
    });
    expect(refusals).toEqual([expect.stringMatching(/Subscription to "wasmesh\.rpc\.v1\.[^"]+\.echo" using queue/)]);
  });
});

test('reader: spies on calls and their answers', async () => {
  const reader = await clientAs('reader');
  const hostId = lat.hosts[0]!.hostId;
  await lat.client.control.startActor({ hostId, actorId: 'spied', artifactRef: actorPath('echo') });
  const seen: string[] = [];
  for (const subject of [reader.subjects.actor('spied'), '_INBOX.>', '_INBOX_WASMESH.>']) {
    reader.nc.subscribe(subject, { callback: (_e, m) => void seen.push(m.subject) });
  }
  await reader.nc.flush();
  await lat.client.invoke('spied', 'Echo', new TextEncoder().encode('psst'));
  await new Promise((r) => setTimeout(r, 200));
  expect(seen).toContain(reader.subjects.actor('spied'));
  expect(seen.some((s) => s.startsWith('_INBOX_WASMESH.'))).toBe(true);
});

describe('provider', () => {
  test('cannot publish control subjects, nor subscribe to any rpc subject but its own provider subject', async () => {
    const provider = await clientAs('provider', 'kv1');
    const s = provider.subjects;
    await expectDenied(provider.control.stopHost(lat.hosts[0]!.hostId), /host\.stop/);
    const refused = [s.provider('kv9'), s.actor('kv1'), s.actor('echo')];
    const refusals = await refusalsWithin(provider.nc, 300, () => {
      provider.nc.subscribe(s.provider('kv1'), { queue: s.provider('kv1') }); // its own: allowed
      // Another provider's, and actors' (also one named like itself): refused, with or without a queue.
      for (const subject of refused) {
        provider.nc.subscribe(subject, { queue: subject });
        provider.nc.subscribe(subject);
      }
      provider.nc.publish(s.event('host_heartbeat', lat.hosts[0]!.hostId), new Uint8Array());
    });
    expect(refusals.some((r) => r.includes(`Subscription to "${s.provider('kv1')}"`))).toBe(false);
    for (const subject of refused) {
      expect(refusals.filter((r) => r.includes(`Subscription to "${subject}"`))).toHaveLength(2);
    }
    expect(refusals.some((r) => /Publish to "wasmesh\.evt\.v1\.[^"]+\.host_heartbeat\./.test(r))).toBe(true);
  });

  test('cannot write the lattice’s links or config', async () => {
    const provider = await clientAs('provider', 'kv2');
    const state = await provider.state();
    await expectDenied(state.putConfig('c', { a: 'b' }), /_config/);
  });
});

describe('events and heartbeats', () => {
  test('a host may publish events only as itself, and a forged event is dropped by observers', async () => {
    const host = await clientAs('host');
    const admin = lat.client;
    const s = admin.subjects;
    const real = lat.hosts[0]!.hostId;
    const seen: LatticeEvent[] = [];
    const stream = subscribeEvents(admin.nc, s, { types: ['host_heartbeat'] });
    void (async () => {
      for await (const e of stream) seen.push(e);
    })();
    // A host credential naming another host: refused by the server.
    const refusals = await refusalsWithin(host.nc, 300, () => {
      host.nc.publish(
        s.event('host_heartbeat', real),
        encodeEvent('host_heartbeat', real, { inventory: { host: { hostId: real } } }),
      );
    });
    expect(refusals.some((r) => r.includes('host_heartbeat'))).toBe(true);
    // Even an admin's forgery (a body naming another source than its subject) is dropped.
    admin.nc.publish(
      s.event('host_heartbeat', 'NGHOST'),
      encodeEvent('host_heartbeat', real, { inventory: { host: { hostId: real, friendlyName: 'ghost' } } }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    stream.close();
    expect(seen.length).toBeGreaterThan(0); // the real host's heartbeats
    expect(
      seen.every(
        (e) => e.source === real && e.type === 'host_heartbeat' && e.data.inventory?.host?.friendlyName !== 'ghost',
      ),
    ).toBe(true);
  });
});

describe('host-group credentials', () => {
  test('hosts sharing one file get ids of their own; each is pinned to its id and serves calls', async () => {
    const creds = await lat.nats.hostGroupCreds(lat.lattice);
    const group = [await lat.addHost({ creds }), await lat.addHost({ creds })];
    const ids = group.map((h) => h.hostId);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id).toMatch(/^N[A-Z2-7]{55}$/);
    const pinged = (await lat.client.control.ping()).map((h) => h.hostId);
    expect(pinged).toEqual(expect.arrayContaining(ids));
    const ref = await (await lat.client.objects()).pushArtifact(readFileSync(actorPath('echo')));
    for (const hostId of ids) await lat.client.control.startActor({ hostId, actorId: 'group-echo', artifactRef: ref });
    const servedBy = new Set<string>();
    for (let i = 0; i < 40 && servedBy.size < 2; i++) {
      const r = await lat.client.invokeDetailed('group-echo', 'Echo', Buffer.from(`g${i}`), { timeoutMs: 2000 });
      expect(Buffer.from(r.payload).toString()).toBe(`g${i}`);
      servedBy.add(r.hostId);
    }
    expect([...servedBy].sort()).toEqual([...ids].sort());
    await Promise.all(group.map((h) => h.stop()));
  });

  test('minted host credentials are pinned to one id, cannot mint hosts, and expire with the group file', async () => {
    const authority = LatticeAuthority.open(mkdtempSync(path.join(os.tmpdir(), 'wasmesh-group-')));
    const text = await authority.issue({ lattice: 'g', role: 'host', name: 'fleet', group: true, expiresInSec: 3600 });
    const group = parseCredentials(text, 'fleet.creds');
    expect(isHostGroup(group)).toBe(true);
    expect(Object.keys(group.signers).sort()).toEqual(['app', 'host', 'provider']);
    const id = createServer().getPublicKey();
    const own = parseCredentials(await mintHostCredentials(group, id), 'own.creds');
    expect(own).toMatchObject({ role: 'host', name: id, account: group.account, expiresAt: group.expiresAt });
    expect(isHostGroup(own)).toBe(false);
    expect(Object.keys(own.signers).sort()).toEqual(['app', 'provider']);
    await expect(mintHostCredentials(own, createServer().getPublicKey())).rejects.toThrow(
      /carries no host signing key.*--role host --group/,
    );
    await expect(authority.issue({ lattice: 'g', role: 'admin', name: 'x', group: true })).rejects.toThrow(
      /group credentials are for hosts only/,
    );
  });
});

describe('lattices on one server', () => {
  test('see nothing of each other: subjects, KV, object store', async () => {
    const other = uniqueLattice('other');
    const b = await LatticeClient.connect({ ...(await lat.nats.access(other, 'admin')), lattice: other });
    opened.push(b);
    const a = lat.client;
    // Subjects: B's admin may subscribe to everything in its account, and sees none of A's traffic.
    const seen: string[] = [];
    b.nc.subscribe('>', { callback: (_e, m) => void seen.push(m.subject) });
    await b.nc.flush();
    a.nc.publish('demo.hello', 'x');
    a.nc.publish(a.subjects.event('config_set', 'client'), new Uint8Array());
    await a.nc.flush();
    // KV: the same bucket name holds different data.
    await (await a.state()).putConfig('shared-name', { owner: 'a' });
    const bState = await (await b.state()).config.get('shared-name');
    expect(bState).toBeUndefined();
    // Object store: A's artifact is not in B's store under the same digest.
    const ref = await (await a.objects()).pushArtifact(readFileSync(actorPath('echo')));
    await expect((await b.objects()).fetchArtifact(ref)).rejects.toThrow(/not in the lattice/);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.filter((s) => !s.startsWith('$JS') && !s.startsWith('_INBOX'))).toEqual([]);
  });
});

describe('credentials files', () => {
  const connectWith = (creds: string) =>
    LatticeClient.connect({ servers: lat.nats.url, creds, lattice: lat.lattice }).catch((e: unknown) => e);

  test('a malformed credentials file is a clear error naming it', async () => {
    const empty = path.join(mkdtempSync(path.join(os.tmpdir(), 'wasmesh-creds-')), 'empty.creds');
    writeFileSync(empty, '');
    const err = await connectWith(empty);
    expect(isWasmeshError(err, 'WASMESH_ERR_CONFIG')).toBe(true);
    expect((err as Error).message).toContain(`${empty} is not a NATS credentials file`);
  });

  test('a device or a directory as credentials file is refused at once, unread', async () => {
    for (const [file, kind] of [
      ['/dev/zero', 'a character device'],
      [os.tmpdir(), 'a directory'],
    ]) {
      const err = await connectWith(file!);
      expect(isWasmeshError(err, 'WASMESH_ERR_CONFIG')).toBe(true);
      expect((err as Error).message).toBe(
        `refused the NATS credentials file "${file}": it is ${kind}, not a regular file`,
      );
    }
  });
});

describe('URLs with userinfo', () => {
  test('user:password@ authenticates, and a wrong password is refused without showing the secret', async () => {
    await using nats = await NatsServer.start({
      insecure: true,
      jetstream: false,
      args: ['--user', 'u1', '--pass', 's3cret'],
    });
    const url = nats.url.replace('nats://', 'nats://u1:s3cret@');
    const nc = await connectNats({ servers: url, name: 'userinfo', reconnect: false });
    await nc.close();
    const err = await connectNats({
      servers: url.replace('s3cret', 'wrong-s3cret'),
      name: 'userinfo',
      reconnect: false,
    }).catch((e: unknown) => e);
    expect(isWasmeshError(err, 'WASMESH_ERR_PERMISSION_DENIED')).toBe(true);
    expect(JSON.stringify({ m: (err as Error).message, d: (err as { details?: unknown }).details })).not.toMatch(
      /s3cret/,
    );
  });
});

describe('units', () => {
  test('redactUrl hides userinfo and keeps the rest', () => {
    expect(redactUrl('nats://u:p%40ss@10.0.0.1:4222')).toBe('nats://***@10.0.0.1:4222');
    expect(redactUrl('tls://tok@h:1')).toBe('tls://***@h:1');
    expect(redactUrl('nats://h:1')).toBe('nats://h:1');
    expect(redactUrl('nats://a:b@h:1,tls://c@d:2')).toBe('nats://***@h:1,tls://***@d:2');
    expect(redactUrl('cannot reach nats://u:secret@h:1 now')).toBe('cannot reach nats://***@h:1 now');
  });

  test('parseCredentials names the file and what is wrong', () => {
    expect(() => parseCredentials('nothing', 'x.creds')).toThrow(/x\.creds is not a NATS credentials file: it needs/);
    const jwt = ['e30', Buffer.from(JSON.stringify({ sub: 'UAAA' })).toString('base64url'), 'sig'].join('.');
    const text = `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\nSUAAAA\n------END USER NKEY SEED------\n`;
    expect(() => parseCredentials(text, 'y.creds')).toThrow(/y\.creds .*seed is invalid/);
  });

  test('the CA and server certificate cover loopback, and are made once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-tls-'));
    const first = await ensureServerTls(dir);
    const cert = new X509Certificate(readFileSync(first.certFile));
    expect(cert.subjectAltName).toMatch(/IP Address:127\.0\.0\.1/);
    expect(cert.subjectAltName).toMatch(/DNS:localhost/);
    expect(cert.verify(new X509Certificate(readFileSync(first.caFile)).publicKey)).toBe(true);
    const pem = readFileSync(first.certFile, 'utf8');
    await ensureServerTls(dir);
    expect(readFileSync(first.certFile, 'utf8')).toBe(pem);
    expect(statSync(first.keyFile).mode & 0o077).toBe(0);
  });
});
