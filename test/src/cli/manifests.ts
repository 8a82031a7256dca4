/** Manifests for the CLI tests, made from the shipped examples. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { localKvcounter } from '../app-manifests.js';
import { actorPath } from '../fixtures.js';

/**
 * Writes `deploy/apps/kvcounter-local.yaml` as `dir/file`, its HTTP server on a free port (0) and
 * its module by absolute path; `edit` changes the text further. Returns the file's path.
 */
export function writeLocalKvcounter(dir: string, file = 'app.yaml', edit: (text: string) => string = (t) => t): string {
  const text = localKvcounter({ image: actorPath('kvcounter') });
  const out = path.join(dir, file);
  writeFileSync(out, edit(text));
  return out;
}
