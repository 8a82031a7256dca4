// Reads the `.proto` tree with protobufjs and derives the contract table from it, so contract ids
// and operation names are written once, in the `.proto` files: every service of a
// `wasmesh.contracts.*` package carries the `contract_id` option (wasmesh/contracts/v1/contract.proto)
// and every rpc of a contract or example service is an operation `<Service>.<Method>`.
// Used by generate.mjs (proto/gen/contracts.js, what @wasmesh/proto exports) and by the
// AssemblyScript codec generator (actors/scripts/generate-codecs.mjs), so both read one source.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The protobufjs instance the tree is loaded with (for `instanceof` checks on its reflection objects). */
export { protobuf };

/** The @wasmesh/proto package directory; import paths of the `.proto` files are relative to it. */
export const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The option, as the `.proto` files must spell it (fully qualified, so any reader finds it). */
export const CONTRACT_ID_OPTION = '(wasmesh.contracts.v1.contract_id)';

/** Packages whose services are actor-facing operations (the lattice's own services are not). */
const OPERATION_PACKAGES = /^wasmesh\.(contracts|examples)\./;
const CONTRACT_PACKAGES = /^wasmesh\.contracts\./;
/** `namespace:name` in lower case, as lattice/src/links.ts accepts. */
const CONTRACT_ID = /^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/;

// protobufjs ships google/protobuf/descriptor.proto (which contract.proto extends) next to its code.
const googleDir = path.dirname(createRequire(import.meta.url).resolve('protobufjs/package.json'));

/** Every `.proto` file under wasmesh/, absolute, sorted. */
export function protoFiles(dir = path.join(protoDir, 'wasmesh')) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return protoFiles(p);
      return e.name.endsWith('.proto') ? [p] : [];
    })
    .sort();
}

function allServices(ns) {
  return (ns.nestedArray ?? []).flatMap((n) =>
    n instanceof protobuf.Service ? [n] : n instanceof protobuf.Namespace ? allServices(n) : [],
  );
}

/** The contract id a service declares, or null; throws on a misspelt or malformed option. */
function contractIdOf(service, where) {
  const keys = Object.keys(service.options ?? {}).filter((k) => k.includes('contract_id'));
  if (keys.some((k) => k !== CONTRACT_ID_OPTION)) {
    throw new Error(`${where}: write the contract id option as option ${CONTRACT_ID_OPTION} = "namespace:name";`);
  }
  if (keys.length === 0) return null;
  const id = service.options[CONTRACT_ID_OPTION];
  if (typeof id !== 'string' || !CONTRACT_ID.test(id)) {
    throw new Error(`${where}: contract id ${JSON.stringify(id)} is not namespace:name in lower case`);
  }
  return id;
}

/**
 * Loads and resolves every `.proto` file under `dir`/wasmesh (`dir` defaults to this package's) and returns:
 * - `root`: the protobufjs Root (field names in camelCase, as protobufjs gives them);
 * - `services`: every contract and example service, `{ name, fullName, file, contractId, operations }`
 *   (`file` relative to `dir`, `contractId` null for a service outside a contract);
 * - `contracts`: one entry per contract id, `{ id, constName, services, operations }` sorted by id,
 *   where `constName` is the id's name part in upper case (`wasmesh:keyvalue` → `KEYVALUE`).
 * Throws naming the file and service when a contract service lacks its id or ids clash.
 */
export function loadProtoTree(dir = protoDir) {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) =>
    target.startsWith('google/protobuf/') ? path.join(googleDir, target) : path.join(dir, target);
  root.loadSync(
    protoFiles(path.join(dir, 'wasmesh')).map((f) => path.relative(dir, f)),
    { keepCase: false },
  );
  root.resolveAll();

  const services = allServices(root)
    .filter((s) => OPERATION_PACKAGES.test(s.fullName.slice(1)))
    .map((s) => {
      const file = path.relative(dir, s.filename);
      const where = `${file}: service ${s.name}`;
      const contractId = contractIdOf(s, where);
      if (contractId === null && CONTRACT_PACKAGES.test(s.fullName.slice(1))) {
        throw new Error(`${where} has no contract id: add option ${CONTRACT_ID_OPTION} = "namespace:name";`);
      }
      return {
        name: s.name,
        fullName: s.fullName.slice(1),
        file,
        contractId,
        operations: s.methodsArray.map((m) => `${s.name}.${m.name}`),
      };
    })
    .sort((a, b) => a.fullName.localeCompare(b.fullName));
  const byName = new Map();
  for (const s of services) {
    const other = byName.get(s.name);
    if (other) throw new Error(`services ${other.fullName} and ${s.fullName} share the operation prefix ${s.name}`);
    byName.set(s.name, s);
  }

  const ids = [...new Set(services.flatMap((s) => (s.contractId ? [s.contractId] : [])))].sort();
  const constNames = new Map();
  const contracts = ids.map((id) => {
    const constName = id
      .slice(id.indexOf(':') + 1)
      .replace(/-/g, '_')
      .toUpperCase();
    if (constNames.has(constName)) throw new Error(`contract ids ${constNames.get(constName)} and ${id} clash`);
    constNames.set(constName, id);
    const own = services.filter((s) => s.contractId === id);
    return { id, constName, services: own.map((s) => s.name), operations: own.flatMap((s) => s.operations) };
  });
  return { root, services, contracts };
}
