/**
 * @wasmesh/gateway: the lattice control API over gRPC (`wasmesh gateway --listen ADDR`). Serves
 * `wasmesh.lattice.v1.Control` and `wasmesh.lattice.v1.Lattice` from the same .proto files as the
 * NATS side, with the standard health service and server reflection; wasmesh errors map to gRPC
 * status codes (see README.md).
 */
export { Gateway, SERVED_SERVICES, type GatewayState } from './gateway.js';
export { runGateway, type RunGatewayOptions } from './run.js';
export {
  resolveConfig,
  checkListen,
  DEFAULT_LISTEN,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type GatewayOptions,
  type GatewayConfig,
} from './config.js';
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
