/**
 * @wasmesh/proto: the `.proto` sources of wasmesh (contracts, and later the control API, events and
 * invocation envelope) and a loader that parses them with protobufjs at run time, so no generated
 * code is committed.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';

/** Directory holding the `.proto` tree (import paths are relative to it, e.g. `wasmesh/examples/v1/greeter.proto`). */
export const protoDir: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every `.proto` file wasmesh ships, relative to {@link protoDir}. */
export const protoFiles: readonly string[] = Object.freeze(['wasmesh/examples/v1/greeter.proto']);

let cached: protobuf.Root | undefined;

/** Parses all shipped `.proto` files once and returns the resolved root. */
export function loadProtos(): protobuf.Root {
  if (!cached) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(protoDir, target);
    root.loadSync(protoFiles as string[], { keepCase: false });
    root.resolveAll();
    cached = root;
  }
  return cached;
}

/** Looks up a message type by its full name, e.g. `wasmesh.examples.v1.HelloRequest`. */
export function messageType(fullName: string): protobuf.Type {
  return loadProtos().lookupType(fullName);
}
