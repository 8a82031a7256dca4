/**
 * The one entry to manifests: text or an object in, a normalized {@link AppManifest} out, or one
 * `WASMESH_ERR_INVALID_MANIFEST` error listing every problem. Stages: parse (YAML/JSON, size and
 * alias limits) → JSON Schema (every shape problem at once) → semantic checks (cross-references;
 * they run once the shape is right, because they need it) → normalize → what the lattice can store
 * (`limits.ts`: component count, stored size).
 */
import { invalidManifest } from '../errors.js';
import { checkStorable } from './limits.js';
import { normalize, type AppManifest } from './model.js';
import { parseManifestText } from './parse.js';
import { checkSchema } from './schema.js';
import { checkSemantics } from './semantic.js';

/** Options of {@link loadManifest} and {@link validateManifest}. */
export interface LoadOptions {
  /** Names the manifest in messages (a file name); default `manifest`. */
  source?: string;
}

/** Parses, validates and normalizes manifest text (YAML or JSON); throws `WASMESH_ERR_INVALID_MANIFEST`. */
export function loadManifest(text: string, options: LoadOptions = {}): AppManifest {
  const source = options.source ?? 'manifest';
  const parsed = parseManifestText(text, source);
  if (!parsed.ok) throw invalidManifest(source, parsed.issues);
  return validateManifest(parsed.value, { source });
}

/** Validates and normalizes an already parsed manifest (e.g. a JSON request body). */
export function validateManifest(value: unknown, options: LoadOptions = {}): AppManifest {
  const source = options.source ?? 'manifest';
  const shape = checkSchema(value);
  if (!shape.ok) throw invalidManifest(source, shape.issues);
  const issues = checkSemantics(shape.manifest);
  if (issues.length > 0) throw invalidManifest(source, issues);
  const manifest = normalize(shape.manifest);
  const unstorable = checkStorable(manifest);
  if (unstorable.length > 0) throw invalidManifest(source, unstorable);
  return manifest;
}
