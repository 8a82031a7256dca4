/**
 * `wasmesh run` and `wasmesh inspect` as a user drives them: output, `--json`, one-line errors
 * with codes on stderr, and distinct exit statuses.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ExitCode } from '@wasmesh/lattice';
import { actorPath, fixturePath } from '../fixtures.js';
import { tempDir } from '../runtime/helpers.js';
import { wasmesh } from './run-cli.js';

const cacheEnv = { WASMESH_CACHE_DIR: tempDir('wasmesh-cli-cache-') };
const run = (args: string[]) => wasmesh(['run', ...args], cacheEnv);

test('run writes the response bytes to stdout', async () => {
  const r = await run([actorPath('hello'), 'SayHello', '--data', 'World']);
  expect(r).toMatchObject({ code: ExitCode.OK, stdout: 'Hello, World!' });
});

test('run --data-file sends the file bytes as they are', async () => {
  const file = path.join(tempDir(), 'req.bin');
  const bytes = Buffer.from([0, 1, 2, 255, 254, 10]);
  writeFileSync(file, bytes);
  const r = await run([actorPath('echo'), 'Echo', '--data-file', file, '--json']);
  expect(r.code).toBe(ExitCode.OK);
  expect(JSON.parse(r.stdout).response).toEqual({ encoding: 'base64', data: bytes.toString('base64') });
});

test('run --json describes the call, and a second process loads the precompiled artifact from disk', async () => {
  const env = { WASMESH_CACHE_DIR: tempDir('wasmesh-cli-cache-') };
  const first = JSON.parse((await wasmesh(['run', actorPath('fib'), 'Fib', '--data', '20', '--json'], env)).stdout);
  expect(first).toMatchObject({
    ok: true,
    operation: 'Fib',
    actor: { source: 'compiled', hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    response: { encoding: 'utf8', data: '6765' },
  });
  const second = JSON.parse((await wasmesh(['run', actorPath('fib'), 'Fib', '--data', '20', '--json'], env)).stdout);
  expect(second.actor.source).toBe('disk');
});

test.each([
  [['run', actorPath('echo')], /missing required argument 'operation'/],
  [
    ['run', actorPath('echo'), 'Echo', '--timeout-ms', 'soon'],
    /--timeout-ms expects an integer in 1\.\.3600000, got "soon"/,
  ],
  [['run', actorPath('echo'), 'Echo', '--max-memory-mb', '0'], /--max-memory-mb expects an integer/],
  [
    ['run', actorPath('echo'), 'Echo', '--data', 'a', '--data-file', 'b'],
    /cannot be used with|either --data or --data-file/,
  ],
  [['run', '/no/such/file.wasm', 'Echo'], /WASMESH_ERR_USAGE: cannot read actor "\/no\/such\/file.wasm": ENOENT/],
  [['run', actorPath('echo'), 'Echo', '--bogus'], /unknown option '--bogus'/],
])('usage error %j exits 2 with a clear line', async (args, pattern) => {
  const r = await wasmesh(args, cacheEnv);
  expect(r.code).toBe(ExitCode.USAGE);
  expect(r.stderr).toMatch(pattern);
  expect(r.stdout).toBe('');
});

test('run, inspect and push read only regular files of at most 64 MiB, and refuse others at once', async () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'fifo.wasm');
  const huge = path.join(dir, 'huge.wasm');
  execFileSync('mkfifo', [fifo]);
  // Sparse: one byte over the cap, without using the disk.
  execFileSync('truncate', ['-s', String(64 * 1024 * 1024 + 1), huge]);
  for (const [args, code, pattern] of [
    [
      ['run', '/dev/zero', 'X'],
      ExitCode.USAGE,
      /WASMESH_ERR_BAD_REQUEST: refused the actor "\/dev\/zero": it is a character device, not a regular file/,
    ],
    [
      ['push', '/dev/zero', '--nats', 'nats://127.0.0.1:1'],
      ExitCode.USAGE,
      /WASMESH_ERR_BAD_REQUEST: refused the module "\/dev\/zero": it is a character device/,
    ],
    [
      ['inspect', '/dev/zero'],
      ExitCode.USAGE,
      /WASMESH_ERR_BAD_REQUEST: refused the module "\/dev\/zero": it is a character device/,
    ],
    [['run', fifo, 'X'], ExitCode.USAGE, /it is a FIFO, not a regular file/],
    [['run', dir, 'X'], ExitCode.USAGE, /it is a directory, not a regular file/],
    [
      ['run', actorPath('echo'), 'Echo', '--data-file', '/dev/zero'],
      ExitCode.USAGE,
      /refused the data file "\/dev\/zero"/,
    ],
    [
      ['inspect', huge],
      ExitCode.LIMIT,
      /WASMESH_ERR_TOO_LARGE: refused the module ".*": it is larger than the limit of 67108864 bytes/,
    ],
  ] as const) {
    const started = Date.now();
    const r = await wasmesh([...args], cacheEnv);
    expect({ args, code: r.code }).toEqual({ args, code });
    expect(r.stderr).toMatch(pattern);
    expect(Date.now() - started).toBeLessThan(5000);
  }
});

test('actor errors exit 3 with the code on one stderr line', async () => {
  const r = await run([actorPath('hello'), 'Nope']);
  expect(r.code).toBe(ExitCode.ACTOR);
  expect(r.stderr.trim().split('\n')).toEqual([
    'wasmesh: WASMESH_ERR_UNKNOWN_OPERATION: unknown operation `Nope`: No handler registered for function "Nope"',
  ]);
  const trap = await run([actorPath('testbed'), 'Trap']);
  expect(trap.code).toBe(ExitCode.ACTOR);
  expect(trap.stderr).toMatch(/^wasmesh: WASMESH_ERR_TRAP: guest trapped \(unreachable\)/);
  const notWasm = await run([path.join(path.dirname(actorPath('echo')), '..', 'package.json'), 'X']);
  expect(notWasm.code).toBe(ExitCode.ACTOR);
  expect(notWasm.stderr).toMatch(/WASMESH_ERR_INVALID_MODULE: invalid module: not a WebAssembly binary/);
});

test('limits exit 4: deadline, memory, fuel', async () => {
  const timeout = await run([actorPath('testbed'), 'Spin', '--timeout-ms', '100']);
  expect(timeout.code).toBe(ExitCode.LIMIT);
  expect(timeout.stderr).toMatch(/WASMESH_ERR_TIMEOUT: invocation exceeded its deadline of 100 ms/);
  const memory = await run([actorPath('testbed'), 'GrowMemory', '--max-memory-mb', '2']);
  expect(memory.code).toBe(ExitCode.LIMIT);
  expect(memory.stderr).toMatch(/WASMESH_ERR_MEMORY_LIMIT/);
  const fuel = await run([actorPath('fib'), 'Fib', '--data', '25', '--fuel', '1000']);
  expect(fuel.code).toBe(ExitCode.LIMIT);
  expect(fuel.stderr).toMatch(/WASMESH_ERR_FUEL_EXHAUSTED/);
});

test('errors with --json are one JSON object on stdout with the code and details', async () => {
  const r = await run([actorPath('testbed'), 'Recurse', '--json']);
  expect(r.code).toBe(ExitCode.ACTOR);
  expect(JSON.parse(r.stdout)).toMatchObject({
    ok: false,
    error: { code: 'WASMESH_ERR_TRAP', trapCode: 'stack_overflow', actor: 'testbed.wasm', operation: 'Recurse' },
  });
});

test('guest log lines go to stderr, tagged with the actor, never mixed into the response', async () => {
  const r = await run([actorPath('testbed'), 'Log', '--data', 'hi']);
  expect(r).toMatchObject({ code: 0, stdout: 'logged' });
  expect(r.stderr).toContain('[testbed.wasm] testbed says: hi');
});

test('inspect shows hash, size, imports, exports and the actor verdict', async () => {
  // testbed: the one example the build does not sign (signed modules: test/src/cli/signing.test.ts).
  const r = await wasmesh(['inspect', actorPath('testbed')]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/sha256: +[0-9a-f]{64}/);
  expect(r.stdout).toMatch(/kind: +core module \(waPC\)/);
  expect(r.stdout).toMatch(/actor: +yes/);
  expect(r.stdout).toMatch(/claims: +none/);
  expect(r.stdout).toMatch(/wapc\.__guest_request +func \(i32, i32\) -> \(\)/);
  expect(r.stdout).toMatch(/__guest_call +func \(i32, i32\) -> \(i32\)/);

  const j = JSON.parse((await wasmesh(['inspect', fixturePath('no-guest-call'), '--json'])).stdout);
  expect(j).toMatchObject({
    validActor: false,
    claims: null,
    problem: { code: 'WASMESH_ERR_MISSING_EXPORT' },
    exports: expect.arrayContaining([{ name: 'add', type: 'func (i32, i32) -> (i32)' }]),
  });
});

test('inspect of a file that is not wasm exits 3', async () => {
  const r = await wasmesh(['inspect', path.join(path.dirname(actorPath('echo')), '..', 'package.json')]);
  expect(r.code).toBe(ExitCode.ACTOR);
  expect(r.stderr).toMatch(/WASMESH_ERR_INVALID_MODULE/);
});

test('every command has --help with examples', async () => {
  for (const args of [['--help'], ['run', '--help'], ['inspect', '--help']]) {
    const r = await wasmesh(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
  }
});
