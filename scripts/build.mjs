#!/usr/bin/env node
// The whole build, in dependency order: setup (toolchain checks, nats-server, redis-server), protobuf code (pbjs),
// the native runtime (cargo), the actors (AssemblyScript),
// the test fixtures (wabt + AssemblyScript), then TypeScript, then the example actors are signed
// with the development issuer (scripts/sign-examples.mjs). Run by `npm install` (prepare) and
// before `npm test`. Every step is incremental, so a warm run takes seconds.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const steps = [
  ['setup (toolchains, nats-server, redis-server)', ['bash', 'scripts/setup.sh']],
  ['protobuf code', ['proto/scripts/generate.mjs']],
  ['native runtime', ['host/scripts/build-native.mjs']],
  ['actors', ['actors/scripts/build.mjs']],
  ['test fixtures', ['test/scripts/build-fixtures.mjs']],
  ['typescript', ['node_modules/typescript/bin/tsc', '--build']],
  ['example actors signed (development issuer)', ['scripts/sign-examples.mjs']],
];
for (const [name, args] of steps) {
  const started = Date.now();
  const [cmd, ...rest] = args[0] === 'bash' ? args : [process.execPath, ...args];
  const res = spawnSync(cmd, rest, { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) {
    console.error(`build: ${name} failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status ?? 1);
  }
  console.log(`build: ${name} ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
