/**
 * `wasmesh new actor --lang ts <name>`: a new actor project in TypeScript, built into a
 * WebAssembly component (wasi:http) with componentize-js. The project is the hello example
 * (actors/hello-ts) under the new name, with the build script the examples use
 * (actors/scripts/componentize-ts.mjs), so a new project builds exactly as they do. It needs only
 * npm packages: `npm install && npm run build`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '@wasmesh/lattice';
import { examples, printJson, printLines } from '../common.js';

/** The languages `new actor` scaffolds. */
const LANGUAGES = ['ts'] as const;

/**
 * Versions a new project pins: those the examples are built with (actors/package.json and the
 * root package.json; a test checks they agree). wizer 10: the newer releases' builds for other
 * platforms are not all on the registry, which makes `npm ci` refuse a lock file.
 */
export const TS_ACTOR_DEPENDENCIES = Object.freeze({
  '@bytecodealliance/componentize-js': '0.23.0',
  '@bytecodealliance/preview2-shim': '0.25.0',
  typescript: '~5.9.3',
});
const TS_ACTOR_OVERRIDES = Object.freeze({ '@bytecodealliance/wizer': '10.0.0' });

/** Actor names: what a package, a WIT package and an actor id all accept. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

interface NewActorOptions {
  lang: string;
  dir?: string;
  json?: boolean;
}

/** Where a file of the actors package (the examples and the build script) is. */
function actorsFile(...parts: string[]): string {
  const actorsDir = path.dirname(path.dirname(fileURLToPath(import.meta.resolve('@wasmesh/actors'))));
  return path.join(actorsDir, ...parts);
}

/**
 * The WIT of the interfaces wasmesh provides (wasi:keyvalue, wasi:logging, wasi:config) and their
 * TypeScript typings, in the proto package: the project gets a copy (`wasmesh-wit/`), which its
 * build script and tsconfig use.
 */
function wasmeshWitDir(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.resolve('@wasmesh/proto/package.json'))), 'wit');
}

/** Writes the project for actor `name` into `dir`; returns the files written (relative to `dir`). */
async function scaffoldTs(name: string, dir: string): Promise<string[]> {
  const world = (await readFile(actorsFile('hello-ts', 'component', 'world.wit'), 'utf8'))
    .replace(/^\/\/.*\n/gm, '')
    .replace(/^package [^;]+;/m, `package local:${name};`);
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(
      {
        name,
        version: '0.1.0',
        private: true,
        type: 'module',
        description: `The ${name} actor: a WebAssembly component serving wasi:http, written in TypeScript`,
        scripts: { build: `node componentize-ts.mjs src/index.ts wit/world.wit build/${name}.wasm` },
        devDependencies: TS_ACTOR_DEPENDENCIES,
        overrides: TS_ACTOR_OVERRIDES,
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'ESNext',
          lib: ['ES2022', 'WebWorker', 'WebWorker.Iterable'],
          types: [],
        },
        include: ['src', 'wasmesh-wit/types'],
      },
      null,
      2,
    )}\n`,
    'wit/world.wit': `// What the ${name} actor imports and exports: it serves HTTP (wasi:http 0.2).\n${world}`,
    '.gitignore': 'node_modules/\nbuild/\n',
    'README.md': readme(name),
  };
  await mkdir(path.join(dir, 'src'), { recursive: true });
  await mkdir(path.join(dir, 'wit'), { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  await copyFile(actorsFile('hello-ts', 'component', 'index.ts'), path.join(dir, 'src', 'index.ts'));
  await copyFile(actorsFile('scripts', 'componentize-ts.mjs'), path.join(dir, 'componentize-ts.mjs'));
  const wit: string[] = [];
  for (const sub of ['deps', 'types']) {
    await cp(path.join(wasmeshWitDir(), sub), path.join(dir, 'wasmesh-wit', sub), { recursive: true });
    const listed = await readdir(path.join(dir, 'wasmesh-wit', sub), { recursive: true, withFileTypes: true });
    for (const f of listed.filter((e) => e.isFile())) {
      wit.push(path.relative(dir, path.join(f.parentPath, f.name)).split(path.sep).join('/'));
    }
  }
  return [...Object.keys(files), 'src/index.ts', 'componentize-ts.mjs', ...wit].sort();
}

function readme(name: string): string {
  return `# ${name}

A wasmesh actor written in TypeScript: a WebAssembly component that serves HTTP through
\`wasi:http/incoming-handler\`, built with componentize-js. It answers \`GET /hello/<name>\`.

\`\`\`sh
npm install
npm run build                      # build/${name}.wasm (10+ MB: it embeds a JS engine)
wasmesh inspect build/${name}.wasm # kind: component; actor: yes
\`\`\`

Edit \`src/index.ts\`: an HTTP request arrives as a \`fetch\` event, and the \`Response\` you give
\`respondWith\` is the answer. \`wit/world.wit\` says what the component imports and exports; to
use a key-value store, logging or the actor's config, import what wasmesh provides
(\`wasmesh-wit/deps\`, typed in \`wasmesh-wit/types\`), e.g. \`import wasi:keyvalue/store@0.2.0-draft;\`
in the world and \`import { open } from 'wasi:keyvalue/store@0.2.0-draft';\` in the code.

Sign it, push it and route HTTP requests to it on a lattice (\`wasmesh up\` in another shell):

\`\`\`sh
wasmesh keys gen account --out issuer.nk
wasmesh sign build/${name}.wasm --issuer-seed issuer.nk --cap wasmesh:httpserver -o build/${name}.wasm
wasmesh start actor "$(wasmesh push build/${name}.wasm)" --id ${name}
wasmesh config put ${name}-route path=/${name} strip_prefix=true
wasmesh link put ${name} http-server wasmesh:httpserver --config ${name}-route
curl http://127.0.0.1:8080/${name}/hello/you
\`\`\`
`;
}

/** Registers `new` on `program`. */
export function registerNew(program: Command): void {
  const group = program.command('new').description('make a new project (an actor written in TypeScript)');
  examples(
    group
      .command('actor')
      .description('make a new actor project: a TypeScript component serving wasi:http, built with componentize-js')
      .argument('<name>', 'the actor name: lower case letters, digits and dashes, starting with a letter')
      .requiredOption('--lang <lang>', `the language: ${LANGUAGES.join(', ')}`)
      .option('--dir <dir>', 'where to make the project folder <name> (default: the current directory)')
      .option('--json', 'print {ok, dir, files} as JSON'),
    [
      'wasmesh new actor --lang ts greeter',
      'cd greeter && npm install && npm run build',
      'wasmesh new actor --lang ts shop-api --dir ~/src --json',
    ],
    'The folder must not exist yet, or be empty: nothing is overwritten.',
  ).action(async (name: string, opts: NewActorOptions) => {
    if (!(LANGUAGES as readonly string[]).includes(opts.lang)) {
      throw new UsageError(`--lang ${opts.lang} is not scaffolded; the languages are: ${LANGUAGES.join(', ')}`, {
        details: { lang: opts.lang },
      });
    }
    if (!NAME.test(name)) {
      throw new UsageError(
        `actor name "${name}" must be lower case letters, digits and dashes, starting with a letter (at most 63)`,
        { details: { name } },
      );
    }
    const dir = path.resolve(opts.dir ?? '.', name);
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new UsageError(`${dir} exists and is not empty: nothing was written`, { details: { dir } });
    }
    const files = await scaffoldTs(name, dir);
    if (opts.json) {
      printJson({ ok: true, dir, files });
      return;
    }
    printLines([
      `made ${dir}`,
      ...files.map((f) => `  ${f}`),
      'next:',
      `  cd ${path.relative(process.cwd(), dir) || '.'} && npm install && npm run build`,
    ]);
  });
}
