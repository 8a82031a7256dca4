/** @wasmesh/test: fixtures and (later) the harness that starts real servers for tests. */
export { actorPath, fixturePath, fixtureBuildDir } from './fixtures.js';
