export { type ServiceProcess, startServiceProcess } from "./service-process.js";
export { createTestDatabase, type TestDatabase } from "./test-database.js";
