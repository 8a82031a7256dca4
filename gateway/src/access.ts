/**
 * Who may call what through the gateway: one table, method → the least role that may call it,
 * enforced for every call by one server interceptor, from the role in the client certificate
 * (its subject's OU, as `wasmesh creds gateway-cert` and `wasmesh up --gateway` issue them).
 *
 * The roles are the lattice's NATS roles (see `@wasmesh/lattice` roles.ts), with the same meaning:
 *   admin   everything.
 *   reader  reads: what the NATS reader role may do (ping, inventory, claims, KV reads, events).
 *   any     health and reflection: any client whose certificate the gateway's CA signed.
 * Other roles (host, provider, app) get `any` only: they are NATS identities, not gateway clients.
 *
 * Decisions:
 * - `Lattice/Invoke` is admin only. An invocation runs actor code that can change state (a
 *   counter increments, a key is written, a message is sent), and a NATS reader may not publish
 *   on rpc subjects either.
 * - `Control/AuctionActor` is admin only: it is the first step of placing an actor, and the NATS
 *   reader role may not publish the auction request.
 * A method missing from the table is refused (deny by default), and the gateway does not start
 * with a service whose methods are not all in it ({@link classifiedServer}).
 */
import {
  ServerInterceptingCall,
  type Server,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { WasmeshError, type Logger } from '@wasmesh/lattice';
import { APPS_SERVICE, CONTROL_SERVICE, HEALTH_SERVICE, LATTICE_SERVICE } from './protos.js';
import { toServiceError } from './status.js';

/** What grpc-js knows of a call's connection: the verified peer certificate under TLS. */
export type AuthContext = ReturnType<ServerInterceptingCallInterface['getAuthContext']>;

/** The least a caller needs: `any` authenticated client, a `reader`, or an `admin`. */
export type Access = 'any' | 'reader' | 'admin';

/** Fully-qualified names of the reflection services grpc-js's ReflectionService adds. */
export const REFLECTION_SERVICES = Object.freeze([
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
]);

/** The table: service → method → least role (see the module comment). */
export const METHOD_ACCESS: Readonly<Record<string, Readonly<Record<string, Access>>>> = Object.freeze({
  [CONTROL_SERVICE]: {
    Ping: 'reader',
    GetInventory: 'reader',
    GetClaims: 'reader',
    AuctionActor: 'admin',
    StopHost: 'admin',
    PutLabel: 'admin',
    DeleteLabel: 'admin',
    StartActor: 'admin',
    StopActor: 'admin',
    UpdateActor: 'admin',
    StartProvider: 'admin',
    StopProvider: 'admin',
  },
  [LATTICE_SERVICE]: {
    ListLinks: 'reader',
    GetConfig: 'reader',
    ListConfig: 'reader',
    ListProviders: 'reader',
    WatchEvents: 'reader',
    PutLink: 'admin',
    DeleteLink: 'admin',
    PutConfig: 'admin',
    DeleteConfig: 'admin',
    Invoke: 'admin',
  },
  [APPS_SERVICE]: {
    ListApps: 'reader',
    GetAppStatus: 'reader',
    ListAppVersions: 'reader',
    PutApp: 'admin',
    DeployApp: 'admin',
    UndeployApp: 'admin',
    DeleteApp: 'admin',
  },
  [HEALTH_SERVICE]: { Check: 'any', Watch: 'any', List: 'any' },
  ...Object.fromEntries(REFLECTION_SERVICES.map((s) => [s, { ServerReflectionInfo: 'any' }])),
});

/** The table by gRPC path (`/wasmesh.lattice.v1.Control/Ping`). */
const ACCESS_BY_PATH = new Map<string, Access>(
  Object.entries(METHOD_ACCESS).flatMap(([service, methods]) =>
    Object.entries(methods).map(([method, access]) => [`/${service}/${method}`, access] as const),
  ),
);

/** The least role `path` needs; undefined when the table does not list it. */
export function accessOf(path: string): Access | undefined {
  return ACCESS_BY_PATH.get(path);
}

/** Whether a client of `role` may call what needs `access`. */
export function allows(role: string | undefined, access: Access): boolean {
  if (access === 'any') return true;
  if (access === 'reader') return role === 'reader' || role === 'admin';
  return role === 'admin';
}

/** The role in a verified client certificate: its subject's single OU (several OUs are none). */
export function roleOf(auth: AuthContext): string | undefined {
  const ou: unknown = auth.sslPeerCertificate?.subject?.OU;
  return typeof ou === 'string' ? ou : undefined;
}

/** Throws `WASMESH_ERR_PERMISSION_DENIED` unless the client of `auth` may call `path`. */
export function authorize(path: string, auth: AuthContext): void {
  const access = accessOf(path);
  const role = roleOf(auth);
  // A verified certificate is needed even for `any` (the TLS handshake already insists on one).
  if (access !== undefined && auth.sslPeerCertificate && allows(role, access)) return;
  const rpc = path
    .slice(1)
    .replace(/^.*\.(\w+\/\w+)$/, '$1')
    .replace('/', '.');
  const who = auth.sslPeerCertificate
    ? `the client certificate "${auth.sslPeerCertificate.subject?.CN ?? ''}" has role ${role === undefined ? '(none: no single OU)' : `"${role}"`}`
    : 'the call has no verified client certificate';
  const why = access === undefined ? 'is not served to anyone' : `needs the ${access} role`;
  throw new WasmeshError('WASMESH_ERR_PERMISSION_DENIED', `${rpc} ${why}; ${who}`, {
    details: { rpc, required: access ?? null, role: role ?? null },
  });
}

/**
 * The interceptor that authorizes every call before its handler runs: a refused call ends with
 * PERMISSION_DENIED and the wasmesh code in the trailers, and its request is never read.
 */
export function authorizer(logger: Logger): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => {
            try {
              authorize(method.path, call.getAuthContext());
            } catch (err) {
              logger.info({ rpc: method.path, peer: call.getPeer(), err }, 'gRPC call refused');
              call.sendStatus(toServiceError(err));
              return;
            }
            proceed(metadata);
          },
        }),
    });
}

/**
 * `server`, as far as adding services goes, refusing a service with a method the table does not
 * list: a new rpc must be classified before it can be served.
 */
export function classifiedServer(server: Server): Pick<Server, 'addService'> {
  return {
    addService(service: ServiceDefinition, implementation) {
      for (const { path } of Object.values(service)) {
        if (accessOf(path) === undefined) {
          throw new WasmeshError(
            'WASMESH_ERR_INTERNAL',
            `gRPC method ${path} has no entry in the gateway's access table (gateway/src/access.ts)`,
            { details: { path } },
          );
        }
      }
      server.addService(service, implementation);
    },
  };
}
