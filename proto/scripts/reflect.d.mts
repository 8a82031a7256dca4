// Types of reflect.mjs, for the tests that check the contract table against the .proto files.
import type protobuf from 'protobufjs';

/** The @wasmesh/proto package directory; import paths of the `.proto` files are relative to it. */
export declare const protoDir: string;
/** The option, as the `.proto` files must spell it. */
export declare const CONTRACT_ID_OPTION: string;
/** The protobufjs instance the tree is loaded with. */
export declare const protobuf: typeof import('protobufjs');
/** Every `.proto` file under `dir` (default: this package's wasmesh/), absolute, sorted. */
export declare function protoFiles(dir?: string): string[];

/** A contract or example service of the tree. */
export interface ReflectedService {
  readonly name: string;
  readonly fullName: string;
  /** Its `.proto` file, relative to the tree's directory. */
  readonly file: string;
  readonly contractId: string | null;
  readonly operations: readonly string[];
}

/** One contract id and what carries it. */
export interface ReflectedContract {
  readonly id: string;
  readonly constName: string;
  readonly services: readonly string[];
  readonly operations: readonly string[];
}

/** Loads the `.proto` tree under `dir`/wasmesh (default: this package's); throws on a bad contract id option. */
export declare function loadProtoTree(dir?: string): {
  root: protobuf.Root;
  services: ReflectedService[];
  contracts: ReflectedContract[];
};
