export { type CallFailure, callFailure, rejection } from "./call-failure.js";
export {
  captureLogs,
  type EventsTestKit,
  type LogCapture,
  startEventsTestKit,
} from "./events-test-kit.js";
export { freePort } from "./free-port.js";
export { type ServiceProcess, startServiceProcess } from "./service-process.js";
export {
  createTestDatabase,
  databaseServerUrl,
  type TestDatabase,
  withDatabaseServer,
} from "./test-database.js";
export {
  publishTestEvent,
  startTestNatsServer,
  type TestEventStreams,
  type TestNatsServer,
  testEventStreams,
} from "./test-events.js";
export { startTestTokenIssuer, type TestTokenIssuer } from "./test-tokens.js";
export { waitFor } from "./wait-for.js";
