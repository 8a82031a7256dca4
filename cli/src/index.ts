/** @wasmesh/cli: the `wasmesh` command tree, exported for embedding and tests. */
export { buildProgram } from './program.js';
export { HOST_COMMANDS, hostBinPath, forwardToHost } from './host-bin.js';
