/**
 * Makes a manifest's images usable from any host before it is stored: an actor image given as a
 * path (relative to `baseDir`: the deploying client's working directory, as with `wasmesh start
 * actor`) or `file://` URL is pushed to the lattice object store
 * and replaced by its `sha256:` reference; a provider given as a path becomes an absolute path (a
 * host starts providers from its own file system). `builtin:`, `sha256:` and `oci://` images stay as
 * they are (hosts pull `oci://` ones from their registry).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_MODULE_BYTES, isOciRef, isWasmeshError, readRegularFile, WasmeshError } from '@wasmesh/lattice';
import { digestOfApp, type AppComponent, type AppManifest } from './manifest/model.js';

/** Stores module bytes somewhere every host can fetch them; returns the `sha256:` reference. */
export type PushArtifact = (bytes: Uint8Array, description: string) => Promise<string>;

function localPath(image: string, baseDir: string): string {
  return image.startsWith('file://') ? fileURLToPath(image) : path.resolve(baseDir, image);
}

/** Reads an actor image from a file; `what` names it in errors. */
export type ReadImage = (file: string, what: string) => Promise<Uint8Array>;

/**
 * Reads an image from the caller's own file system (the CLI): a regular file of at most 64 MiB
 * (/dev/zero or a FIFO is refused, not read forever); I/O failures are usage errors naming it.
 */
async function readLocalImage(file: string, what: string): Promise<Uint8Array> {
  try {
    return await readRegularFile(file, DEFAULT_MAX_MODULE_BYTES, what);
  } catch (err) {
    if (isWasmeshError(err, 'WASMESH_ERR_BAD_REQUEST', 'WASMESH_ERR_TOO_LARGE')) throw err;
    const reason = isWasmeshError(err) ? String(err.details.reason) : (err as Error).message;
    throw new WasmeshError('WASMESH_ERR_USAGE', `cannot read the ${what}: ${file}: ${reason}`, {
      cause: err,
      details: { path: file },
    });
  }
}

/**
 * The manifest with images resolved (see the module comment); its digest is computed again.
 * Actor images given as paths are read by `readImage`: a service passes its file jail.
 */
export async function resolveImages(
  manifest: AppManifest,
  baseDir: string,
  push: PushArtifact,
  readImage: ReadImage = readLocalImage,
): Promise<AppManifest> {
  const components = await Promise.all(
    manifest.components.map(async (c): Promise<AppComponent> => {
      if (c.kind === 'actor' && !c.image.startsWith('sha256:') && !isOciRef(c.image)) {
        const bytes = await readImage(localPath(c.image, baseDir), `image of actor ${c.name}`);
        return { ...c, image: await push(bytes, `${manifest.name}/${c.name}`) };
      }
      if (c.kind === 'provider' && !c.image.startsWith('builtin:')) return { ...c, image: localPath(c.image, baseDir) };
      return c;
    }),
  );
  const resolved = { ...manifest, components };
  return { ...resolved, digest: digestOfApp(resolved) };
}
