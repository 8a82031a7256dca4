#!/usr/bin/env node
// Generates static protobufjs code and its TypeScript declarations for every .proto under
// proto/wasmesh into proto/gen/ (not committed; the build makes it). Skips work when nothing changed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const genDir = path.join(protoDir, 'gen');
const out = path.join(genDir, 'wasmesh.js');
const dts = path.join(genDir, 'wasmesh.d.ts');

function protoFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return protoFiles(p);
    return e.name.endsWith('.proto') ? [p] : [];
  });
}

const files = protoFiles(path.join(protoDir, 'wasmesh')).sort();
const newest = Math.max(...files.map((f) => statSync(f).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
if (existsSync(out) && existsSync(dts) && statSync(dts).mtimeMs > newest) process.exit(0);

mkdirSync(genDir, { recursive: true });
const bin = (name) => path.join(protoDir, '..', 'node_modules', 'protobufjs-cli', 'bin', name);
execFileSync(
  process.execPath,
  [
    bin('pbjs'),
    '-t',
    'static-module',
    '-w',
    'es6',
    '--force-number',
    '--no-verify',
    '--no-delimited',
    '--no-convert',
    '-p',
    protoDir,
    '-o',
    out,
    ...files,
  ],
  { cwd: protoDir, stdio: 'inherit' },
);
// Node's ESM loader needs the file extension on the protobufjs subpath import, and the CommonJS
// module's exports arrive as its default export (a namespace import would not see them).
writeFileSync(
  out,
  readFileSync(out, 'utf8').replace(
    'import * as $protobuf from "protobufjs/minimal";',
    'import $protobuf from "protobufjs/minimal.js";\n' +
      '// 64-bit fields decode to JS numbers (exact to 2^53: our ids, timestamps and counters fit).\n' +
      '$protobuf.util.Long = undefined;\n$protobuf.configure();',
  ),
);
execFileSync(process.execPath, [bin('pbts'), '--no-comments', '-o', dts, out], { cwd: protoDir, stdio: 'inherit' });
process.stdout.write(`proto: generated ${path.relative(process.cwd(), out)} from ${files.length} files\n`);
