/** OCI artifacts: Wasm modules pushed to and pulled from OCI registries (`oci://` references). */
export {
  OCI_SCHEME,
  isOciRef,
  isOciTagRef,
  parseOciRef,
  pinnedRef,
  isLoopbackRegistry,
  type OciReference,
} from './reference.js';
export { dockerConfigPath, dockerCredentials, type RegistryCredentials } from './credentials.js';
export { RegistryClient, DEFAULT_REGISTRY_TIMEOUT_MS, type RegistryClientOptions } from './registry-client.js';
export { OciCache, defaultOciCacheDir } from './cache.js';
export {
  pushWasmArtifact,
  pullWasmArtifact,
  OCI_MANIFEST_MEDIA_TYPE,
  WASM_CONFIG_MEDIA_TYPE,
  WASM_LAYER_MEDIA_TYPE,
  MAX_MANIFEST_BYTES,
  DEFAULT_PULL_TIMEOUT_MS,
  type OciArtifactOptions,
  type PulledModule,
} from './wasm-artifact.js';
