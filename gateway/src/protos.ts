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
  return loadSync(files, { ...LOADER_OPTIONS, includeDirs: [root, healthRoot] });
}

/** The service `name` of `definitions`; throws naming it when the proto tree lacks it. */
export function serviceOf(definitions: PackageDefinition, name: string): ServiceDefinition {
  const def = definitions[name];
  if (!def || 'format' in def) {
    throw new Error(`the proto tree at ${protoRoot()} has no service ${name}`);
  }
  return def as ServiceDefinition;
}
