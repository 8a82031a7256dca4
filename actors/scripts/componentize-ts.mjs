// Builds one actor written in TypeScript into a WebAssembly component that serves wasi:http,
// through componentize-js (a JS engine, StarlingMonkey, embedded in the component with the actor's
// code preinitialized). Used by the build of the example actors (build-components.mjs) and copied
// into every project `wasmesh new actor --lang ts` makes, so both build the same way:
//
//   node componentize-ts.mjs <src/index.ts> <wit/world.wit> <out.wasm>
//
// The TypeScript is type-checked (strict, with the web worker's globals StarlingMonkey provides:
// fetch events, Request, Response, URL, …, and the typings of the interfaces wasmesh provides) and
// transpiled to one ES module. A build takes 5 to 20 s on 2 cores, and the component is 10+ MB.
//
// The interfaces wasmesh provides beyond WASI 0.2 (wasi:keyvalue, wasi:logging, wasi:config) come
// with wasmesh: their WIT under `deps/` and the TypeScript view of them under `types/`, in
// proto/wit in the repository and in `wasmesh-wit/` next to this script in a project
// `wasmesh new actor` made.
//
// The WASI WIT the world refers to comes from jco (an npm dependency of componentize-js), the one
// copy of it on the package registries. Its version is a later 0.2 point release than the one
// componentize-js's engine is built against, so the build relabels it with the engine's version
// (read from the engine itself). WASI 0.2 point releases only add items, and componentize-js checks
// the engine's imports against this WIT when it builds the component, so a mismatch fails the
// build rather than making a broken component.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The directory of an installed package, looked up from `from` as Node resolves packages. */
function packageDir(name, from) {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`cannot find the package ${name} (is @bytecodealliance/componentize-js installed?)`);
}

/** The WASI version componentize-js's engine imports, e.g. `0.2.10`. */
function engineWasiVersion(componentizeDir) {
  const engine = readFileSync(path.join(componentizeDir, 'lib', 'starlingmonkey_embedding.wasm')).toString('latin1');
  const found = /wasi:http\/incoming-handler@(0\.2\.\d+)/.exec(engine);
  if (!found) throw new Error('cannot tell which WASI version the componentize-js engine imports');
  return found[1];
}

/** Writes the WASI WIT packages, labelled `version`, into `depsDir`; returns the version they came with. */
function writeWasiDeps(jcoDir, version, depsDir) {
  const builtin = path.join(jcoDir, 'lib', 'wit', 'builtin');
  const shipped = readdirSync(builtin)
    .filter((v) => /^0\.2\.\d+$/.test(v))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))
    .pop();
  if (!shipped) throw new Error(`jco ships no WASI 0.2 WIT under ${builtin}`);
  rmSync(depsDir, { recursive: true, force: true });
  for (const pkg of readdirSync(path.join(builtin, shipped))) {
    mkdirSync(path.join(depsDir, pkg), { recursive: true });
    for (const file of readdirSync(path.join(builtin, shipped, pkg)).filter((f) => f.endsWith('.wit'))) {
      const wit = readFileSync(path.join(builtin, shipped, pkg, file), 'utf8').replaceAll(`@${shipped}`, `@${version}`);
      writeFileSync(path.join(depsDir, pkg, file), wit);
    }
  }
  return shipped;
}

/** The directory of wasmesh's own WIT packages (`deps/`) and their typings (`types/`). */
function wasmeshWitDir() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, 'wasmesh-wit'), path.join(here, '..', '..', 'proto', 'wit')]) {
    if (existsSync(path.join(dir, 'deps'))) return dir;
  }
  throw new Error(`cannot find wasmesh's WIT (wasmesh-wit/ next to ${here})`);
}

/** Throws with the compiler's messages if `file` does not type-check (with the typings in `typesDir`). */
function typeCheck(file, typesDir) {
  const typings = readdirSync(typesDir)
    .filter((f) => f.endsWith('.d.ts'))
    .map((f) => path.join(typesDir, f));
  const program = ts.createProgram([file, ...typings], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    lib: ['lib.es2022.d.ts', 'lib.webworker.d.ts', 'lib.webworker.iterable.d.ts'],
    types: [],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
    throw new Error(ts.formatDiagnostics(diagnostics, host));
  }
}

/**
 * Builds the TypeScript module `source` with the WIT world in `world` into the component `out`,
 * working in `workDir` (the transpiled module and the WIT directory are left there). Returns the
 * component's size and the WASI versions (`shipped` by jco, `engine`'s label).
 */
export async function componentizeTs({ source, world, out, workDir }) {
  const componentizeDir = path.dirname(
    path.dirname(fileURLToPath(import.meta.resolve('@bytecodealliance/componentize-js'))),
  );
  const { componentize } = await import('@bytecodealliance/componentize-js');
  const wasmeshWit = wasmeshWitDir();
  typeCheck(source, path.join(wasmeshWit, 'types'));
  mkdirSync(workDir, { recursive: true });
  const jsPath = path.join(workDir, `${path.basename(out, '.wasm')}.js`);
  const js = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: path.basename(source),
  }).outputText;
  writeFileSync(jsPath, js);
  // The world and the WASI packages as one WIT directory (real files: componentize-js reads it
  // through a WASI sandbox that follows no links).
  const worldText = readFileSync(world, 'utf8');
  const worldName = /^\s*world\s+([a-z][a-z0-9-]*)/m.exec(worldText)?.[1];
  if (!worldName) throw new Error(`${world} declares no world`);
  const witDir = path.join(workDir, `${path.basename(out, '.wasm')}-wit`);
  rmSync(witDir, { recursive: true, force: true });
  mkdirSync(witDir, { recursive: true });
  writeFileSync(path.join(witDir, 'world.wit'), worldText);
  const engine = engineWasiVersion(componentizeDir);
  const shipped = writeWasiDeps(
    packageDir('@bytecodealliance/jco', componentizeDir),
    engine,
    path.join(witDir, 'deps'),
  );
  for (const pkg of readdirSync(path.join(wasmeshWit, 'deps'))) {
    cpSync(path.join(wasmeshWit, 'deps', pkg), path.join(witDir, 'deps', pkg), { recursive: true });
  }
  const { component } = await componentize({ sourcePath: jsPath, witPath: witDir, worldName });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, component);
  return { bytes: component.length, wasi: { shipped, engine } };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [source, world, out] = process.argv.slice(2);
  if (!source || !world || !out) {
    process.stderr.write('usage: node componentize-ts.mjs <src/index.ts> <wit/world.wit> <out.wasm>\n');
    process.exit(2);
  }
  try {
    const started = Date.now();
    const { bytes } = await componentizeTs({ source, world, out, workDir: path.join(path.dirname(out), '.build') });
    process.stdout.write(
      `built ${out} (component, ${(bytes / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
    );
  } catch (err) {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  }
}
