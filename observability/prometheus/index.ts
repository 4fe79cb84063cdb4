export { findExecutable } from "../executable.js";
export { type PrometheusConfigOptions, renderPrometheusConfig, type ScrapeTarget } from "./config.js";
export {
  type PrometheusOptions,
  prometheusMissing,
  type RunningPrometheus,
  startPrometheus,
} from "./server.js";
