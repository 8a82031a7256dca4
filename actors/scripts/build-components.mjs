// Builds the example actors written in TypeScript as WebAssembly components: every
// actors/<name>/component/index.ts, with the WIT world next to it (component/world.wit), becomes
// actors/build/<name>.wasm through componentize-js (a JS engine, StarlingMonkey, embedded in the
// component with the actor's code preinitialized). Skips actors whose sources are older than their
// .wasm. A build takes about 20 s per actor on 2 cores, and the component is 10+ MB.
//
// The TypeScript is type-checked (strict, with the web worker's globals StarlingMonkey provides:
// fetch events, Request, Response, URL, …) and transpiled to one ES module.
//
// The WASI WIT the worlds refer to comes from jco (an npm dependency of componentize-js), the one
// copy of it on the package registries. Its version is a later 0.2 point release than the one
// componentize-js's engine is built against, so the build relabels it with the engine's version
// (read from the engine itself). WASI 0.2 point releases only add items, and componentize-js checks
// the engine's imports against this WIT when it builds the component, so a mismatch fails the
// build rather than making a broken component.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { actorsDir, buildDir, componentActorNames } from './paths.mjs';

/** The newest modification time of the files under `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The directory of an installed package, found from componentize-js (whose dependency jco is). */
function packageDir(name, from) {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`actors: cannot find the package ${name} (is @bytecodealliance/componentize-js installed?)`);
}

/** The WASI version componentize-js's engine imports, e.g. `0.2.10`. */
function engineWasiVersion(componentizeDir) {
  const engine = readFileSync(path.join(componentizeDir, 'lib', 'starlingmonkey_embedding.wasm')).toString('latin1');
  const found = /wasi:http\/incoming-handler@(0\.2\.\d+)/.exec(engine);
  if (!found) throw new Error('actors: cannot tell which WASI version the componentize-js engine imports');
  return found[1];
}

/** Writes the WASI WIT packages, labelled `version`, into `depsDir`; returns the version they came with. */
function writeWasiDeps(jcoDir, version, depsDir) {
  const builtin = path.join(jcoDir, 'lib', 'wit', 'builtin');
  const shipped = readdirSync(builtin)
    .filter((v) => /^0\.2\.\d+$/.test(v))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))
    .pop();
  if (!shipped) throw new Error(`actors: jco ships no WASI 0.2 WIT under ${builtin}`);
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

/** Throws with the compiler's messages if `file` does not type-check. */
function typeCheck(file) {
  const program = ts.createProgram([file], {
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

/** Builds every component actor that is out of date; returns false if one failed. */
export async function buildComponents() {
  const names = componentActorNames();
  const stale = names.filter((name) => {
    const out = path.join(buildDir, `${name}.wasm`);
    return !existsSync(out) || statSync(out).mtimeMs <= newestMtime(path.join(actorsDir, name, 'component'));
  });
  if (stale.length === 0) return true;
  const componentizeDir = path.dirname(
    path.dirname(fileURLToPath(import.meta.resolve('@bytecodealliance/componentize-js'))),
  );
  const { componentize } = await import('@bytecodealliance/componentize-js');
  const version = engineWasiVersion(componentizeDir);
  const witRoot = path.join(buildDir, 'wit');
  const shipped = writeWasiDeps(
    packageDir('@bytecodealliance/jco', componentizeDir),
    version,
    path.join(witRoot, 'deps'),
  );
  process.stdout.write(`actors: WASI ${shipped} WIT from jco, relabelled ${version} for the componentize-js engine\n`);
  let ok = true;
  for (const name of stale) {
    const src = path.join(actorsDir, name, 'component');
    const out = path.join(buildDir, `${name}.wasm`);
    try {
      const started = Date.now();
      typeCheck(path.join(src, 'index.ts'));
      const js = ts.transpileModule(readFileSync(path.join(src, 'index.ts'), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        fileName: 'index.ts',
      }).outputText;
      const jsPath = path.join(buildDir, `${name}.js`);
      writeFileSync(jsPath, js);
      // The actor's world and the shared WASI packages, as one WIT directory per actor.
      const world = readFileSync(path.join(src, 'world.wit'), 'utf8');
      const worldName = /^\s*world\s+([a-z][a-z0-9-]*)/m.exec(world)?.[1];
      if (!worldName) throw new Error(`${path.join(src, 'world.wit')} declares no world`);
      const witDir = path.join(witRoot, name);
      rmSync(witDir, { recursive: true, force: true });
      mkdirSync(witDir, { recursive: true });
      writeFileSync(path.join(witDir, 'world.wit'), world);
      // A copy, not a link: componentize-js reads it through a WASI sandbox that follows none.
      cpSync(path.join(witRoot, 'deps'), path.join(witDir, 'deps'), { recursive: true });
      const { component } = await componentize({ sourcePath: jsPath, witPath: witDir, worldName });
      writeFileSync(out, component);
      process.stdout.write(
        `actors: built ${path.relative(process.cwd(), out)} (component, ${(component.length / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
      );
    } catch (err) {
      ok = false;
      process.stderr.write(`actors: ${name} failed to build as a component:\n${err?.stack ?? err}\n`);
    }
  }
  return ok;
}
