export { type CallFailure, callFailure } from "./call-failure.js";
export { type ServiceProcess, startServiceProcess } from "./service-process.js";
export { createTestDatabase, type TestDatabase } from "./test-database.js";
export { startTestTokenIssuer, type TestTokenIssuer } from "./test-tokens.js";
