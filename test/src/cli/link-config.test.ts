/**
 * Providers, links and named config from the `wasmesh` command line, as a user drives them: a real
 * NATS server, a real host, the echo-provider fixture (contract `test:echo`) and the testbed actor,
 * whose `CallContract` operation calls a contract through the host. Tests run in order and share
 * the lattice.
 */
import { ExitCode } from '@wasmesh/lattice';
import { actorPath, providerFixturePath } from '../fixtures.js';
import { HostProcess } from '../harness/host-process.js';
import { NatsServer } from '../harness/nats-server.js';
import { isGone, killIfAlive } from '../harness/processes.js';
import { until } from '../lattice/fixture.js';
import { natsFlags, wasmesh, type CliResult } from './run-cli.js';

const EXIT = { ...ExitCode, UNAVAILABLE: 5, NOT_FOUND: 6 } as const;
const ECHO = providerFixturePath('echo-provider');
const LATTICE = `links_${process.pid}`;
let nats: NatsServer;
let host: HostProcess;
const pids = new Set<number>();
/** `--nats`, `--creds` and `--tls-ca` of the lattice's admin. */
let flags: string[];

function cli(...args: string[]): Promise<CliResult> {
  return wasmesh([...args, ...flags, '--lattice', LATTICE]);
}

async function cliJson<T = Record<string, unknown>>(...args: string[]): Promise<{ r: CliResult; out: T }> {
  const r = await cli(...args, '--json');
  try {
    return { r, out: JSON.parse(r.stdout) as T };
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/**
 * Expects exit status `code` and one error line on stderr matching `line`. A wait over a second
 * may print its progress note first ("waiting for provider … to start…", by design): on a loaded
 * machine that is timing, not a second error.
 */
function fails(r: CliResult, code: number, line: RegExp): void {
  if (r.code !== code)
    throw new Error(`expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !/^waiting for .*…$/.test(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
}

/** The testbed actor `tb` calling `contract` under `link` (operation, data) through its host. */
function callContract(operation: string, data: string, link = 'default', contract = 'test:echo'): Promise<CliResult> {
  return cli('call', 'tb', 'CallContract', '--data', `${contract}/${link}/${operation}/${data}`);
}

beforeAll(async () => {
  nats = await NatsServer.start();
  flags = await natsFlags(nats, LATTICE);
  host = await HostProcess.start({
    ...(await nats.processAccess(LATTICE)),
    lattice: LATTICE,
    heartbeatMs: 500,
    env: { WASMESH_PROVIDER_HEALTH_MS: '500' },
  });
}, 30_000);

afterAll(async () => {
  await host?.[Symbol.asyncDispose]();
  await nats?.[Symbol.asyncDispose]();
  for (const pid of pids) killIfAlive(pid);
});

test('start provider from a path: the id comes from the file name, and get providers lists it', async () => {
  const r = ok(await cli('start', 'provider', ECHO));
  expect(r.stdout).toMatch(
    new RegExp(
      // `, mode process` once hosts report where a provider runs (issue 12).
      `^started provider echo-provider on host ${host.friendlyName} \\(${host.hostId}\\), contract test:echo, mode process, pid \\d+\\n$`,
    ),
  );
  const { r: j, out } = await cliJson<{ ok: boolean; provider: string; pid: number }>(
    'start',
    'provider',
    ECHO,
    '--id',
    'echo',
    '--host',
    host.hostId,
  );
  ok(j);
  expect(out).toMatchObject({
    ok: true,
    provider: 'echo',
    host: { hostId: host.hostId, friendlyName: host.friendlyName },
    contract: 'test:echo',
    artifactRef: ECHO,
    pid: expect.any(Number),
  });
  pids.add(out.pid);

  const table = ok(await cli('get', 'providers'));
  expect(table.stdout).toMatch(/^PROVIDER +CONTRACT +HOST ID +MODE +PID +UPTIME +REF +NOTES\n/);
  expect(table.stdout).toMatch(new RegExp(`echo +test:echo +${host.hostId} +process +${out.pid} `));
  const { out: list } = await cliJson<{ providerId: string; pid: number }[]>('get', 'providers');
  expect(list.map((p) => p.providerId)).toEqual(['echo', 'echo-provider']);
  for (const p of list) pids.add(p.pid);
});

test('start provider failures: unknown builtin (6), a provider that exits (3), an unknown host (6), a bad ref (2)', async () => {
  fails(
    await cli('start', 'provider', 'builtin:nope'),
    EXIT.NOT_FOUND,
    /^wasmesh: WASMESH_ERR_NOT_FOUND: cannot start provider nope on host .*: no first-party provider "nope": the package @wasmesh\/provider-nope is not installed on this host$/,
  );
  ok(await cli('config', 'put', 'fail-start', 'startup_exit_code=7', 'startup_message=no backend'));
  fails(
    await cli('start', 'provider', ECHO, '--id', 'broken', '--config', 'fail-start'),
    EXIT.ACTOR,
    /^wasmesh: WASMESH_ERR_PROVIDER_FAILED: cannot start provider broken on host .*exited before it registered \(exit status 7\); its stderr ends: .*no backend$/,
  );
  const { out } = await cliJson('start', 'provider', ECHO, '--id', 'broken', '--config', 'fail-start');
  expect(out).toMatchObject({
    ok: false,
    error: { code: 'WASMESH_ERR_PROVIDER_FAILED', provider: 'broken', exitCode: 7 },
  });
  fails(
    await cli('start', 'provider', ECHO, '--id', 'x', '--host', 'NBOGUSHOST'),
    EXIT.NOT_FOUND,
    new RegExp(`^wasmesh: WASMESH_ERR_NOT_FOUND: no host "NBOGUSHOST" in lattice "${LATTICE}"$`),
  );
  fails(
    await cli('start', 'provider', 'oci://registry/kv:1'),
    EXIT.USAGE,
    /^wasmesh: WASMESH_ERR_USAGE: unsupported provider reference "oci:\/\/registry\/kv:1"/,
  );
  fails(
    await cli('start', 'provider', ECHO, '--id', 'x', '--config', 'no-such-config'),
    EXIT.NOT_FOUND,
    /WASMESH_ERR_NOT_FOUND: cannot start provider x on host .*: cannot start provider "x": no config named "no-such-config"/,
  );
  ok(await cli('config', 'del', 'fail-start'));
});

test('config put/get/del and get config', async () => {
  const put = ok(await cli('config', 'put', 'app', 'greeting=hello world', 'url=postgres://db/x?a=b'));
  expect(put.stdout).toBe('stored config app (2 values)\n');
  expect(ok(await cli('config', 'get', 'app')).stdout).toBe('greeting=hello world\nurl=postgres://db/x?a=b\n');
  const { out } = await cliJson('config', 'get', 'app');
  expect(out).toEqual({ name: 'app', values: { greeting: 'hello world', url: 'postgres://db/x?a=b' } });

  const { out: replaced } = await cliJson('config', 'put', 'app', 'greeting=hi', 'empty=');
  expect(replaced).toEqual({ ok: true, name: 'app', values: { greeting: 'hi', empty: '' } });
  expect(ok(await cli('config', 'get', 'app')).stdout).toBe('empty=\ngreeting=hi\n');

  ok(await cli('config', 'put', 'other', 'k=v'));
  const list = ok(await cli('get', 'config'));
  expect(list.stdout).toMatch(/^NAME +KEYS\napp +empty,greeting\nother +k\n$/);
  const { out: names } = await cliJson('get', 'config');
  expect(names).toEqual([
    { name: 'app', keys: ['empty', 'greeting'] },
    { name: 'other', keys: ['k'] },
  ]);

  expect(ok(await cli('config', 'del', 'other')).stdout).toBe('deleted config other\n');
  fails(
    await cli('config', 'get', 'other'),
    EXIT.NOT_FOUND,
    /^wasmesh: WASMESH_ERR_NOT_FOUND: no config named "other"$/,
  );
  fails(await cli('config', 'del', 'other'), EXIT.NOT_FOUND, /WASMESH_ERR_NOT_FOUND: no config named "other"/);
});

test('config put refuses malformed values and names (exit 2)', async () => {
  fails(
    await cli('config', 'put', 'app', 'novalue'),
    EXIT.USAGE,
    /^wasmesh: WASMESH_ERR_USAGE: config values are key=value, got "novalue"$/,
  );
  fails(await cli('config', 'put', 'app', '=v'), EXIT.USAGE, /config values are key=value, got "=v"/);
  fails(await cli('config', 'put', 'app'), EXIT.USAGE, /^wasmesh: WASMESH_ERR_USAGE: missing required argument/);
  fails(await cli('config', 'put', 'a.b', 'k=v'), EXIT.USAGE, /WASMESH_ERR_INVALID_NAME: invalid config name "a\.b"/);
  const { r, out } = await cliJson('config', 'put', 'app', 'novalue');
  expect(r.code).toBe(EXIT.USAGE);
  expect(out).toMatchObject({ ok: false, error: { code: 'WASMESH_ERR_USAGE' } });
  // Nothing changed.
  expect(ok(await cli('config', 'get', 'app')).stdout).toBe('empty=\ngreeting=hi\n');
});

test('an actor calling a contract it has no link for gets WASMESH_ERR_NO_LINK naming actor, contract and link', async () => {
  ok(await cli('start', 'actor', actorPath('testbed'), '--id', 'tb'));
  const r = await callContract('Echo', 'hi');
  fails(
    r,
    EXIT.ACTOR,
    /^wasmesh: WASMESH_ERR_HOST_CALL_FAILED: .*WASMESH_ERR_NO_LINK: actor "tb" has no link for contract "test:echo" named "default"/,
  );
  fails(
    await callContract('Echo', 'hi', 'cache'),
    EXIT.ACTOR,
    /WASMESH_ERR_NO_LINK: actor "tb" has no link for contract "test:echo" named "cache" \(add one with `wasmesh link put tb <provider-id> test:echo --name cache`\)/,
  );
});

test('link put: the actor reaches the provider, which confirms the link; get links shows it', async () => {
  const put = ok(await cli('link', 'put', 'tb', 'echo', 'test:echo'));
  expect(put.stdout).toBe('created link tb -[test:echo, link "default"]-> echo, confirmed by the provider\n');
  await until('the host to see the link', async () => (await callContract('Echo', 'hi')).code === 0);
  expect(ok(await callContract('Echo', 'through the link')).stdout).toBe('through the link');
  const described = JSON.parse(ok(await callContract('Describe', 'x')).stdout) as Record<string, unknown>;
  expect(described).toMatchObject({ providerId: 'echo', source: 'tb', linkName: 'default', operation: 'Describe' });

  const { r, out } = await cliJson('link', 'put', 'tb', 'echo', 'test:echo', '--config', 'app');
  ok(r);
  expect(out).toEqual({
    ok: true,
    link: { sourceId: 'tb', contract: 'test:echo', name: 'default', targetId: 'echo', config: ['app'] },
    replaced: true,
    confirmed: true,
  });

  const table = ok(await cli('get', 'links'));
  expect(table.stdout).toMatch(/^SOURCE +CONTRACT +NAME +TARGET +CONFIG\ntb +test:echo +default +echo +app\n$/);
  const { out: links } = await cliJson('get', 'links');
  expect(links).toEqual([
    { sourceId: 'tb', contract: 'test:echo', name: 'default', targetId: 'echo', config: ['app'] },
  ]);
});

test('link put conflicts: same actor, contract and name to another provider exits 2 naming the existing link', async () => {
  const r = await cli('link', 'put', 'tb', 'echo-provider', 'test:echo');
  fails(
    r,
    EXIT.USAGE,
    /^wasmesh: WASMESH_ERR_CONFLICT: cannot link tb -\[test:echo, link "default"\]-> echo-provider: it conflicts with the existing link tb -\[test:echo, link "default"\]-> echo; delete that link or use another link name$/,
  );
  // Under another link name it is fine, and the actor can use both.
  const named = ok(await cli('link', 'put', 'tb', 'echo-provider', 'test:echo', '--name', 'second'));
  expect(named.stdout).toMatch(/^created link tb -\[test:echo, link "second"\]-> echo-provider, confirmed/);
  await until('the host to see the second link', async () => (await callContract('Describe', '', 'second')).code === 0);
  const via = JSON.parse(ok(await callContract('Describe', '', 'second')).stdout) as Record<string, unknown>;
  expect(via).toMatchObject({ providerId: 'echo-provider', linkName: 'second', source: 'tb' });
});

test('link put refuses a provider that does not run (6), unknown config (6) and a bad contract (2)', async () => {
  fails(
    await cli('link', 'put', 'tb', 'ghost', 'test:echo', '--name', 'g'),
    EXIT.NOT_FOUND,
    /^wasmesh: WASMESH_ERR_NOT_FOUND: cannot link tb -\[test:echo, link "g"\]-> ghost: no provider "ghost" is running in the lattice$/,
  );
  fails(
    await cli('link', 'put', 'tb', 'echo', 'test:echo', '--name', 'g', '--config', 'nope'),
    EXIT.NOT_FOUND,
    /WASMESH_ERR_NOT_FOUND: cannot link .*: no config named "nope" \(create it with `wasmesh config put nope key=value`\)$/,
  );
  fails(
    await cli('link', 'put', 'tb', 'echo', 'Test.Echo'),
    EXIT.USAGE,
    /^wasmesh: WASMESH_ERR_INVALID_NAME: invalid contract "Test\.Echo"/,
  );
  fails(
    await cli('link', 'put', 'tb', 'echo', 'wasmesh:keyvalue', '--name', 'g'),
    EXIT.USAGE,
    /WASMESH_ERR_CONFLICT: cannot link .*: provider "echo" serves test:echo, not wasmesh:keyvalue/,
  );
  const { out } = await cliJson<Record<string, unknown>[]>('get', 'links');
  expect(out).toHaveLength(2);
});

test('a link config the provider rejects reaches the user with the provider error', async () => {
  ok(await cli('config', 'put', 'rejecting', 'reject=bucket "x" does not exist'));
  fails(
    await cli('link', 'put', 'tb', 'echo', 'test:echo', '--name', 'strict', '--config', 'rejecting'),
    EXIT.USAGE,
    /^wasmesh: WASMESH_ERR_CONFIG: provider "echo" rejected the link tb -\[test:echo, link "strict"\]-> echo: echo provider refuses the link: bucket "x" does not exist \(the link is stored: fix its config or delete it with `wasmesh link del`\)$/,
  );
  const { out } = await cliJson('link', 'put', 'tb', 'echo', 'test:echo', '--name', 'strict', '--config', 'rejecting');
  expect(out).toMatchObject({ ok: false, error: { code: 'WASMESH_ERR_CONFIG', provider: 'echo' } });
  ok(await cli('link', 'del', 'tb', 'test:echo', '--name', 'strict'));
});

test('a provider that never confirms: link put still succeeds and says so', async () => {
  ok(await cli('config', 'put', 'quiet', 'ignore_links=true'));
  const { out: started } = await cliJson<{ pid: number }>(
    'start',
    'provider',
    ECHO,
    '--id',
    'quiet',
    '--config',
    'quiet',
  );
  pids.add(started.pid);
  const r = ok(await cli('link', 'put', 'tb', 'quiet', 'test:echo', '--name', 'q', '--timeout-ms', '800'));
  expect(r.stdout).toBe('created link tb -[test:echo, link "q"]-> quiet\n');
  expect(r.stderr).toBe('provider "quiet" did not confirm the link within 800 ms (it is stored)\n');
  const { out } = await cliJson('link', 'put', 'tb', 'quiet', 'test:echo', '--name', 'q', '--timeout-ms', '300');
  expect(out).toMatchObject({ ok: true, replaced: true, confirmed: false });
  ok(await cli('link', 'del', 'tb', 'test:echo', '--name', 'q'));
});

test('config used by a link cannot be deleted (exit 2 naming the link)', async () => {
  fails(
    await cli('config', 'del', 'app'),
    EXIT.USAGE,
    /^wasmesh: WASMESH_ERR_CONFLICT: config "app" is used by tb -\[test:echo, link "default"\]-> echo; delete or change those links first$/,
  );
  expect(ok(await cli('config', 'get', 'app')).stdout).toContain('greeting=hi');
});

test('link del: calls fail with NO_LINK naming actor, contract and link; re-adding the link restores them', async () => {
  const del = ok(await cli('link', 'del', 'tb', 'test:echo'));
  expect(del.stdout).toBe('deleted link tb -[test:echo, link "default"]-> echo\n');
  await until('the host to drop the link', async () => (await callContract('Echo', 'x')).code !== 0);
  fails(
    await callContract('Echo', 'x'),
    EXIT.ACTOR,
    /^wasmesh: WASMESH_ERR_HOST_CALL_FAILED: host call default\/test:echo\.Echo failed: WASMESH_ERR_NO_LINK: actor "tb" has no link for contract "test:echo" named "default" .*; the guest then failed with: contract call failed: /,
  );
  // The other link still works.
  expect(ok(await callContract('Echo', 'still', 'second')).stdout).toBe('still');
  fails(
    await cli('link', 'del', 'tb', 'test:echo'),
    EXIT.NOT_FOUND,
    /^wasmesh: WASMESH_ERR_NOT_FOUND: actor "tb" has no link for contract "test:echo" named "default"$/,
  );

  ok(await cli('link', 'put', 'tb', 'echo', 'test:echo'));
  await until('the host to see the link again', async () => (await callContract('Echo', 'x')).code === 0);
  expect(ok(await callContract('Echo', 'restored')).stdout).toBe('restored');
  ok(await cli('config', 'del', 'app'));
});

test('stop provider: stops it wherever it runs, then NOT_FOUND; the actor call through its link fails', async () => {
  const before = (await cliJson<{ providerId: string; pid: number }[]>('get', 'providers')).out;
  const pid = before.find((p) => p.providerId === 'echo-provider')!.pid;
  const { r, out } = await cliJson('stop', 'provider', 'echo-provider');
  ok(r);
  expect(out).toEqual({
    ok: true,
    provider: 'echo-provider',
    hosts: [{ hostId: host.hostId, friendlyName: host.friendlyName }],
  });
  expect(isGone(pid)).toBe(true);
  const after = (await cliJson<{ providerId: string }[]>('get', 'providers')).out;
  expect(after.map((p) => p.providerId)).not.toContain('echo-provider');
  fails(
    await cli('stop', 'provider', 'echo-provider'),
    EXIT.NOT_FOUND,
    new RegExp(
      `^wasmesh: WASMESH_ERR_NOT_FOUND: provider "echo-provider" is not supervised by any host in lattice "${LATTICE}"$`,
    ),
  );
  // The link remains, the provider does not: the call finds nobody to answer.
  const call = await callContract('Echo', 'x', 'second');
  expect(call.code).toBe(EXIT.ACTOR);
  expect(call.stderr).toMatch(/WASMESH_ERR_HOST_CALL_FAILED: .*WASMESH_ERR_NO_RESPONDERS/);

  const text = ok(await cli('stop', 'provider', 'quiet', '--host', host.hostId));
  expect(text.stdout).toBe(`stopped provider quiet on host ${host.hostId}\n`);
});

test('the provider, link and config commands have --help with examples', async () => {
  const commands = [
    ['start', 'provider'],
    ['stop', 'provider'],
    ['link'],
    ['link', 'put'],
    ['link', 'del'],
    ['config'],
    ['config', 'put'],
    ['config', 'get'],
    ['config', 'del'],
    ['get', 'links'],
    ['get', 'config'],
    ['get', 'providers'],
  ];
  const results = await Promise.all(commands.map((c) => wasmesh([...c, '--help'])));
  results.forEach((r, i) => {
    expect({ command: commands[i], code: r.code }).toEqual({ command: commands[i], code: 0 });
    expect(r.stdout).toContain('Examples:');
  });
  const start = await wasmesh(['start', '--help']);
  expect(start.stdout.match(/Examples:/g)).toHaveLength(1);
  expect(start.stdout).toContain('wasmesh start actor');
  expect(start.stdout).toContain('wasmesh start provider builtin:keyvalue');
});
