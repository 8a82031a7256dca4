/**
 * `wasmesh new actor --lang ts`: a new TypeScript actor project that builds, with its own build
 * script and nothing but npm packages, into a component the runtime serves; and the refusals that
 * lose nothing (an existing folder, a bad name, a language not scaffolded).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ExitCode } from '@wasmesh/lattice';
import { contracts } from '@wasmesh/proto';
import { fixtureBuildDir } from '../fixtures.js';
import { newRuntime } from '../runtime/helpers.js';
import { wasmesh } from './run-cli.js';

/** Projects are made inside the repository, so their build finds the workspace's npm packages. */
const made: string[] = [];
const parent = (): string => {
  const dir = mkdtempSync(path.join(fixtureBuildDir, 'new-actor-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const repoRoot = path.resolve(fixtureBuildDir, '..', '..');

test('a new TypeScript actor builds into a component that answers HTTP', async () => {
  const dir = parent();
  const made = await wasmesh(['new', 'actor', '--lang', 'ts', 'greeter', '--dir', dir, '--json']);
  expect(made.code).toBe(ExitCode.OK);
  const project = path.join(dir, 'greeter');
  expect(JSON.parse(made.stdout)).toEqual({
    ok: true,
    dir: project,
    files: [
      '.gitignore',
      'README.md',
      'componentize-ts.mjs',
      'package.json',
      'src/index.ts',
      'tsconfig.json',
      'wasmesh-wit/deps/config/store.wit',
      'wasmesh-wit/deps/keyvalue/store.wit',
      'wasmesh-wit/deps/logging/logging.wit',
      'wasmesh-wit/types/wasi-keyvalue.d.ts',
      'wasmesh-wit/types/wasi-logging-config.d.ts',
      'wit/world.wit',
    ],
  });
  // It pins what the examples are built with.
  const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8'));
  const actors = JSON.parse(readFileSync(path.join(repoRoot, 'actors', 'package.json'), 'utf8'));
  const root = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  expect(pkg.devDependencies).toEqual({
    '@bytecodealliance/componentize-js': actors.devDependencies['@bytecodealliance/componentize-js'],
    '@bytecodealliance/preview2-shim': root.devDependencies['@bytecodealliance/preview2-shim'],
    typescript: root.devDependencies.typescript,
  });
  expect(pkg.overrides).toEqual(root.overrides);
  expect(readFileSync(path.join(project, 'wit', 'world.wit'), 'utf8')).toMatch(/^package local:greeter;$/m);

  // Its build script (what `npm run build` runs), with a change of the greeting.
  const source = path.join(project, 'src', 'index.ts');
  writeFileSync(source, readFileSync(source, 'utf8').replace('return `Hello, ', 'return `Greetings, '));
  await promisify(execFile)(
    process.execPath,
    ['componentize-ts.mjs', 'src/index.ts', 'wit/world.wit', 'build/greeter.wasm'],
    {
      cwd: project,
    },
  );
  const runtime = newRuntime();
  try {
    const actor = await runtime.load(readFileSync(path.join(project, 'build', 'greeter.wasm')), { name: 'greeter' });
    const request = contracts.HttpRequest.encode({
      method: 'GET',
      path: '/hello/Ada',
      headers: [{ name: 'host', value: 'x' }],
    }).finish();
    const answer = contracts.HttpResponse.decode(await actor.invoke('HttpServer.HandleRequest', Buffer.from(request)));
    expect(answer.status).toBe(200);
    expect(Buffer.from(answer.body).toString()).toBe('Greetings, Ada!\n');
  } finally {
    runtime.close();
  }
}, 120_000);

test('a type error fails the build with the compiler message', async () => {
  const dir = parent();
  expect((await wasmesh(['new', 'actor', '--lang', 'ts', 'broken', '--dir', dir])).code).toBe(ExitCode.OK);
  const project = path.join(dir, 'broken');
  writeFileSync(path.join(project, 'src', 'index.ts'), 'const n: number = "not a number";\nexport {};\n');
  const err = (await promisify(execFile)(
    process.execPath,
    ['componentize-ts.mjs', 'src/index.ts', 'wit/world.wit', 'build/broken.wasm'],
    { cwd: project },
  ).catch((e: unknown) => e)) as { code: number; stderr: string };
  expect(err.code).toBe(1);
  expect(err.stderr).toMatch(/src\/index\.ts\(1,7\): error TS2322: Type 'string' is not assignable to type 'number'/);
});

test('new actor refuses an existing folder, a bad name and a language it does not scaffold, writing nothing', async () => {
  const dir = parent();
  mkdirSync(path.join(dir, 'taken'));
  writeFileSync(path.join(dir, 'taken', 'keep.txt'), 'mine');
  const taken = await wasmesh(['new', 'actor', '--lang', 'ts', 'taken', '--dir', dir]);
  expect(taken).toMatchObject({ code: ExitCode.USAGE, stderr: expect.stringContaining('exists and is not empty') });
  expect(readdirSync(path.join(dir, 'taken'))).toEqual(['keep.txt']);
  expect(readFileSync(path.join(dir, 'taken', 'keep.txt'), 'utf8')).toBe('mine');
  const badName = await wasmesh(['new', 'actor', '--lang', 'ts', 'Bad_Name', '--dir', dir]);
  expect(badName).toMatchObject({ code: ExitCode.USAGE, stderr: expect.stringContaining('lower case letters') });
  const go = await wasmesh(['new', 'actor', '--lang', 'go', 'x', '--dir', dir, '--json']);
  expect(go.code).toBe(ExitCode.USAGE);
  expect(JSON.parse(go.stdout)).toMatchObject({ ok: false, error: { code: 'WASMESH_ERR_USAGE', lang: 'go' } });
});
