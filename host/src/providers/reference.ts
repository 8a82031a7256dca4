/**
 * What a provider reference names: `builtin:<name>` is the installed package
 * `@wasmesh/provider-<name>` (its `dist/main.js` for a process, its `dist/index.js`
 * `providerDefinition` export in-process); a path or `file://` URL is a provider's JavaScript
 * entry module, started only from a directory the host allows.
 */
import { realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmeshError, type FileJail } from '@wasmesh/lattice';

const BUILTIN = /^builtin:([a-z][a-z0-9-]{0,62})$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Whether `ref` names a first-party provider (the only ones that may run in-process). */
export function isBuiltinRef(ref: string): boolean {
  return ref.startsWith('builtin:');
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The directory of installed package `name`, found where `@wasmesh/host` resolves packages. */
function packageDir(name: string): string | undefined {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths(name) ?? []) {
    const candidate = path.join(dir, name);
    if (isFile(path.join(candidate, 'package.json'))) return realpathSync(candidate);
  }
  return undefined;
}

/** A built module `file` of built-in provider `ref`'s package; NOT_FOUND naming what is missing. */
function builtinFile(ref: string, file: string): string {
  const name = BUILTIN.exec(ref)?.[1];
  if (!name) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `invalid provider reference "${ref}": builtin:<name> takes a lower-case name, e.g. builtin:keyvalue`,
      { details: { ref } },
    );
  }
  const pkg = `@wasmesh/provider-${name}`;
  const dir = packageDir(pkg);
  if (!dir) {
    throw new WasmeshError(
      'WASMESH_ERR_NOT_FOUND',
      `no first-party provider "${name}": the package ${pkg} is not installed on this host`,
      { details: { ref, package: pkg } },
    );
  }
  const entry = path.join(dir, 'dist', file);
  if (!isFile(entry)) {
    throw new WasmeshError(
      'WASMESH_ERR_NOT_FOUND',
      `the provider package ${pkg} is installed but not built: ${entry} is missing (run npm run build)`,
      { details: { ref, package: pkg, entry } },
    );
  }
  return entry;
}

/** How a module says it can run in-process: an export named `providerDefinition`. */
const IN_PROCESS_EXPORT =
  /\bexport\s+(?:async\s+)?(?:function\*?|const|let|var)\s+providerDefinition\b|\bexport\s*\{[^}]*\bproviderDefinition\b[^}]*\}/;

/**
 * The module a provider runs from in-process: a built-in's package `dist/index.js`; a module of
 * your own (resolved as {@link resolveProviderEntry}) only when its source exports
 * `providerDefinition` — checked by reading it, before anything of it runs in the host, so a
 * module written as a process (top-level code that connects and serves) is refused, never
 * imported. `WASMESH_ERR_BAD_REQUEST` then, naming the module.
 */
export async function resolveInProcessModule(ref: string, jail: FileJail): Promise<string> {
  if (isBuiltinRef(ref)) return builtinFile(ref, 'index.js');
  const entry = await resolveProviderEntry(ref, jail);
  const source = Buffer.from(await jail.readFile(entry, 'provider module')).toString('utf8');
  if (!IN_PROCESS_EXPORT.test(source)) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `provider module ${entry} cannot run in-process: it exports no providerDefinition(env) (see the provider SDK's ProviderFactory); start it with mode process`,
      { details: { ref, entry, field: 'mode' } },
    );
  }
  return entry;
}

/**
 * Where the code of a provider running in-process from `module` lives, as its stack frames show it:
 * a built-in's package directory (its `dist/*.js`), or the module file of a provider of your own.
 */
export function codeLocation(ref: string, module: string): string {
  return isBuiltinRef(ref) ? path.dirname(path.dirname(module)) + path.sep : module;
}

/**
 * The JavaScript entry module of a provider reference: `builtin:<name>` is `dist/main.js` of the
 * installed package `@wasmesh/provider-<name>`; a path (absolute, or relative to the host's cwd) or
 * a `file://` URL is the module itself, started only when `jail` allows it (a regular file inside
 * an allowed directory; its real path is returned, so a link cannot be swapped in later).
 * `WASMESH_ERR_NOT_FOUND` when there is no such module, `WASMESH_ERR_PERMISSION_DENIED` for a
 * path outside the allowed directories, `WASMESH_ERR_BAD_REQUEST` for any other kind of reference.
 */
export async function resolveProviderEntry(ref: string, jail: FileJail): Promise<string> {
  if (isBuiltinRef(ref)) return builtinFile(ref, 'main.js');
  let file: string;
  if (ref.startsWith('file://')) {
    try {
      file = fileURLToPath(ref);
    } catch (err) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `invalid provider reference "${ref}": ${(err as Error).message}`,
        {
          cause: err,
          details: { ref },
        },
      );
    }
  } else if (SCHEME.test(ref) && !/^[A-Za-z]:[\\/]/.test(ref)) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `unsupported provider reference "${ref}": use builtin:<name> or the path of a provider's JavaScript entry module`,
      { details: { ref } },
    );
  } else {
    if (!ref) throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'start-provider request without an artifact reference');
    file = ref;
  }
  return jail.resolveFile(file, 'provider entry module');
}
