/**
 * The CLI stays a client (issue 11): the services run in their own bins, so no `wasmesh` command
 * loads gRPC, the gateway, the reconciler or the native host. Module resolution hooks record every
 * module the real `wasmesh` resolves while it runs a lattice command and prints its help (the whole
 * command tree is imported statically, so this is its whole graph); re-adding an import of
 * @wasmesh/gateway or the Reconciler anywhere in the CLI fails here. `wasmesh reconciler|gateway`
 * still work: they run `wasmesh-reconciler` and `wasmesh-gateway`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../runtime/helpers.js';
import { wasmesh, wasmeshBin } from './run-cli.js';

/** Records each resolved module URL, one per line, in the file named by the hooks' `data`. */
const HOOKS = `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(file, resolved.url + '\\n');
  return resolved;
}
`;

/** What a client must not load: gRPC, the gateway package, the reconciler, the host and its runtime. */
const SERVICE_MODULES = [
  /\/@grpc\//,
  /\/gateway\/dist\//,
  /\/apps\/dist\/reconciler\//,
  /\/apps\/dist\/bin\//,
  /\/host\/dist\//,
  /\/operator\/dist\//,
  /\/@kubernetes\//,
  /\.node$/,
];

/** The module URLs `wasmesh ...args` resolves. */
async function modulesOf(args: string[]): Promise<{ code: number | null; urls: string[]; stderr: string }> {
  const dir = tempDir('wasmesh-client-only-');
  const hooks = path.join(dir, 'hooks.mjs');
  const record = path.join(dir, 'modules.txt');
  const preload = path.join(dir, 'preload.mjs');
  writeFileSync(hooks, HOOKS);
  writeFileSync(record, '');
  writeFileSync(
    preload,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: ${JSON.stringify(record)} });\n`,
  );
  const res = await wasmesh(args, { NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` });
  return { code: res.code, urls: readFileSync(record, 'utf8').split('\n').filter(Boolean), stderr: res.stderr };
}

test.each([
  [['--help']],
  [['get', 'hosts', '--nats', 'nats://127.0.0.1:1', '--timeout-ms', '500']],
  [['app', 'validate', '/nonexistent.yaml']],
])(
  'wasmesh %j loads no service module (gRPC, gateway, reconciler, host)',
  async (args) => {
    const { urls, stderr } = await modulesOf(args);
    // The hooks saw the CLI itself and the lattice library it uses (so they do record).
    expect(urls).toContain(pathToFileURL(wasmeshBin).href);
    expect(urls.some((u) => u.includes('/lattice/dist/'))).toBe(true);
    expect(urls.filter((u) => SERVICE_MODULES.some((re) => re.test(u)))).toEqual([]);
    expect(stderr).not.toMatch(/ERR_INTERNAL/);
  },
  30_000,
);

test('cli/package.json depends on neither the gateway nor gRPC', () => {
  const pkg = JSON.parse(readFileSync(path.join(path.dirname(path.dirname(wasmeshBin)), 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(Object.keys(pkg.dependencies).filter((d) => /gateway|grpc|@wasmesh\/host/.test(d))).toEqual([]);
});

test.each([
  ['reconciler', 'wasmesh-reconciler'],
  ['gateway', 'wasmesh-gateway'],
  ['operator', 'wasmesh-operator'],
])('wasmesh %s --help is the help of %s', async (command, bin) => {
  const res = await wasmesh([command, '--help']);
  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(new RegExp(`^Usage: ${bin} \\[options\\]`));
  expect(res.stdout).toContain(`$ wasmesh ${command}`);
});
