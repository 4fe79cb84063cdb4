// What services build on. Building blocks that only the repository's tools and benchmarks use are exported
// from `@tourmesh/platform/internal`; test kits from `@tourmesh/platform/testing`.

export { type MethodAccess, methodAccess, requireScopes } from "./access.js";
export {
  type AuthFailureReason,
  AuthMetrics,
  type Caller,
  scopesOf,
  TokenVerifier,
  type TokenVerifierOptions,
} from "./auth.js";
export { type CallContext, currentCallContext, signedInCaller } from "./call-context.js";
export {
  type BaseConfig,
  baseConfigSchema,
  type ConfigDefaults,
  configFields,
  REPOSITORY_FLAGS_FILE,
  tokenClaimsDefaults,
  tokenClaimsFields,
  tokenVerifierDefaults,
  tokenVerifierFields,
  tokenVerifierOptions,
} from "./config.js";
export { EncodedMessage } from "./descriptors.js";
export * from "./errors.js";
export {
  type ConsumerOptions,
  EventConsumer,
  type EventContext,
  type EventHandler,
  type InboxEventContext,
  type RetryLater,
  retryLater,
} from "./events/consumer.js";
export type { NewEvent } from "./events/envelope.js";
export { migrateOutbox } from "./events/event-tables.js";
export { changeWithEvents, recordEvent } from "./events/outbox.js";
export { FlagDefinitions, type FlagEvaluation, flagFileProblem } from "./flags/definitions.js";
export { callerContext, type FeatureFlags, type Followed, startFeatureFlags } from "./flags/feature-flags.js";
export type { FlagObserver, ObservedEvaluation } from "./flags/observer.js";
export { type CallOptions, type ClientOptions, createClient, type ServiceClient } from "./grpc-client.js";
export { GrpcServer, LIVENESS_SERVICE, type ServiceHandlers } from "./grpc-server.js";
export {
  type DrainableServer,
  type ProcessContext,
  type ProcessDefinition,
  type ProcessParts,
  type RunningProcess,
  runProcess,
} from "./lifecycle.js";
export { createLogger, type Logger } from "./logger.js";
export { GrpcMetrics, type HttpRoute } from "./metrics.js";
export { type PageTokenCodec, pageTokenCodec } from "./page-token.js";
export { Poller, type PollerOptions } from "./poller.js";
export {
  createPool,
  DatabaseMetrics,
  inTransaction,
  migrate,
  type Pool,
  type PoolClient,
  type PoolOptions,
} from "./postgres.js";
export {
  type DatabasePool,
  runService,
  type ServiceDatabase,
  type ServiceDefinition,
  type ServiceRuntime,
} from "./service.js";
export { retryInfoDetail, toConnectError } from "./status.js";
export { RequestCheck, textContentViolations } from "./validation.js";
