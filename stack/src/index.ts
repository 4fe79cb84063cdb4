export { ensureInfrastructure, type Infrastructure, reachable } from "./infrastructure.js";
export {
  type ExternalCommand,
  type LaunchOptions,
  launchService,
  type NodeCommand,
  type ServiceCommand,
  type ServiceProcess,
  sourceCommand,
} from "./launcher.js";
export {
  LOG_FILE_SIZE,
  type LogEntry,
  type LogFiles,
  type LogQuery,
  openLogFiles,
  ROTATED_FILES_KEPT,
  searchLogs,
} from "./log-files.js";
export { logPrefix, readableLogLine } from "./log-lines.js";
export { scrapeTargets } from "./prometheus.js";
export { type Stack, type StackDatabase, type StackOptions, startStack } from "./stack.js";
export {
  addressVariable,
  infrastructure,
  jwksPath,
  type ServiceName,
  type ServiceSpec,
  serviceNames,
  serviceSpec,
  services,
  standardDatabaseServerUrl,
  standardNatsUrl,
  standardRedisUrl,
} from "./topology.js";
