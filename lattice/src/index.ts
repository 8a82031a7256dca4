/**
 * @wasmesh/lattice: what every wasmesh process shares — typed errors and logging today; subjects,
 * codecs, the control client and lattice state as the lattice grows.
 */
export { WasmeshError, isWasmeshError } from './errors.js';
export { ExitCode, type ExitCodeValue } from './exit-codes.js';
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './logger.js';
