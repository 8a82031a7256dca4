/**
 * Contracts in one place: the ids, operations and capability names that @wasmesh/proto exports are
 * those of the `.proto` files (their `contract_id` options and rpcs), the built-in providers and
 * app manifests use them, and the reader refuses a contract without a well-formed id. (The
 * AssemblyScript codecs are generated from the same reader; the actors' tests exercise them.)
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUILTIN_CONTRACTS } from '@wasmesh/apps';
import { CAPABILITIES, ContractId, CONTRACTS, Operation } from '@wasmesh/proto';
import { loadProtoTree, protoDir } from '@wasmesh/proto/reflect';
import { keyValueProvider } from '@wasmesh/provider-keyvalue';
import { messagingProvider } from '@wasmesh/provider-messaging';
import { tempDir } from '../runtime/helpers.js';

test('the contract ids and capability names', () => {
  expect(ContractId).toEqual({
    ACTOR: 'wasmesh:actor',
    CONFIG: 'wasmesh:config', // an actor's own config, answered by its host (wasi:config)
    HTTPSERVER: 'wasmesh:httpserver',
    KEYVALUE: 'wasmesh:keyvalue',
    MESSAGING: 'wasmesh:messaging',
  });
  expect(CAPABILITIES).toEqual(Object.values(ContractId).sort());
});

test('the generated table is the one the .proto files give now (the build is not stale)', () => {
  const { services, contracts } = loadProtoTree();
  expect(CONTRACTS).toEqual(contracts.map(({ id, services, operations }) => ({ id, services, operations })));
  const operations = Operation as unknown as Record<string, Record<string, string>>;
  for (const s of services.filter((x) => x.operations.length > 0)) {
    expect([s.name, Object.values(operations[s.name] ?? {})]).toEqual([s.name, s.operations]);
  }
  expect(Operation.KeyValue.Get).toBe('KeyValue.Get');
  expect(Operation.MessageHandler.HandleMessage).toBe('MessageHandler.HandleMessage');
});

test('the built-in providers serve operations of their own contract, and manifests name the same ids', () => {
  const kv = keyValueProvider();
  expect(kv.contract).toBe(ContractId.KEYVALUE);
  expect(Object.keys(kv.operations).sort()).toEqual(Object.values(Operation.KeyValue).sort());
  const messaging = messagingProvider();
  expect(messaging.contract).toBe(ContractId.MESSAGING);
  expect(Object.keys(messaging.operations).sort()).toEqual(Object.values(Operation.Messaging).sort());
  for (const id of Object.values(BUILTIN_CONTRACTS)) expect(CAPABILITIES).toContain(id);
});

/** A `.proto` tree holding contract.proto and `files` in wasmesh/contracts/v1. */
function tree(files: Record<string, string>): string {
  const dir = tempDir();
  const sub = path.join(dir, 'wasmesh', 'contracts', 'v1');
  mkdirSync(sub, { recursive: true });
  copyFileSync(path.join(protoDir, 'wasmesh', 'contracts', 'v1', 'contract.proto'), path.join(sub, 'contract.proto'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(sub, name), text);
  return dir;
}
const lamp = (option: string) => ({
  'lamp.proto':
    'syntax = "proto3";\npackage wasmesh.contracts.v1;\nimport "wasmesh/contracts/v1/contract.proto";\n' +
    `service Lamp {\n  ${option}\n  rpc On(Empty) returns (Empty);\n}\nmessage Empty {}\n`,
});

test('a contract gets its id, operations and constant name from its option', () => {
  const { contracts } = loadProtoTree(tree(lamp('option (wasmesh.contracts.v1.contract_id) = "acme:smart-lamp";')));
  expect(contracts).toEqual([
    { id: 'acme:smart-lamp', constName: 'SMART_LAMP', services: ['Lamp'], operations: ['Lamp.On'] },
  ]);
});

test('a contract service without an id, with a malformed one or a misspelt option is refused, naming it', () => {
  expect(() => loadProtoTree(tree(lamp('')))).toThrow(
    'wasmesh/contracts/v1/lamp.proto: service Lamp has no contract id: add option (wasmesh.contracts.v1.contract_id) = "namespace:name";',
  );
  expect(() => loadProtoTree(tree(lamp('option (wasmesh.contracts.v1.contract_id) = "Lamp";')))).toThrow(
    'wasmesh/contracts/v1/lamp.proto: service Lamp: contract id "Lamp" is not namespace:name in lower case',
  );
  expect(() => loadProtoTree(tree(lamp('option (contract_id) = "acme:lamp";')))).toThrow(
    'wasmesh/contracts/v1/lamp.proto: service Lamp: write the contract id option as option (wasmesh.contracts.v1.contract_id) = "namespace:name";',
  );
});
