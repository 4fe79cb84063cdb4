export { type CallFailure, callFailure, rejection } from "./call-failure.js";
export {
  captureLogs,
  type EventsTestKit,
  type LogCapture,
  startEventsTestKit,
} from "./events-test-kit.js";
export { copyFlagFile, type FlagFileContents, type FlagFileCopy } from "./flag-file-copy.js";
export { freePort } from "./free-port.js";
export { postgresBinaries, type ReplicatedPostgres, startReplicatedPostgres } from "./postgres-servers.js";
export { type RedisServer, startRedisServer } from "./redis-server.js";
export {
  createTestDatabase,
  databaseServerUrl,
  type TestDatabase,
  withDatabaseServer,
} from "./test-database.js";
export {
  type NatsServer,
  publishTestEvent,
  republishLastEvent,
  startNatsServer,
  type TestEventStreams,
  testEventStreams,
} from "./test-events.js";
export { startTestTokenIssuer, type TestTokenIssuer } from "./test-tokens.js";
export { waitFor } from "./wait-for.js";
