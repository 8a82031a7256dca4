/**
 * `wasmesh inspect <file.wasm>`: what a module imports and exports, whether it is a valid waPC
 * actor, its size and hash, and its embedded claims (wascap format) with their verdict.
 */
import { errorJson, readInputFile, type ActorClaims, type ClaimsReport } from '@wasmesh/lattice';
import { ActorRuntime } from '../runtime/runtime.js';
import { claimsOf } from '../actors/admission.js';

/** The claims of a module as `--json` prints them: `null` when unsigned. */
function claimsJson(report: ClaimsReport): Record<string, unknown> | null {
  if (report.verdict === 'unsigned') return null;
  return { verdict: report.verdict, reason: report.reason, section: report.section ?? null, ...(report.claims ?? {}) };
}

const when = (seconds: number | undefined, otherwise: string): string =>
  seconds === undefined ? otherwise : new Date(seconds * 1000).toISOString();

/** The human lines about a module's claims. */
function claimsLines(report: ClaimsReport): string[] {
  if (report.verdict === 'unsigned') return ['claims:     none (unsigned)'];
  const verdict = report.verdict === 'valid' ? 'valid' : `${report.verdict.replace(/-/g, ' ')}: ${report.reason}`;
  const c: ActorClaims | undefined = report.claims;
  if (!c) return [`claims:     ${verdict}`];
  const version = [c.ver === undefined ? '' : `ver ${c.ver}`, c.rev === undefined ? '' : `rev ${c.rev}`]
    .filter(Boolean)
    .join(', ');
  return [
    `claims:     ${verdict}`,
    `  issuer:     ${c.issuer}`,
    `  subject:    ${c.subject}`,
    `  name:       ${c.name ?? '-'}${version ? ` (${version})` : ''}`,
    `  hash:       ${c.hash}`,
    `  caps:       ${c.caps.length ? c.caps.join(', ') : 'none'}`,
    ...(c.tags?.length ? [`  tags:       ${c.tags.join(', ')}`] : []),
    `  issued:     ${when(c.issuedAt, '-')}`,
    `  expires:    ${when(c.expires, 'never')}`,
    `  not before: ${when(c.notBefore, 'immediately')}`,
  ];
}

/** Prints the description of the module in `file`. A non-module is an error; a non-actor is not. */
export async function inspectCommand(file: string, opts: { json: boolean }): Promise<void> {
  const wasm = await readInputFile(file, 'module');
  const runtime = ActorRuntime.create({ maxInstances: 1, cacheDir: null });
  try {
    const info = await runtime.inspect(wasm);
    const claims = await claimsOf(runtime, wasm);
    if (opts.json) {
      const problem = info.problem ? errorJson(info.problem).error : null;
      process.stdout.write(`${JSON.stringify({ file, ...info, problem, claims: claimsJson(claims) })}\n`);
      return;
    }
    const lines = [
      `file:       ${file}`,
      `size:       ${info.size} bytes`,
      `sha256:     ${info.hash}`,
      `kind:       ${info.kind === 'component' ? 'component (Component Model, WASI 0.2)' : 'core module (waPC)'}`,
      `actor:      ${info.validActor ? 'yes' : `no (${info.problem?.toLine() ?? 'unknown reason'})`}`,
      ...claimsLines(claims),
      `imports (${info.imports.length}):`,
      ...info.imports.map((i) => `  ${i.module ? `${i.module}.` : ''}${i.name}  ${i.type}`),
      `exports (${info.exports.length}):`,
      ...info.exports.map((e) => `  ${e.name}  ${e.type}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    runtime.close();
  }
}
