/**
 * `wasmesh app validate`: the shipped example manifests are valid; an invalid one exits 2 listing
 * every problem on its own line (or as JSON with --json); an unreadable file is a usage error.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wasmesh } from './run-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('the example manifests are valid', async () => {
  for (const name of ['kvcounter', 'responder']) {
    const file = path.join(root, 'deploy', 'apps', `${name}.yaml`);
    const r = await wasmesh(['app', 'validate', file]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(new RegExp(`^${file}: valid app "${name}" v\\S+: \\d+ components, \\d+ config\\n$`));
    const json = await wasmesh(['app', 'validate', file, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ name, components: expect.any(Array) });
  }
});

test('an invalid manifest exits 2 with every problem on its own line', async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'wasmesh-app-')), 'bad.yaml');
  writeFileSync(
    file,
    'apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: x\nspec:\n  components:\n    - name: a\n      type: actor\n      properties: {imagez: y}\n',
  );
  const r = await wasmesh(['app', 'validate', file]);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    `wasmesh: WASMESH_ERR_INVALID_MANIFEST: invalid app manifest ${file}: 3 problems\n` +
      '  - missing required field "annotations" at metadata\n' +
      '  - missing required field "image" at spec.components[0].properties\n' +
      '  - unknown field "imagez" at spec.components[0].properties; expected one of: image, id, config\n',
  );
  const json = await wasmesh(['app', 'validate', file, '--json']);
  expect(json.code).toBe(2);
  expect(JSON.parse(json.stdout).error.errors).toHaveLength(3);
  const missing = await wasmesh(['app', 'validate', '/nonexistent.yaml']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/^wasmesh: WASMESH_ERR_USAGE: cannot read manifest "\/nonexistent\.yaml": ENOENT/);
});

test('validate reads only a regular file of at most 1 MiB, and refuses others at once', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-app-'));
  const fifo = path.join(dir, 'app.yaml');
  execFileSync('mkfifo', [fifo]);
  const big = path.join(dir, 'big.yaml');
  writeFileSync(big, `# ${'x'.repeat(1024 * 1024)}\n`);
  for (const [file, code, pattern] of [
    ['/dev/zero', 2, /WASMESH_ERR_BAD_REQUEST: refused the manifest "\/dev\/zero": it is a character device/],
    [fifo, 2, /it is a FIFO, not a regular file/],
    [big, 4, /WASMESH_ERR_TOO_LARGE: refused the manifest ".*": it is larger than the limit of 1048576 bytes/],
  ] as const) {
    const r = await wasmesh(['app', 'validate', file]);
    expect({ file, code: r.code }).toEqual({ file, code });
    expect(r.stderr).toMatch(pattern);
  }
});

test('validate refuses what the lattice cannot carry: a uint32 overflow, 10,000 components, a 900 KB description', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-app-'));
  const component = (name: string, instances: number | string) =>
    `    - name: ${name}\n      type: capability\n      properties: {image: "builtin:keyvalue"}\n      traits: [{type: spreadscaler, properties: {instances: ${instances}}}]\n`;
  const head = (description: string) =>
    `apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: big\n  annotations: {version: v1, description: "${description}"}\nspec:\n  components:\n`;
  const cases: [string, string, string][] = [
    [
      'wrap.yaml',
      head('') + component('a', 4294967296) + component('b', '1e300'),
      '  - spec.components[0].traits[0].properties.instances: expected an integer <= 4294967295, got 4294967296\n' +
        '  - spec.components[1].traits[0].properties.instances: expected an integer <= 4294967295, got 1e+300\n',
    ],
    [
      'many.yaml',
      head('') +
        Array.from(
          { length: 10_000 },
          (_, i) => `    - {name: c${i}, type: capability, properties: {image: "builtin:keyvalue"}}\n`,
        ).join(''),
      '  - spec.components: expected at most 1000 items, got 10000\n',
    ],
    [
      'described.yaml',
      head('x'.repeat(900 * 1024)) + component('a', 1),
      '  - metadata.annotations.description: expected at most 4096 characters, got 921600\n',
    ],
  ];
  for (const [name, text, problems] of cases) {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    const r = await wasmesh(['app', 'validate', file]);
    const n = problems.split('\n').length - 1;
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toBe(
      `wasmesh: WASMESH_ERR_INVALID_MANIFEST: invalid app manifest ${file}: ${n} problem${n === 1 ? '' : 's'}\n` +
        problems,
    );
  }
});
