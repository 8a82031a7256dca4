/**
 * @wasmesh/lattice: what every wasmesh process shares — typed errors and logging, subjects,
 * protobuf codecs, the NATS connection, request/reply with deadlines, the control client, the
 * event stream, lattice state in JetStream KV, artifacts, actor invocation and tracing.
 */
export { WasmeshError, isWasmeshError } from './errors.js';
export { ExitCode, exitCodeFor, type ExitCodeValue } from './exit-codes.js';
export {
  UsageError,
  errorJson,
  reportError,
  intFlag,
  keyValueFlag,
  PARENT_PID_ENV,
  readInputFile,
  payloadFrom,
  bytesJson,
} from './command-line.js';
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './logger.js';
export {
  Subjects,
  checkToken,
  HOST_TARGETED_OPS,
  type ControlOp,
  type EventType,
  type InvocationTarget,
} from './subjects.js';
export {
  decode,
  encode,
  toErrorInfo,
  fromErrorInfo,
  okReply,
  errorReply,
  unwrapReply,
  type Decoder,
  type Encoder,
} from './codec.js';
export {
  connectNats,
  natsServers,
  newInbox,
  resolveAccess,
  DEFAULT_NATS_URL,
  type ConnectOptions,
  type NatsAccess,
} from './connection.js';
export { parseNatsUrls, natsUrlFlag, redactUrl, NATS_URL_SOURCE } from './nats-url.js';
export { connectNatsTransport } from './nats-transport.js';
export { EXIT_GRACE_MS, exitAfterGrace } from './exit-guard.js';
export { exitWithParent } from './exit-with-parent.js';
export { checkListen, listenHost, listenPort } from './listen-address.js';
export {
  latticeOptions,
  flagsAccess,
  withoutServers,
  examples,
  printJson,
  note,
  collect,
  runServiceBin,
  serveUntilStopped,
  type StoppableService,
  COMMAND_TIMEOUT,
  CONNECT_TIMEOUT,
  type LatticeOptions,
  type TimeoutSpec,
} from './service-command.js';
export { LatticeAuthority, type IssueOptions } from './auth/authority.js';
export { createNkey, nkeyFromSeed, verifyNkeySignature } from './nkeys.js';
export {
  readCredentials,
  parseCredentials,
  mintFromSigner,
  mintHostCredentials,
  isHostGroup,
  type Credentials,
  type SignerRole,
} from './auth/credentials.js';
export { ROLES, rolePermissions, inboxPrefixOf, type Role, type RolePermissions } from './auth/roles.js';
export { permissionDenied, refusalIn, type Refusal } from './auth/denied.js';
export { ensureServerTls, issueClientCert, issueServerCert, type TlsFiles } from './auth/tls.js';
export {
  request,
  controlRequest,
  scatter,
  serve,
  requestFailure,
  MAX_TIMER_MS,
  type Handler,
  type RequestOptions,
  type ScatterOptions,
  type ServeOptions,
} from './rpc.js';
export { ControlClient, CONTROL_TIMEOUT_MS, SCATTER_WAIT_MS } from './control-client.js';
export {
  publishEvent,
  subscribeEvents,
  encodeEvent,
  decodeEvent,
  EVENT_TYPES,
  type LatticeEvent,
  type EventBodies,
  type EventStreamOptions,
} from './events.js';
export { openBucket, StateBucket, type StateChange } from './state.js';
export {
  LatticeObjects,
  digestOf,
  parseArtifactRef,
  loadArtifact,
  artifactName,
  payloadObjectName,
  type ArtifactRef,
  type PayloadPart,
} from './artifacts.js';
export * from './oci/index.js';
export {
  allowDirsFromEnv,
  DEFAULT_MAX_MODULE_BYTES,
  FileJail,
  MAX_CONFIG_FILE_BYTES,
  readConfigFile,
  readRegularFile,
  type ReadRegularFileOptions,
} from './file-jail.js';
export {
  invoke,
  offloadIfLarge,
  receivePayload,
  inlinePayloadLimit,
  ENVELOPE_OVERHEAD,
  type InvocationOptions,
  type InvocationOutcome,
} from './invocation.js';
export {
  ensurePropagation,
  enableContextManager,
  traceHeaders,
  contextFrom,
  traceparentOf,
  inSpan,
  SpanKind,
  type SpanOptions,
} from './tracing.js';
export {
  metricsExporter,
  setupTelemetry,
  tracesExporter,
  type ExporterKind,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.js';
export {
  BucketHistogram,
  bucketHistogram,
  histogramProducer,
  HistogramSeries,
  MAX_SERIES,
  type BucketHistogramOptions,
} from './bucket-histogram.js';
export {
  CallRecorder,
  countsOf,
  CONVERGE_BUCKETS_S,
  DURATION_BUCKETS_S,
  errorType,
  type CallInstrumentNames,
  meter,
  MetricsEndpoint,
  withUnitSuffixes,
  type MetricsEndpointState,
} from './metrics.js';
export {
  LatticeClient,
  latticeName,
  DEFAULT_LATTICE,
  type LatticeClientOptions,
  type InvokeOptions,
} from './client.js';
export { LeaderElection, type ElectionState, type LeaderElectionOptions } from './leader.js';
export { LinkState, linkKey, describeLink, checkContract, mergeConfig, DEFAULT_LINK_NAME } from './links.js';
export { answerInvocation, runInvocation, type AnswerOptions, type InvocationRunner } from './serve-invocation.js';
export { LocalDispatch, servingTarget, type LocalCallObserver, type LocalTarget } from './local-dispatch.js';
export { InFlight } from './in-flight.js';
export { PROVIDER_MODES, isProviderMode, type ProviderMode } from './provider-mode.js';
export * from './claims/index.js';
