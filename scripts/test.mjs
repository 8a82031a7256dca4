#!/usr/bin/env node
// `npm test`: the Rust runtime crate's tests (cargo test, release profile so the build is shared
// with the addon), then every jest suite (compiled ESM under */dist). Extra arguments go to jest,
// e.g. `npm test -- runtime`.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = {
  ...process.env,
  CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'cargo-target'),
};
/** A run that takes longer than this is stuck (the whole suite takes a few minutes): it fails loudly. */
const WATCHDOG_MS = Number(process.env.WASMESH_TEST_WATCHDOG_MS) || 45 * 60_000;
const run = (cmd, args, extraEnv = {}) => {
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...env, ...extraEnv },
    timeout: WATCHDOG_MS,
    killSignal: 'SIGKILL',
  });
  if (r.error?.code === 'ETIMEDOUT') {
    process.stderr.write(`test: ${cmd} ${args[0] ?? ''} ran longer than ${WATCHDOG_MS} ms and was killed\n`);
  }
  return r.status ?? 1;
};

const jestArgs = process.argv.slice(2);
if (jestArgs.length === 0) {
  const cargo = run(process.env.CARGO || 'cargo', [
    'test',
    '--release',
    '--locked',
    '--manifest-path',
    'host/runtime/Cargo.toml',
    '-p',
    'wasmesh-runtime',
  ]);
  if (cargo !== 0) process.exit(cargo);
}
const jest = run(process.execPath, ['node_modules/jest/bin/jest.js', ...jestArgs], {
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings --expose-gc`.trim(),
});
process.exit(jest);
