/**
 * `wasmesh completion`: the bash script, run by a real bash, completes commands, subcommands and
 * flags from the command tree; zsh and fish scripts are printed; an unknown shell is a usage error.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { wasmesh } from './run-cli.js';

/** What the bash script completes for the words typed so far (the last one being completed). */
function complete(script: string, words: string[]): string[] {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'wasmesh-completion-')), 'wasmesh.bash');
  writeFileSync(file, script);
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const probe = `source ${file}; COMP_WORDS=(wasmesh ${quoted}); COMP_CWORD=${words.length}; _wasmesh; echo "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', probe], { encoding: 'utf8' });
  return r.stdout.trim().split(/\s+/).filter(Boolean);
}

test('bash completes commands, subcommands and flags', async () => {
  const { code, stdout } = await wasmesh(['completion', 'bash']);
  expect(code).toBe(0);
  expect(complete(stdout, ['ap'])).toEqual(['app']);
  expect(complete(stdout, ['app', 'de'])).toEqual(['deploy', 'delete']);
  expect(complete(stdout, ['get', ''])).toEqual(expect.arrayContaining(['hosts', 'links', 'apps']));
  expect(complete(stdout, ['app', 'deploy', '--no'])).toEqual(['--no-wait']);
  expect(complete(stdout, ['--nats', 'x', 'spy', '--'])).toEqual(expect.arrayContaining(['--count', '--json']));
});

test('zsh and fish scripts, and an unknown shell', async () => {
  expect((await wasmesh(['completion', 'zsh'])).stdout).toMatch(/^autoload -U \+X bashcompinit && bashcompinit\n/);
  const fish = (await wasmesh(['completion', 'fish'])).stdout;
  expect(fish).toContain("complete -c wasmesh -n '__fish_seen_subcommand_from app' -a 'validate put deploy");
  const bad = await wasmesh(['completion', 'tcsh']);
  expect([bad.code, bad.stderr]).toEqual([
    2,
    'wasmesh: WASMESH_ERR_USAGE: unknown shell "tcsh" for completion: use bash, zsh or fish\n',
  ]);
});
