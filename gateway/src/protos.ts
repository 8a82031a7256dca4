/**
 * Loads the wasmesh `.proto` tree (and the standard health service's) with @grpc/proto-loader, so
 * the gRPC services are built from the same definitions as the NATS side's generated code.
 *
 * Loader options: `keepCase: false` turns `host_id` into `hostId`, the field names of the
 * protobufjs classes the lattice client returns and of the JSON the CLI prints, so lattice values
 * pass through unchanged; 64-bit integers are JS numbers (as on the NATS side, see
 * proto/scripts/generate.mjs); unset fields get their proto3 defaults (`''`, `0`, `[]`, `{}`), so a
 * missing id is an empty string.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadSync, type Options, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/** Fully-qualified name of the control service. */
export const CONTROL_SERVICE = 'wasmesh.lattice.v1.Control';
/** Fully-qualified name of the links/config/invoke/events service (gateway.proto). */
export const LATTICE_SERVICE = 'wasmesh.lattice.v1.Lattice';
/** Fully-qualified name of the app service (gateway.proto). */
export const APPS_SERVICE = 'wasmesh.lattice.v1.Apps';
/** Fully-qualified name of the standard health service. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** The options the gateway loads protos with (clients should use the same to see the same shapes). */
export const LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
});

/** The directory of @wasmesh/proto, which holds the `wasmesh/**` tree (import paths are relative to it). */
export function protoRoot(): string {
  return path.dirname(createRequire(import.meta.url).resolve('@wasmesh/proto/package.json'));
}

function protoFiles(root: string, dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return protoFiles(root, rel);
    return e.name.endsWith('.proto') ? [rel] : [];
  });
}

/**
 * Every `.proto` under `wasmesh/` plus `grpc/health/v1` health.proto, in one package definition
 * (reflection then describes all of them, the health service included).
 */
export function loadDefinitions(): PackageDefinition {
  const root = protoRoot();
  const healthRoot = path.resolve(path.dirname(healthProtoPath), '..', '..');
  const files = [...protoFiles(root, 'wasmesh').sort(), path.relative(healthRoot, healthProtoPath)];
  return withMapEntryNames(loadSync(files, { ...LOADER_OPTIONS, includeDirs: [root, healthRoot] }));
}

/** A FileDescriptorProto's message types, as far as {@link fixMapEntries} reads and edits them. */
interface MessageDescriptor {
  name: string;
  field?: { typeName?: string }[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean };
}

/**
 * `definitions` with the map-entry types in its file descriptors named as protoc names them
 * (`LabelsEntry` for a map field `labels`). protobufjs names them after the field (`Labels`), and
 * reflection clients such as grpcurl refuse such descriptors, so calls through reflection failed.
 */
function withMapEntryNames(definitions: PackageDefinition): PackageDefinition {
  const fixed = new Map<Buffer, Buffer>();
  for (const def of Object.values(definitions)) {
    const files = (def as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    if (!files) continue;
    for (let i = 0; i < files.length; i++) {
      const original = files[i]!;
      let out = fixed.get(original);
      if (!out) {
        const file = descriptor.FileDescriptorProto.decode(original) as unknown as {
          package?: string;
          messageType?: MessageDescriptor[];
        };
        for (const m of file.messageType ?? []) fixMapEntries(m, `.${file.package ?? ''}`);
        out = Buffer.from(descriptor.FileDescriptorProto.encode(file as never).finish());
        fixed.set(original, out);
      }
      files[i] = out;
    }
  }
  return definitions;
}

/** Renames the map-entry types nested in `message` (full name prefix `scope`) and the fields using them. */
function fixMapEntries(message: MessageDescriptor, scope: string): void {
  const full = `${scope}.${message.name}`;
  for (const nested of message.nestedType ?? []) {
    if (nested.options?.mapEntry && !nested.name.endsWith('Entry')) {
      // The field may name it relatively (`Labels`) or in full (`.pkg.Msg.Labels`).
      const names = new Set([nested.name, `${message.name}.${nested.name}`, `${full}.${nested.name}`]);
      nested.name = `${nested.name}Entry`;
      for (const f of message.field ?? [])
        if (f.typeName && names.has(f.typeName)) f.typeName = `${full}.${nested.name}`;
    }
    fixMapEntries(nested, full);
  }
}

/** The service `name` of `definitions`; throws naming it when the proto tree lacks it. */
export function serviceOf(definitions: PackageDefinition, name: string): ServiceDefinition {
  const def = definitions[name];
  if (!def || 'format' in def) {
    throw new Error(`the proto tree at ${protoRoot()} has no service ${name}`);
  }
  return def as ServiceDefinition;
}
