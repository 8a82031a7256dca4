/**
 * `wasmesh app …`: application manifests. For now `app validate <file>` checks a manifest
 * offline (schema and cross-references) and prints every problem with its path; the lattice
 * commands (put, deploy, status, …) come with the reconciler.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadManifest } from '@wasmesh/apps';
import { UsageError } from '@wasmesh/lattice';
import { commandGroup, examples, printJson } from '../common.js';

/** Registers `app validate` on `program`. */
export function registerAppCommands(program: Command): void {
  const app = commandGroup(program, 'app', 'application manifests (OAM: core.oam.dev/v1beta1 Application)', [
    'wasmesh app validate deploy/apps/kvcounter.yaml',
  ]);
  examples(
    app
      .command('validate')
      .description('check a manifest (YAML or JSON) without a lattice; every problem is listed with its path')
      .argument('<file>', 'the manifest file')
      .option('--json', 'print the normalized app as JSON (errors too, as {"ok":false,"error":{…}})'),
    ['wasmesh app validate deploy/apps/kvcounter.yaml', 'wasmesh app validate app.yaml --json | jq .components'],
    'The JSON Schema of the format ships as @wasmesh/apps/schema.json (apps/schema/wasmesh-app.schema.json);\n' +
      'point your editor at it. Exit status 2 when the manifest is invalid.',
  ).action((file: string, opts: { json?: boolean }) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read manifest ${file}: ${(err as Error).message}`, { cause: err });
    }
    const manifest = loadManifest(text, { source: file });
    if (opts.json) printJson(manifest);
    else
      process.stdout.write(
        `${file}: valid app "${manifest.name}" ${manifest.version}: ${manifest.components.length} components, ` +
          `${manifest.config.length} config\n`,
      );
  });
}
