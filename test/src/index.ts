/** @wasmesh/test: fixtures and the harness that starts real servers for tests. */
export { actorPath, fixturePath, fixtureBuildDir, providerFixturePath, providerFixtureDir } from './fixtures.js';
export { NatsServer, findNatsServerBinary, type NatsServerOptions } from './harness/nats-server.js';
export { HostProcess, hostBin, type HostProcessOptions } from './harness/host-process.js';
export { RedisServer, findRedisServerBinary, freePort } from './harness/redis-server.js';
export { JaegerServer } from './harness/jaeger.js';
export { RegistryServer, findRegistryBinary, type RegistryServerOptions } from './harness/registry.js';
export { ProviderProcess, keyValueProviderBin, type ProviderProcessOptions } from './harness/provider-process.js';
export {
  KubeCluster,
  findHelmBinary,
  findKubeBinary,
  kubernetesVersion,
  type CommandOptions,
  type CommandResult,
  type KubeClusterOptions,
  type KubeCommand,
} from './harness/kube.js';
