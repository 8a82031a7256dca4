/**
 * Paths into a manifest, written the way users read them: `spec.components[1].traits[0]` (dots for
 * fields, brackets for list indexes; fields that are not identifiers are quoted:
 * `metadata.annotations["wasmesh.dev/shared-providers"]`).
 */

/** One step of a path: a field name or a list index. */
export type PathSegment = string | number;

/** `['spec', 'components', 1, 'name']` → `spec.components[1].name`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** `path`, or `the top level` for the root, for "... at <where>" messages. */
export function where(path: string): string {
  return path === '' ? 'the top level' : path;
}

/** A short description of a value for "got ..." messages: `string "4"`, `number -1`, `a list`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}
