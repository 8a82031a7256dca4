/**
 * `wasmesh up` with a home it cannot use fails at once with one line and exit status 2 (issue 10:
 * `up --home /proc/nope` hung silently, in Node's recursive mkdir). Nothing is started.
 */
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../runtime/helpers.js';
import { wasmesh } from './run-cli.js';

let dir: string;

beforeAll(() => {
  dir = tempDir('up-home');
  writeFileSync(path.join(dir, 'a-file'), 'not a directory');
});

test.each([
  [
    'a path the file system will not create',
    () => '/proc/nope',
    /"\/proc\/nope" cannot be used: cannot create \/proc\/nope/,
  ],
  ['a file', () => path.join(dir, 'a-file'), /cannot be used: it is a file, not a directory/],
  [
    'a path through a file',
    () => path.join(dir, 'a-file', 'home'),
    /cannot be used: cannot create .*: a part of the path is a file, not a directory/,
  ],
  ['a directory nobody may write in', () => '/proc', /"\/proc" cannot be used: cannot write in it/],
])(
  '--home %s: one usage error line, at once',
  async (_what, home, message) => {
    const started = Date.now();
    const res = await wasmesh(['up', '--home', home()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^wasmesh: WASMESH_ERR_USAGE: --home \(env WASMESH_HOME\) /);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  },
  30_000,
);

test('WASMESH_HOME is checked the same way, and --json reports the error as JSON', async () => {
  const res = await wasmesh(['up', '--json'], { WASMESH_HOME: path.join(dir, 'a-file') });
  expect(res.code).toBe(2);
  expect(JSON.parse(res.stdout)).toMatchObject({
    ok: false,
    error: { code: 'WASMESH_ERR_USAGE', home: path.join(dir, 'a-file') },
  });
});

test('a home that does not exist yet is made, parents included', async () => {
  // A missing manifest stops `up` right after it made its home, before anything starts.
  const home = path.join(dir, 'new', 'nested', 'home');
  const res = await wasmesh(['up', '--home', home, '--manifest', path.join(dir, 'missing.yaml')]);
  expect(res.code).toBe(2);
  expect(res.stderr).not.toContain('--home');
  expect(statSync(home).isDirectory()).toBe(true);
});
