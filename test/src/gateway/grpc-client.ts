/**
 * A plain @grpc/grpc-js client of a gateway, built from the same .proto files the gateway serves
 * (as any gRPC client would be), with promise helpers for unary calls and streams.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { loadDefinitions, LOADER_OPTIONS } from '@wasmesh/gateway';

type Ctor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client;
type Tree = { [name: string]: Tree & Ctor };

/** Clients of every service a gateway serves, plus reflection. */
export interface GatewayClients {
  control: grpc.Client;
  lattice: grpc.Client;
  apps: grpc.Client;
  health: grpc.Client;
  reflection: grpc.Client;
  close(): void;
}

/** Connects clients of Control, Lattice, Apps, Health and reflection v1 to `address`. */
export function connectClients(address: string): GatewayClients {
  const tree = grpc.loadPackageDefinition(loadDefinitions()) as unknown as Tree;
  const reflectionProto = path.resolve(
    path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')),
    'build',
    'proto',
  );
  const refl = grpc.loadPackageDefinition(
    loadSync('grpc/reflection/v1/reflection.proto', {
      ...LOADER_OPTIONS,
      keepCase: true,
      includeDirs: [reflectionProto],
    }),
  ) as unknown as Tree;
  const creds = grpc.credentials.createInsecure();
  const v1 = tree.wasmesh!.lattice!.v1!;
  const clients = {
    control: new v1.Control!(address, creds),
    lattice: new v1.Lattice!(address, creds),
    apps: new v1.Apps!(address, creds),
    health: new tree.grpc!.health!.v1!.Health!(address, creds),
    reflection: new refl.grpc!.reflection!.v1!.ServerReflection!(address, creds),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}

/** Calls unary `method` of `client`, with a deadline `deadlineMs` from now when given. */
export function unary<Res = Record<string, unknown>>(
  client: grpc.Client,
  method: string,
  request: object,
  deadlineMs?: number,
): Promise<Res> {
  const fn = (client as unknown as Record<string, grpc.requestCallback<Res> & ((...a: unknown[]) => void)>)[method];
  if (!fn) throw new Error(`no method ${method} on the client`);
  const options: grpc.CallOptions = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  return new Promise((resolve, reject) =>
    fn.call(client, request, new grpc.Metadata(), options, (err: grpc.ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

/** Opens server-streaming `method` of `client`. */
export function stream(client: grpc.Client, method: string, request: object): grpc.ClientReadableStream<unknown> {
  const fn = (client as unknown as Record<string, (req: object) => grpc.ClientReadableStream<unknown>>)[method];
  if (!fn) throw new Error(`no method ${method} on the client`);
  return fn.call(client, request);
}

/** Every message of server stream `call` until it ends (rejects with its error status). */
export function collect<T>(call: grpc.ClientReadableStream<unknown>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    call.on('data', (m: T) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

/** The wasmesh code in a failed call's trailers. */
export function wasmeshCode(err: unknown): unknown {
  return (err as grpc.ServiceError).metadata?.get('wasmesh-error-code')[0];
}

export { grpc };
