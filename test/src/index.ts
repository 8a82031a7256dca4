/** @wasmesh/test: fixtures and the harness that starts real servers for tests. */
export { actorPath, fixturePath, fixtureBuildDir, providerFixturePath, providerFixtureDir } from './fixtures.js';
export { NatsServer, findNatsServerBinary, type NatsServerOptions } from './harness/nats-server.js';
export { HostProcess, hostBin, type HostProcessOptions } from './harness/host-process.js';
export { RedisServer, findRedisServerBinary, freePort } from './harness/redis-server.js';
export { ProviderProcess, keyValueProviderBin, type ProviderProcessOptions } from './harness/provider-process.js';
