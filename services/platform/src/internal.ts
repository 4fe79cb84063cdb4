// Building blocks below the service API, for the repository's tools and benchmarks (an event-path benchmark
// that runs the events runtime on its own, the dead-letter redrive). Services use `@tourmesh/platform`.
export { loadConfig } from "./config.js";
export { type EventsConfig, eventsConfigSchema } from "./events/config.js";
export { redriveDeadLetters } from "./events/dead-letters.js";
export { EventMetrics } from "./events/event-metrics.js";
export { migrateInbox } from "./events/event-tables.js";
export { EventsRuntime, type EventsRuntimeOptions } from "./events/events-runtime.js";
