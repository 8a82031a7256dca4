/**
 * @wasmesh/gateway: the lattice control API over gRPC (`wasmesh gateway --listen ADDR`). Serves
 * `wasmesh.lattice.v1.Control`, `Lattice` and `Apps` from the same .proto files as the NATS side,
 * with the standard health service and server reflection, over TLS with client certificates whose
 * role authorizes each call (access.ts); wasmesh errors map to gRPC status codes (see README.md).
 */
export { Gateway, SERVED_SERVICES, type GatewayState } from './gateway.js';
export { runGateway, type RunGatewayOptions } from './run.js';
export {
  resolveConfig,
  DEFAULT_LISTEN,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type GatewayOptions,
  type GatewayConfig,
} from './config.js';
export { METHOD_ACCESS, REFLECTION_SERVICES, accessOf, allows, authorize, roleOf, type Access } from './access.js';
export { isLoopback, type GatewayTls } from './transport.js';
export { grpcStatusOf, toServiceError, ERROR_CODE_KEY } from './status.js';
export {
  loadDefinitions,
  protoRoot,
  LOADER_OPTIONS,
  CONTROL_SERVICE,
  LATTICE_SERVICE,
  APPS_SERVICE,
  HEALTH_SERVICE,
} from './protos.js';
