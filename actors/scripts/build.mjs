#!/usr/bin/env node
// Generates the SDK's codecs from the .proto files (generate-codecs.mjs), then compiles every actor
// under actors/<name>/assembly/index.ts to actors/build/<name>.wasm with AssemblyScript. Skips
// actors whose sources are older than their .wasm. Then the actors written in TypeScript, as
// components (build-components.mjs).
//
// Build settings, chosen for waPC actors that get a fresh instance per invocation:
//   --runtime stub  the bump allocator never frees, which is fine because each invocation's
//                   instance (and its memory) is discarded when the call ends;
//   --use abort=    AssemblyScript's abort reports its reason through __guest_error, then traps.
import { readdirSync, statSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import asc from 'assemblyscript/asc';
import { buildComponents } from './build-components.mjs';
import { actorsDir, buildDir, actorNames } from './paths.mjs';

// The SDK's protobuf codecs come from the .proto files (sdk/assembly/gen, rewritten only when they change).
await import('./generate-codecs.mjs');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

mkdirSync(buildDir, { recursive: true });
const sdkMtime = newestMtime(path.join(actorsDir, 'sdk', 'assembly'));
let failed = false;
for (const name of actorNames()) {
  const src = path.join(actorsDir, name, 'assembly');
  const out = path.join(buildDir, `${name}.wasm`);
  if (existsSync(out) && statSync(out).mtimeMs > Math.max(sdkMtime, newestMtime(src))) continue;
  const { error, stderr } = await asc.main(
    [
      path.join(src, 'index.ts'),
      '-O3',
      '--runtime',
      'stub',
      '--noAssert',
      '--debug', // keeps the name section, so traps show function names
      '--use',
      `abort=${path.relative(process.cwd(), path.join(actorsDir, 'sdk', 'assembly', 'wapc'))}/abortHandler`,
      '--outFile',
      out,
    ],
    {},
  );
  if (error) {
    failed = true;
    process.stderr.write(`actors: ${name} failed to compile:\n${stderr.toString()}\n`);
  } else {
    process.stdout.write(`actors: built ${path.relative(process.cwd(), out)}\n`);
  }
}
if (!(await buildComponents())) failed = true;
if (failed) process.exit(1);
