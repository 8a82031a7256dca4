/**
 * @wasmesh/provider-http-server: the HTTP server capability provider (contract
 * `wasmesh:httpserver`). Run it as a process (`builtin:http-server` under a host) or embed it with
 * `createHttpServerProvider()`.
 */
import type { ProviderDefinition, ProviderFactory } from '@wasmesh/provider-sdk';
import { httpServerProvider } from './provider.js';
export { httpServerProvider, createHttpServerProvider, type LinkRoute } from './provider.js';
export {
  DEFAULT_ADDRESS,
  isLoopback,
  parseAddress,
  parseRouteConfig,
  parseServerConfig,
  type RouteConfig,
  type ServerConfig,
} from './config.js';
export { errorAnswer, rawErrorAnswer, type AnswerStyle } from './answer.js';
export { hasDotSegment, splitTarget, statusFor } from './gateway.js';
export { RouteTable, hostOf, type Route, type RouteMatch } from './routes.js';

/**
 * What a host loads to run `builtin:http-server` in-process: the same definition the process runs,
 * from the same bootstrap environment.
 */
export const providerDefinition: ProviderFactory = () => httpServerProvider() as ProviderDefinition<unknown>;
