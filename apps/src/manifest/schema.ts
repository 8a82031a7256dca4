/**
 * JSON Schema validation of a parsed manifest against `apps/schema/wasmesh-app.schema.json` (the
 * same file editors use), compiled once with ajv (strict, all errors). Every ajv error becomes a
 * {@link ManifestIssue} that names the exact path and what was expected:
 *
 *   spec.components[1].traits[0].properties.instances: expected an integer >= 0, got number -1
 *   unknown field "instancez" at spec.components[0].traits[0].properties; expected one of: instances, spread
 *   missing required field "image" at spec.components[0].properties
 *
 * Names that become subject tokens (ids, names, contracts) are checked by the schema's patterns and
 * reported with the lattice's own messages (`checkToken`, `checkContract`), so a bad actor id reads
 * the same here as on `wasmesh start actor`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { checkContract, checkToken } from '@wasmesh/lattice';
import type { ManifestIssue } from '../errors.js';
import { describeValue, formatPath, where, type PathSegment } from './paths.js';
import type { RawManifest } from './raw.js';

/** Where the schema file lives (`@wasmesh/apps/schema.json`). */
export const MANIFEST_SCHEMA_URL = new URL('../../schema/wasmesh-app.schema.json', import.meta.url);

let schemaJson: Record<string, unknown> | undefined;
let validator: ValidateFunction | undefined;

/** The manifest's JSON Schema, as a parsed object (read once). */
export function manifestSchema(): Record<string, unknown> {
  schemaJson ??= JSON.parse(readFileSync(MANIFEST_SCHEMA_URL, 'utf8')) as Record<string, unknown>;
  return schemaJson;
}

/** The ajv options the schema is compiled with: strict mode (union types are used by `config`). */
export const AJV_OPTIONS = Object.freeze({ strict: true, allowUnionTypes: true, allErrors: true, verbose: true });

function compiled(): ValidateFunction {
  if (!validator) {
    // ajv is CommonJS; require keeps its constructor whatever the interop.
    const AjvClass = createRequire(import.meta.url)('ajv') as typeof Ajv;
    validator = new AjvClass({ ...AJV_OPTIONS }).compile(manifestSchema());
  }
  return validator;
}

/** Validates `value` against the schema: the typed manifest, or every problem found. */
export function checkSchema(
  value: unknown,
): { ok: true; manifest: RawManifest } | { ok: false; issues: ManifestIssue[] } {
  const validate = compiled();
  if (validate(value)) return { ok: true, manifest: value as RawManifest };
  const issues: ManifestIssue[] = [];
  const seen = new Set<string>();
  for (const err of validate.errors ?? []) {
    const issue = toIssue(err, value);
    if (issue && !seen.has(issue.message)) {
      seen.add(issue.message);
      issues.push(issue);
    }
  }
  return { ok: false, issues };
}

function segmentsOf(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function valueAt(root: unknown, segments: readonly PathSegment[]): unknown {
  let v = root;
  for (const s of segments) v = (v as Record<string | number, unknown> | undefined)?.[s];
  return v;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  object: 'an object',
  array: 'a list',
  boolean: 'a boolean',
};

function typeWords(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ');
}

/** The keys a schema object allows, for "expected one of" lists. */
function allowedKeys(schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props) : [];
}

function toIssue(err: ErrorObject, root: unknown): ManifestIssue | undefined {
  const segs = segmentsOf(err.instancePath);
  const path = formatPath(segs);
  const params = err.params as Record<string, unknown>;
  const data: unknown = err.data;
  switch (err.keyword) {
    case 'if':
      return undefined; // the failing then/else branch reported its own errors
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const allowed = allowedKeys(err.parentSchema);
      return {
        path: formatPath([...segs, field]),
        message: `unknown field "${field}" at ${where(path)}; expected one of: ${allowed.join(', ')}`,
      };
    }
    case 'required': {
      const field = String(params.missingProperty);
      return { path: formatPath([...segs, field]), message: `missing required field "${field}" at ${where(path)}` };
    }
    case 'type': {
      // YAML turns 8080 and true into numbers and booleans; where a string is wanted, say how to keep it one.
      const quote = err.schema === 'string' && (typeof data === 'number' || typeof data === 'boolean');
      const hint = quote ? ` (quote it: "${String(data)}")` : '';
      return { path, message: `${where(path)}: expected ${typeWords(err.schema)}, got ${describeValue(data)}${hint}` };
    }
    case 'const':
      return {
        path,
        message: `${where(path)}: expected ${JSON.stringify(params.allowedValue)}, got ${describeValue(data)}`,
      };
    case 'enum':
      return {
        path,
        message: `${where(path)}: expected one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}; got ${describeValue(data)}`,
      };
    case 'minimum':
    case 'maximum': {
      const parentType = (err.parentSchema as { type?: unknown } | undefined)?.type;
      const op = err.keyword === 'minimum' ? '>=' : '<=';
      return {
        path,
        message: `${where(path)}: expected ${typeWords(parentType)} ${op} ${String(params.limit)}, got ${String(data)}`,
      };
    }
    case 'minLength':
      return { path, message: `${where(path)}: must not be empty` };
    case 'maxLength':
      return {
        path,
        message: `${where(path)}: expected at most ${String(params.limit)} characters, got ${String((data as string).length)}`,
      };
    case 'minItems':
      return { path, message: `${where(path)}: expected at least ${String(params.limit)} item(s), got an empty list` };
    case 'maxItems':
      return {
        path,
        message: `${where(path)}: expected at most ${String(params.limit)} items, got ${String((data as unknown[]).length)}`,
      };
    case 'minProperties':
      return {
        path,
        message: `${where(path)}: expected at least one of: ${allowedKeys(err.parentSchema).join(', ')}; got an empty object`,
      };
    case 'pattern':
      return { path, message: `${where(path)}: ${patternMessage(segs, String(data), String(params.pattern), root)}` };
    default:
      return { path, message: `${where(path)}: ${err.message ?? 'is not valid'}` };
  }
}

/** What a name at `segs` is, in the lattice's words ("actor id", "link name", ...). */
function nameKind(segs: readonly PathSegment[], root: unknown): string {
  const last = segs[segs.length - 1];
  const parent = segs[segs.length - 2];
  if (segs.length === 2 && segs[0] === 'metadata') return 'app name';
  if (parent === 'application') return last === 'name' ? 'app name' : 'component name';
  if (last === 'id') {
    const type = (valueAt(root, segs.slice(0, 3)) as { type?: unknown } | undefined)?.type;
    return type === 'capability' ? 'provider id' : 'actor id';
  }
  if (last === 'target') return 'link target';
  if (segs.includes('config')) return 'config name';
  if (segs.includes('traits')) return 'link name';
  return 'component name';
}

function patternMessage(segs: readonly PathSegment[], value: string, pattern: string, root: unknown): string {
  try {
    if (segs[segs.length - 1] === 'contract') checkContract(value);
    else if (segs[segs.length - 1] === 'version')
      return `invalid version "${value}": use 1-128 letters, digits, '.', '+', '-' or '_', starting with a letter or digit`;
    else checkToken(nameKind(segs, root), value);
  } catch (err) {
    return (err as Error).message;
  }
  return `"${value}" does not match ${pattern}`;
}
