/** @wasmesh/cli: the `wasmesh` command tree, exported for embedding and tests. */
export { buildProgram } from './program.js';
export {
  FORWARDED_COMMANDS,
  SERVICE_BINS,
  serviceBinPath,
  forwardToService,
  type ServiceBin,
  type ServiceName,
} from './service-bins.js';
export { quantile, snapshot, type ActorRow, type Inventory, type ProviderRow, type TopSnapshot } from './top-model.js';
