/**
 * `wasmesh start provider --mode` (issue 12) as a user types it: a mode that is not in-process or
 * process is a usage error (exit 2) before anything is sent; `--help` documents the flag. On a real
 * host, a third-party provider started with `--mode process` runs, `get providers` / `get
 * inventory` show a MODE column and a `mode` field, a built-in runs in-process by default, and
 * `--mode in-process` for a module written as a process (no providerDefinition export) is refused
 * by the host, naming why. (What in-process providers do is tested with the hosts.)
 */
import { ExitCode } from '@wasmesh/lattice';
import { providerFixturePath } from '../fixtures.js';
import { HostProcess } from '../harness/host-process.js';
import { NatsServer } from '../harness/nats-server.js';
import { killIfAlive } from '../harness/processes.js';
import { natsFlags, wasmesh, type CliResult } from './run-cli.js';

const ECHO = providerFixturePath('echo-provider');

function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe('usage errors, before anything is sent (no lattice needed)', () => {
  // An address nothing listens on: reaching the lattice would fail with another status.
  const nowhere = ['--nats', 'nats://127.0.0.1:1'];

  test('an unknown mode: exit 2 naming the allowed ones', async () => {
    const r = await wasmesh(['start', 'provider', 'builtin:keyvalue', '--mode', 'thread', ...nowhere]);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.stderr).toBe(
      "wasmesh: WASMESH_ERR_USAGE: option '--mode <mode>' argument 'thread' is invalid. Allowed choices are in-process, process.\n",
    );
  });

  test('--help documents --mode with an example', async () => {
    const help = ok(await wasmesh(['start', 'provider', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain(
      `--mode <mode> in-process (inside the host process) or process (its own); default: the host's (choices: "in-process", "process")`,
    );
    expect(help).toContain('$ wasmesh start provider builtin:http-server --id http --mode process');
    expect(help).toContain(
      'A provider of your own runs in-process only if its module exports providerDefinition(env).',
    );
  });
});

describe('on a real host', () => {
  const LATTICE = `modes_${process.pid}`;
  let nats: NatsServer;
  let host: HostProcess;
  let flags: string[];
  const pids = new Set<number>();
  const cli = (...args: string[]): Promise<CliResult> => wasmesh([...args, ...flags, '--lattice', LATTICE]);

  beforeAll(async () => {
    nats = await NatsServer.start();
    flags = await natsFlags(nats, LATTICE);
    host = await HostProcess.start({ ...(await nats.processAccess(LATTICE)), lattice: LATTICE, heartbeatMs: 500 });
  }, 30_000);

  afterAll(async () => {
    await host?.[Symbol.asyncDispose]();
    await nats?.[Symbol.asyncDispose]();
    for (const pid of pids) killIfAlive(pid);
  });

  test('--mode process starts a third-party provider; get providers and get inventory show its mode', async () => {
    const started = JSON.parse(ok(await cli('start', 'provider', ECHO, '--mode', 'process', '--json')).stdout) as {
      mode: string;
      pid: number;
    };
    pids.add(started.pid);
    expect(started.mode).toBe('process');

    const list = JSON.parse(ok(await cli('get', 'providers', '--json')).stdout) as {
      providerId: string;
      mode: string;
    }[];
    expect(list).toEqual([expect.objectContaining({ providerId: 'echo-provider', mode: started.mode })]);
    const table = ok(await cli('get', 'providers')).stdout;
    expect(table).toMatch(/^PROVIDER +CONTRACT +HOST ID +MODE +PID /);
    expect(table).toMatch(new RegExp(`\\necho-provider +test:echo +${host.hostId} +process +${started.pid} `));

    const inv = JSON.parse(ok(await cli('get', 'inventory', host.hostId, '--json')).stdout) as {
      providers: { providerId: string; mode: string }[];
    };
    expect(inv.providers).toEqual([expect.objectContaining({ providerId: 'echo-provider', mode: started.mode })]);
    expect(ok(await cli('get', 'inventory', host.hostId)).stdout).toMatch(
      new RegExp(
        `\\n +PROVIDER +STATE +HEALTHY +RESTARTS +MODE +PID +REF\\n +echo-provider +\\S+ +\\S+ +\\d+ +process +`,
      ),
    );
    ok(await cli('stop', 'provider', 'echo-provider'));
  });

  test('a built-in runs in-process by default; --mode in-process for a module written as a process is refused by the host', async () => {
    const kv = JSON.parse(ok(await cli('start', 'provider', 'builtin:keyvalue', '--json')).stdout) as {
      mode: string;
      pid: number;
    };
    expect(kv).toMatchObject({ mode: 'in-process', pid: host.pid });
    ok(await cli('stop', 'provider', 'keyvalue'));
    const refused = await cli('start', 'provider', ECHO, '--mode', 'in-process');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /^wasmesh: WASMESH_ERR_BAD_REQUEST: .*cannot run in-process: it exports no providerDefinition/,
    );
  });
});
