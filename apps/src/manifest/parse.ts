/**
 * Manifest text (YAML, or JSON, which is YAML) → a plain JS value, refusing input that would cost
 * the parser or the lattice dearly or that YAML would silently bend:
 *
 * - over {@link MAX_MANIFEST_BYTES} (1 MiB): refused before parsing;
 * - more than {@link MAX_ALIAS_COUNT} alias expansions (a "billion laughs" document): refused by
 *   `yaml`'s `maxAliasCount` while building the value, so the expansion never happens;
 * - several documents (`---`), or none: a manifest is exactly one document;
 * - keys that are not strings (`1:`, `true:`, `[a]:`) and duplicate keys;
 * - collections nested more than {@link MAX_NESTING_DEPTH} deep: `yaml` builds values recursively,
 *   and `[[[[…]]]]` a few thousand deep overflowed the stack inside a RegExp, which V8 reports as
 *   a fatal out-of-memory that kills the process (found by fuzzing). The depth is measured on
 *   `yaml`'s concrete syntax tree, which its parser builds without recursion.
 *
 * Syntax errors say `<source>:<line>:<column>`. Everything is reported as {@link ManifestIssue}s;
 * the caller throws.
 */
import { isMap, isScalar, LineCounter, parseAllDocuments, Parser, visit, type CST, type Document } from 'yaml';
import type { ManifestIssue } from '../errors.js';

/** Largest manifest accepted, in bytes of UTF-8. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Most alias expansions accepted while building the value (real manifests use a handful). */
export const MAX_ALIAS_COUNT = 100;

/** Deepest nesting of collections accepted (real manifests nest under ten levels). */
export const MAX_NESTING_DEPTH = 64;

/** The outcome: the value, or the problems that prevent having one. */
export type ParseResult = { ok: true; value: unknown } | { ok: false; issues: ManifestIssue[] };

function at(source: string, line: number, column: number, text: string): ManifestIssue {
  return { path: '', line, column, message: `${source}:${line}:${column}: ${text}` };
}

/** Parses one manifest document from `text`; `source` names it in messages. */
export function parseManifestText(text: string, source: string): ParseResult {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_MANIFEST_BYTES) {
    return {
      ok: false,
      issues: [
        {
          path: '',
          message: `${source} is ${bytes} bytes; a manifest may have at most ${MAX_MANIFEST_BYTES} (1 MiB)`,
        },
      ],
    };
  }
  const lineCounter = new LineCounter();
  const tooDeep = firstTooDeep(text);
  if (tooDeep) {
    const p = tooDeep;
    return {
      ok: false,
      issues: [at(source, p.line, p.col, `collections nested more than ${MAX_NESTING_DEPTH} levels deep; refused`)],
    };
  }
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number): { line: number; col: number } => lineCounter.linePos(offset);
  if (!Array.isArray(docs) || docs.length === 0) {
    return { ok: false, issues: [{ path: '', message: `${source} is empty: expected one manifest document` }] };
  }
  if (docs.length > 1) {
    const second = pos(docs[1]!.range[0]);
    return {
      ok: false,
      issues: [
        at(
          source,
          second.line,
          second.col,
          `found ${docs.length} YAML documents; a manifest file holds exactly one (remove the "---" separators, and deploy each app on its own)`,
        ),
      ],
    };
  }
  const doc = docs[0]!;
  const issues: ManifestIssue[] = doc.errors.map((e) => {
    const p = pos(e.pos[0]);
    return at(source, p.line, p.col, `syntax error: ${firstLine(e.message)}`);
  });
  if (issues.length > 0) return { ok: false, issues };
  if (doc.contents === null) {
    return { ok: false, issues: [{ path: '', message: `${source} is empty: expected one manifest document` }] };
  }
  issues.push(...nonStringKeys(doc, source, pos));
  if (issues.length > 0) return { ok: false, issues };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    return {
      ok: false,
      issues: [
        {
          path: '',
          message: `${source}: refused: ${firstLine((err as Error).message)} (more than ${MAX_ALIAS_COUNT} alias expansions; is it a "billion laughs" document?)`,
        },
      ],
    };
  }
}

/**
 * Where the first collection nested deeper than {@link MAX_NESTING_DEPTH} in `text` starts, or
 * undefined. Walks `yaml`'s concrete syntax tree with an explicit stack (no recursion), so any
 * depth is measured safely.
 */
function firstTooDeep(text: string): { line: number; col: number } | undefined {
  const lines = new LineCounter();
  const stack: [CST.Token, number][] = [];
  for (const token of new Parser(lines.addNewLine).parse(text)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (token.type === 'document') {
      if (token.value) stack.push([token.value, depth]);
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth >= MAX_NESTING_DEPTH) return lines.linePos(token.offset);
    for (const item of token.items) {
      if (item.key) stack.push([item.key, depth + 1]);
      if (item.value) stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/** Every map key that is not a plain string, with its position. */
function nonStringKeys(
  doc: Document.Parsed,
  source: string,
  pos: (offset: number) => { line: number; col: number },
): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  visit(doc, {
    Pair(_key, pair, path) {
      const parent = path[path.length - 1];
      if (!isMap(parent)) return;
      const key = pair.key;
      if (isScalar(key) && typeof key.value === 'string') return;
      const offset = (key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
      const p = pos(offset);
      const shown = isScalar(key) ? String(key.value) : 'a collection';
      issues.push(
        at(source, p.line, p.col, `map key ${shown} is not a string; keys must be strings (quote it: "${shown}")`),
      );
    },
  });
  return issues;
}
