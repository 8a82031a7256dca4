/** Paths of compiled test fixtures and example actors. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { actorPath } from '@wasmesh/actors';

/** test/build, where scripts/build-fixtures.mjs writes fixture modules. */
export const fixtureBuildDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'build');

/** Path of fixture `name` (from fixtures/wat/<name>.wat, or `wapc-as-guest`). */
export function fixturePath(name: string): string {
  return path.join(fixtureBuildDir, `${name}.wasm`);
}

export { actorPath };

/** test/fixtures/providers, where provider fixtures (plain ESM entry modules) live. */
export const providerFixtureDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'providers',
);

/** Path of provider fixture `name` (test/fixtures/providers/<name>.mjs). */
export function providerFixturePath(name: string): string {
  return path.join(providerFixtureDir, `${name}.mjs`);
}

/**
 * What testbed-ts's `/kv/<store>` route answers on an empty store: each wasi:keyvalue step and its
 * result (the runtime and lattice tests of components expect the same).
 */
export const TESTBED_KV_STEPS = [
  ['get', 'hello'],
  ['get-missing', null],
  ['exists', true],
  ['increment', '5'],
  ['increment-0', '5'],
  ['get-many', [['greeting', 'hello'], null]],
  ['list-keys', ['count', 'greeting']],
  ['exists-after-delete', false],
];
