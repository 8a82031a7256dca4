// Generates the AssemblyScript SDK's protobuf codecs from the contract and example `.proto` files
// (proto/wasmesh/contracts, proto/wasmesh/examples) into actors/sdk/assembly/gen/<package>/<file>.ts
// (not committed; actors/scripts/build.mjs runs this first). So the guest side cannot drift from
// the `.proto` files: field numbers, types and names, contract ids and operation names all come
// from them, through the same reader as @wasmesh/proto's own generated code (proto/scripts/reflect.mjs).
//
// Per `.proto` file it writes: the contract id (`export const KEYVALUE: string = "wasmesh:keyvalue"`),
// a namespace of operation names per service (`KeyValue.Get` is `"KeyValue.Get"`), and a class per
// message with its fields (proto3 defaults), `static decode(buf)` (sets `error` on malformed
// input instead of trapping; unknown fields are skipped) and `encode()` (default values omitted,
// as proto3 does). The hand-written modules in actors/sdk/assembly/contracts re-export these and
// add helpers (clients of provider contracts, response builders).
//
// Supported field types: string, bytes (ArrayBuffer), bool, int32, int64, uint32, uint64, enums
// (i32), messages, and repeated strings, bytes and messages. Anything else (maps, oneofs, floats,
// fixed-width or zigzag integers, repeated numbers) fails the build naming the field: extend this
// generator when a contract needs one.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// The actors' build runs before TypeScript's, so it reads the proto package's script, not its dist.
import { loadProtoTree, protobuf, protoDir } from '../../proto/scripts/reflect.mjs';

const genDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'sdk', 'assembly', 'gen');
/** Packages whose messages actors exchange. */
const PACKAGES = /^wasmesh\.(contracts|examples)\.v\d+$/;

/** AssemblyScript type, default, wire type, decode and encode expressions of a scalar field type. */
const SCALARS = {
  string: { as: 'string', init: '""', wire: 'LEN', read: 'r.string()', write: (n, v) => `w.stringField(${n}, ${v})` },
  bytes: {
    as: 'ArrayBuffer',
    init: 'new ArrayBuffer(0)',
    wire: 'LEN',
    read: 'r.bytes().buffer',
    write: (n, v) => `w.bytesField(${n}, Uint8Array.wrap(${v}))`,
  },
  bool: {
    as: 'bool',
    init: 'false',
    wire: 'VARINT',
    read: 'r.varint() != 0',
    write: (n, v) => `w.boolField(${n}, ${v})`,
  },
  uint32: {
    as: 'u32',
    init: '0',
    wire: 'VARINT',
    read: '<u32>r.varint()',
    write: (n, v) => `w.varintField(${n}, <u64>${v})`,
  },
  uint64: { as: 'u64', init: '0', wire: 'VARINT', read: 'r.varint()', write: (n, v) => `w.varintField(${n}, ${v})` },
  int32: {
    as: 'i32',
    init: '0',
    wire: 'VARINT',
    read: '<i32>r.varint()',
    write: (n, v) => `w.varintField(${n}, <u64><i64>${v})`,
  },
  int64: {
    as: 'i64',
    init: '0',
    wire: 'VARINT',
    read: '<i64>r.varint()',
    write: (n, v) => `w.varintField(${n}, <u64>${v})`,
  },
};
/** How one element of a repeated string or bytes field is written. */
const REPEATED_WRITE = {
  string: (n, v) => `w.tag(${n}, WireType.LEN).string(${v})`,
  bytes: (n, v) => `w.tag(${n}, WireType.LEN).bytes(Uint8Array.wrap(${v}))`,
};

function fail(where, why) {
  throw new Error(`actors: cannot generate codecs for ${where}: ${why}`);
}

/** The generated module (relative to genDir, without .ts) of a `.proto` file, e.g. contracts/keyvalue. */
function moduleOf(file, pkg) {
  return `${pkg.split('.')[1]}/${path.basename(file, '.proto')}`;
}

/** A field's code: declaration, decode branch and encode statement. */
function fieldCode(message, field, imports) {
  const where = `${message.fullName.slice(1)}.${field.name} (field ${field.id})`;
  if (field.map) fail(where, 'map fields are not supported');
  if (field.partOf) fail(where, 'oneof fields are not supported');
  if (field.name === 'error') fail(where, '`error` is the name of the decode error property');
  const n = field.id;
  const self = `this.${field.name}`;
  const target = `m.${field.name}`;
  const type = field.resolvedType;
  if (type instanceof protobuf.Type) {
    const cls = type.name;
    if (type.filename !== message.filename) {
      imports.add(`${cls}|${moduleOf(type.filename, type.parent.fullName.slice(1))}`);
    }
    const decoded = `const v = ${cls}.decode(r.bytes().buffer);\n        if (v.error !== null && m.error === null) m.error = "${field.name}: " + v.error!;`;
    if (field.repeated) {
      return {
        decl: `${field.name}: ${cls}[] = [];`,
        read: { wire: 'LEN', body: `${decoded}\n        ${target}.push(v);` },
        write: `for (let i = 0; i < ${self}.length; i++) w.tag(${n}, WireType.LEN).bytes(Uint8Array.wrap(${self}[i].encode()));`,
      };
    }
    return {
      decl: `${field.name}: ${cls} | null = null;`,
      read: { wire: 'LEN', body: `${decoded}\n        ${target} = v;` },
      write: `if (${self} !== null) w.tag(${n}, WireType.LEN).bytes(Uint8Array.wrap(${self}!.encode()));`,
    };
  }
  const scalar = SCALARS[type instanceof protobuf.Enum ? 'int32' : field.type]; // enums travel as int32
  if (!scalar) fail(where, `type ${field.type} is not supported`);
  if (field.repeated) {
    if (!REPEATED_WRITE[field.type]) fail(where, `repeated ${field.type} is not supported`);
    return {
      decl: `${field.name}: ${scalar.as}[] = [];`,
      read: { wire: scalar.wire, body: `${target}.push(${scalar.read});` },
      write: `for (let i = 0; i < ${self}.length; i++) ${REPEATED_WRITE[field.type](n, `${self}[i]`)};`,
    };
  }
  return {
    decl: `${field.name}: ${scalar.as} = ${scalar.init};`,
    read: { wire: scalar.wire, body: `${target} = ${scalar.read};` },
    write: `${scalar.write(n, self)};`,
  };
}

function messageCode(message, imports) {
  if (message.nestedArray.length > 0) fail(message.fullName.slice(1), 'nested types are not supported');
  const name = message.name;
  const fields = message.fieldsArray.map((f) => ({ id: f.id, ...fieldCode(message, f, imports) }));
  const reads = fields.map(
    (f) => `if (f == ${f.id} && wt == WireType.${f.read.wire}) {\n        ${f.read.body}\n      } else `,
  );
  return `/** \`${message.fullName.slice(1)}\` */
export class ${name} {
${fields.map((f) => `  ${f.decl}\n`).join('')}  /** Set by \`decode\` when the input (or a message inside it) is malformed. */
  error: string | null = null;

  /** Decodes a message; unknown fields are skipped, malformed input sets \`error\`. */
  static decode(buf: ArrayBuffer): ${name} {
    const m = new ${name}();
    const r = new Reader(buf);
    while (r.more) {
      const t = r.tag();
      const f = t >> 3;
      const wt = t & 7;
      ${reads.join('')}r.skip(wt);
    }
    if (m.error === null) m.error = r.error;
    return m;
  }

  /** Encodes the message (fields with default values are left out). */
  encode(): ArrayBuffer {
    const w = new Writer();
${fields.map((f) => `    ${f.write}\n`).join('')}    return w.finish();
  }
}
`;
}

/** The generated AssemblyScript of one `.proto` file, or null when it defines nothing for actors. */
function fileCode(file, pkg, messages, services) {
  if (messages.length === 0 && services.length === 0) return null;
  const imports = new Set();
  const ids = [...new Set(services.map((s) => s.contractId).filter((id) => id !== null))];
  const parts = [
    ...ids.map((id) => {
      const c = loadedContracts.find((x) => x.id === id);
      return `/** The contract id of this file's services. */\nexport const ${c.constName}: string = "${id}";\n`;
    }),
    ...services
      .filter((s) => s.operations.length > 0)
      .map(
        (s) =>
          `/** Operation names of service \`${s.fullName}\`. */\nexport namespace ${s.name} {\n` +
          s.operations.map((o) => `  export const ${o.slice(s.name.length + 1)}: string = "${o}";\n`).join('') +
          '}\n',
      ),
    ...messages.map((m) => messageCode(m, imports)),
  ];
  const depth = moduleOf(file, pkg).split('/').length;
  const up = '../'.repeat(depth);
  const head = [
    `// Generated by actors/scripts/generate-codecs.mjs from proto/${file}: do not edit.`,
    messages.length > 0 ? `import { Reader, Writer, WireType } from "${up}protobuf";` : '',
    ...[...imports].map((i) => {
      const [cls, mod] = i.split('|');
      return `import { ${cls} } from "${up}gen/${mod}";`;
    }),
  ].filter((l) => l !== '');
  return `${head.join('\n')}\n\n${parts.join('\n')}`;
}

const { root, services, contracts: loadedContracts } = loadProtoTree();
const byFile = new Map();
const entry = (file, pkg) => {
  if (!byFile.has(file)) byFile.set(file, { pkg, messages: [], services: [] });
  return byFile.get(file);
};
(function walk(ns) {
  for (const n of ns.nestedArray ?? []) {
    if (n instanceof protobuf.Type && PACKAGES.test(n.parent.fullName.slice(1))) {
      entry(path.relative(protoDir, n.filename), n.parent.fullName.slice(1)).messages.push(n);
    } else if (n instanceof protobuf.Namespace && !(n instanceof protobuf.Type)) walk(n);
  }
})(root);
for (const s of services) entry(s.file, s.fullName.slice(0, s.fullName.lastIndexOf('.'))).services.push(s);

let written = 0;
for (const [file, { pkg, messages, services: own }] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
  const code = fileCode(file, pkg, messages, own);
  if (code === null) continue;
  const out = path.join(genDir, `${moduleOf(file, pkg)}.ts`);
  if (existsSync(out) && readFileSync(out, 'utf8') === code) continue;
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, code);
  written++;
}
if (written > 0)
  process.stdout.write(`actors: generated ${written} codec modules in ${path.relative(process.cwd(), genDir)}\n`);
