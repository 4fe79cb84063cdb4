export {
  type AuthFailureReason,
  AuthMetrics,
  type Caller,
  TokenVerifier,
  type TokenVerifierOptions,
} from "./auth.js";
export { type CallContext, currentCallContext } from "./call-context.js";
export { type BaseConfig, baseConfigSchema, ConfigError, configFields, loadConfig } from "./config.js";
export * from "./errors.js";
export { type EventsConfig, eventsConfigSchema } from "./events/config.js";
export {
  type ConsumerOptions,
  EventConsumer,
  type EventContext,
  type EventHandler,
  type InboxEventContext,
  type RetryLater,
  redeliveryDelayMs,
  retryLater,
} from "./events/consumer.js";
export {
  DeadLetterForwarder,
  deadLetterHeader,
  deadLetterSubject,
  redriveDeadLetters,
} from "./events/dead-letters.js";
export {
  type EventAttributes,
  eventHeader,
  eventHeaders,
  MESSAGE_ID_HEADER,
  type NewEvent,
  PROTOBUF_CONTENT_TYPE,
  readEventAttributes,
} from "./events/envelope.js";
export { EventMetrics } from "./events/event-metrics.js";
export { migrateInbox, migrateOutbox } from "./events/event-tables.js";
export { EventsRuntime, type EventsRuntimeOptions } from "./events/events-runtime.js";
export { changeWithEvents, OutboxRelay, type OutboxRelayOptions, recordEvent } from "./events/outbox.js";
export {
  type EventStreams,
  ensureStreams,
  eventStreams,
  maxDeliveriesAdvisorySubject,
} from "./events/streams.js";
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
export { Poller, type PollerOptions } from "./poller.js";
export {
  createPool,
  DatabaseMetrics,
  ensureDatabase,
  inTransaction,
  migrate,
  type Pool,
  type PoolClient,
  type PoolOptions,
} from "./postgres.js";
export { type RunningService, runService, type ServiceDefinition, type ServiceRuntime } from "./service.js";
export { decodeStatus, toConnectError } from "./status.js";
export { startTracing } from "./tracing.js";
export { RequestCheck } from "./validation.js";
