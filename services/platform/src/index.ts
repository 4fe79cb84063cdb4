// First: instruments @grpc/grpc-js before any other module loads it (see instrumentation.ts).
import "./instrumentation.js";

export { bearerToken, type Caller, TokenVerifier, type TokenVerifierOptions } from "./auth.js";
export { type CallContext, currentCallContext } from "./call-context.js";
export { type BaseConfig, baseConfigSchema, ConfigError, configFields, loadConfig } from "./config.js";
export * from "./errors.js";
export {
  type CallOptions,
  type ClientOptions,
  createClient,
  retryServiceConfig,
  type ServiceClient,
} from "./grpc-client.js";
export { GrpcServer, LIVENESS_SERVICE, type ServiceHandlers } from "./grpc-server.js";
export { createLogger, type Logger } from "./logger.js";
export { GrpcMetrics, type HttpRoute, startMetricsServer } from "./metrics.js";
export { type PageTokenCodec, pageTokenCodec } from "./page-token.js";
export {
  createPool,
  ensureDatabase,
  inTransaction,
  migrate,
  type Pool,
  type PoolClient,
} from "./postgres.js";
export { type RunningService, runService, type ServiceDefinition, type ServiceRuntime } from "./service.js";
export { decodeStatus, toConnectError } from "./status.js";
export { startTracing } from "./tracing.js";
export { RequestCheck } from "./validation.js";
