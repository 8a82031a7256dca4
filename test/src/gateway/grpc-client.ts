/**
 * A plain @grpc/grpc-js client of a gateway, built from the same .proto files the gateway serves
 * (as any gRPC client would be), with promise helpers for unary calls and streams, and the TLS a
 * secure gateway needs: a private CA, the gateway's certificate, and client certificates of a role.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { loadDefinitions, LOADER_OPTIONS, type GatewayTls } from '@wasmesh/gateway';
import { ensureServerTls, issueClientCert } from '@wasmesh/lattice';

/** A private CA in a temporary directory: the gateway's TLS files and client credentials of any role. */
export interface GatewayPki {
  /** The gateway's `tls` option: its certificate (for loopback) and the CA of client certificates. */
  tls: GatewayTls;
  /** The CA certificate (PEM): what a client trusts to verify the gateway. */
  ca: Buffer;
  /** A client certificate (and key, PEM) signed by the CA, whose subject OU is `role`. */
  issue(role: string, commonName?: string): Promise<{ cert: Buffer; key: Buffer }>;
  /** gRPC channel credentials trusting the CA, with a client certificate of `role`. */
  client(role: string, commonName?: string): Promise<grpc.ChannelCredentials>;
  /** Removes the directory. */
  remove(): void;
}

/** Makes a {@link GatewayPki} (a new CA each time: two of them do not trust each other). */
export async function gatewayPki(): Promise<GatewayPki> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-gw-pki-'));
  const files = await ensureServerTls(dir);
  const ca = readFileSync(files.caFile);
  const issue = async (role: string, commonName = `test-${role}`): Promise<{ cert: Buffer; key: Buffer }> => {
    const { cert, key } = await issueClientCert(dir, commonName, role);
    return { cert: Buffer.from(cert), key: Buffer.from(key) };
  };
  return {
    tls: { certFile: files.certFile, keyFile: files.keyFile, clientCaFile: files.caFile },
    ca,
    issue,
    async client(role, commonName) {
      const { cert, key } = await issue(role, commonName);
      return grpc.credentials.createSsl(ca, key, cert);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

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

/** The reflection services' definitions (v1 and v1alpha), as @grpc/reflection serves them. */
export function reflectionDefinitions(): PackageDefinition {
  const root = path.resolve(
    path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')),
    'build',
    'proto',
  );
  return loadSync(['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'], {
    ...LOADER_OPTIONS,
    keepCase: true,
    includeDirs: [root],
  });
}

/**
 * Connects clients of Control, Lattice, Apps, Health and reflection v1 to `address` with `creds`
 * (TLS with a client certificate for a secure gateway, `grpc.credentials.createInsecure()` else).
 */
export function connectClients(address: string, creds: grpc.ChannelCredentials): GatewayClients {
  const tree = grpc.loadPackageDefinition(loadDefinitions()) as unknown as Tree;
  const refl = grpc.loadPackageDefinition(reflectionDefinitions()) as unknown as Tree;
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

/** Opens server-streaming `method` of `client`, with a deadline `deadlineMs` from now when given. */
export function stream(
  client: grpc.Client,
  method: string,
  request: object,
  deadlineMs?: number,
): grpc.ClientReadableStream<unknown> {
  const fn = (
    client as unknown as Record<string, (req: object, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>>
  )[method];
  if (!fn) throw new Error(`no method ${method} on the client`);
  return fn.call(client, request, deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs });
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
