/**
 * Errors of `@wasmesh/apps`. A manifest that cannot be used is one `WasmeshError` with code
 * {@link INVALID_MANIFEST}: `details.errors` lists every problem found (path + message) and the
 * message lists them one per line, so a user fixes them all in one round.
 */
import { WasmeshError } from '@wasmesh/lattice';

/** The code of every manifest problem (exit status 2, like other bad input). */
export const INVALID_MANIFEST = 'WASMESH_ERR_INVALID_MANIFEST';

/** One problem of a manifest. */
export interface ManifestIssue {
  /** Where: `spec.components[1].traits[0].properties.instances`; `''` for the whole document. */
  readonly path: string;
  /** The whole sentence shown to the user (it names the path itself). */
  readonly message: string;
  /** 1-based line and column in the source text, for syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

/** Builds the error for `issues` (at least one) of the manifest from `source` (a file name, or `manifest`). */
export function invalidManifest(source: string, issues: readonly ManifestIssue[]): WasmeshError {
  const n = issues.length;
  const head = `invalid app manifest ${source}: ${n} problem${n === 1 ? '' : 's'}`;
  return new WasmeshError(INVALID_MANIFEST, [head, ...issues.map((i) => `  - ${i.message}`)].join('\n'), {
    details: { source, errors: issues.map((i) => ({ ...i })) },
  });
}
