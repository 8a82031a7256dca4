/**
 * The commands npm links (`bin` fields of every workspace): each is a committed, executable shim
 * that imports a built entry module, so the first `npm install` of a fresh clone links working
 * bins (npm links nothing for a bin whose file does not exist yet, and dist/ is built later, by
 * `prepare`). See scripts/run-built.mjs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../runtime/helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const readJson = (file: string) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));

interface Bin {
  name: string;
  /** Path of the shim, relative to the repository root. */
  shim: string;
}

const bins: Bin[] = (readJson('package.json').workspaces as string[]).flatMap((ws) =>
  Object.entries((readJson(path.join(ws, 'package.json')).bin ?? {}) as Record<string, string>).map(([name, file]) => ({
    name,
    shim: path.posix.join(ws, file),
  })),
);
const SHIM_CALL = /^await runBuilt\(import\.meta\.url, '([^']+)'\);$/m;

test('the workspaces declare their bins (cli, the services, the operator, the providers)', () => {
  expect(bins.map((b) => b.name).sort()).toEqual([
    'wasmesh',
    'wasmesh-gateway',
    'wasmesh-host',
    'wasmesh-operator',
    'wasmesh-provider-http-server',
    'wasmesh-provider-keyvalue',
    'wasmesh-provider-messaging',
    'wasmesh-reconciler',
  ]);
});

test('package-lock.json records the same bins (npm ci links bins from the lock)', () => {
  const locked = readJson('package-lock.json').packages as Record<string, { bin?: Record<string, string> }>;
  for (const ws of readJson('package.json').workspaces as string[]) {
    expect([ws, locked[ws]?.bin]).toEqual([ws, readJson(path.join(ws, 'package.json')).bin]);
  }
});

test.each(bins)('bin $name is a committed executable shim whose built entry exists', ({ shim }) => {
  // Mode 100755 in git: a fresh clone gets it executable, as npm needs.
  const staged = execFileSync('git', ['ls-files', '--stage', '--', shim], { cwd: root, encoding: 'utf8' });
  expect(staged).toMatch(/^100755 /);
  const text = readFileSync(path.join(root, shim), 'utf8');
  expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
  const entry = SHIM_CALL.exec(text)?.[1];
  expect(entry).toMatch(/^\.\.\/dist\/.+\.js$/);
  expect(existsSync(path.resolve(path.dirname(path.join(root, shim)), entry!))).toBe(true);
});

test('the linked wasmesh runs through its shim and prints the version', () => {
  const linked = path.join(root, 'node_modules', '.bin', 'wasmesh');
  const res = spawnSync(linked, ['--version'], { encoding: 'utf8' });
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  expect(res.stdout.trim()).toBe(readJson('cli/package.json').version);
});

test('a shim whose entry is not built yet says how to build it', () => {
  const dir = tempDir();
  for (const file of ['scripts/run-built.mjs', 'cli/bin/wasmesh.js']) {
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    copyFileSync(path.join(root, file), path.join(dir, file));
  }
  const res = spawnSync(process.execPath, [path.join(dir, 'cli/bin/wasmesh.js'), '--version'], { encoding: 'utf8' });
  expect(res.status).toBe(1);
  expect(res.stdout).toBe('');
  expect(res.stderr).toBe(
    `wasmesh: cli/dist/wasmesh.js does not exist: wasmesh is not built yet; run \`npm install\` (or \`npm run build\`) in ${dir}\n`,
  );
});
