#!/usr/bin/env node
// Builds the test fixtures into test/build/: every fixtures/wat/*.wat with wabt, and the
// third-party-SDK guest (fixtures/wapc-as-guest) with AssemblyScript and @wapc/as-guest as published;
// then the wascap interop program (build-wascap-interop.mjs).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import initWabt from 'wabt';

const testDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(testDir, 'build');
mkdirSync(out, { recursive: true });

const wabt = await initWabt();
const watDir = path.join(testDir, 'fixtures', 'wat');
for (const file of readdirSync(watDir).filter((f) => f.endsWith('.wat'))) {
  const mod = wabt.parseWat(file, readFileSync(path.join(watDir, file), 'utf8'));
  mod.validate();
  writeFileSync(path.join(out, file.replace(/\.wat$/, '.wasm')), Buffer.from(mod.toBinary({}).buffer));
  mod.destroy();
}

const guestDir = path.join(testDir, 'fixtures', 'wapc-as-guest');
const { error, stderr } = await asc.main([
  path.join(guestDir, 'index.ts'),
  '-O3',
  '--use',
  `abort=${path.relative(process.cwd(), path.join(guestDir, 'index'))}/abort`,
  '--outFile',
  path.join(out, 'wapc-as-guest.wasm'),
]);
if (error) {
  process.stderr.write(`fixtures: wapc-as-guest failed to compile:\n${stderr.toString()}\n`);
  process.exit(1);
}
process.stdout.write(`fixtures: built ${path.relative(process.cwd(), out)}\n`);

await import('./build-wascap-interop.mjs');
