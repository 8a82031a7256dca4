/** Manifests for the CLI tests, made from the shipped examples. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { actorPath } from '../fixtures.js';

/**
 * Writes `deploy/apps/kvcounter-local.yaml` as `dir/file`, its HTTP server on a free port (0) and
 * its module by absolute path; `edit` changes the text further. Returns the file's path.
 */
export function writeLocalKvcounter(dir: string, file = 'app.yaml', edit: (text: string) => string = (t) => t): string {
  const text = readFileSync(path.join(process.cwd(), 'deploy', 'apps', 'kvcounter-local.yaml'), 'utf8')
    .replace('127.0.0.1:8080', '127.0.0.1:0')
    .replace('actors/build/kvcounter.wasm', actorPath('kvcounter'));
  const out = path.join(dir, file);
  writeFileSync(out, edit(text));
  return out;
}
