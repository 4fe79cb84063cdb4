import type { z } from "zod";
import { type baseConfigSchema, type ConfigDefaults, loadConfig } from "./config.js";
import { type FeatureFlags, startFeatureFlags } from "./flags/feature-flags.js";
import { startLogExport } from "./log-export.js";
import { createLogger, type Logger } from "./logger.js";
import { GrpcMetrics, type HttpRoute, startMetricsServer } from "./metrics.js";
import { startTracing } from "./tracing.js";

/** The settings the lifecycle reads. Every process's schema has them: baseConfigSchema or one derived from it. */
export type LifecycleShape = Omit<typeof baseConfigSchema.shape, "MESH_MODE" | "DEFAULT_DEADLINE_MS">;
type LifecycleConfig = z.output<z.ZodObject<LifecycleShape>>;

/** A server the lifecycle starts on PORT and drains on SIGTERM: the gRPC server, or the gateway's edge. */
export interface DrainableServer {
  /** Binds the port (0 picks a free one), turns health to SERVING and returns the bound port. */
  start(port: number): Promise<number>;
  /**
   * Health turns NOT_SERVING, and after `delayMs` (for probes and load balancers to notice) the listener
   * closes; calls in flight get up to `graceMs` to finish, then the rest are cut off.
   */
  drain(options: { delayMs: number; graceMs: number }): Promise<void>;
}

/** What every process gets before it builds what it serves. */
export interface ProcessContext<Config> {
  config: Config;
  logger: Logger;
  metrics: GrpcMetrics;
  /** Its feature flags: the flag file's definitions, evaluated in process, kept in force as the file changes. */
  flags: FeatureFlags;
}

/** What a process serves, built but not yet listening. */
export interface ProcessParts {
  server: DrainableServer;
  /** Extra plain-HTTP routes on the metrics port (e.g. a JWKS document). */
  httpRoutes?: Record<string, HttpRoute>;
  /** Stops what runs beside the server, once the server has drained; before the metrics server closes. */
  stop?(): Promise<void>;
}

export interface ProcessDefinition<Schema extends z.ZodObject<LifecycleShape>> {
  /** Short name, e.g. "catalog": the log `service` field and the trace service name. */
  name: string;
  /** The process's config schema, derived from baseConfigSchema. */
  config: Schema;
  defaults: ConfigDefaults<Schema>;
  /** Builds the server and whatever runs beside it. */
  prepare(context: ProcessContext<z.output<Schema>>): ProcessParts | Promise<ProcessParts>;
}

export interface RunningProcess {
  /** The port the server listens on (for the gateway: gRPC, gRPC-Web and Connect alike). */
  grpcPort: number;
  metricsPort: number;
  /** Drains and stops everything the process started (what SIGTERM does, without exiting). */
  stop(): Promise<void>;
}

/**
 * Validates the environment against `schema`; a bad one ends the process with EX_CONFIG (78), since a bad
 * environment will not fix itself by restarting.
 */
export function loadConfigOrExit<Schema extends z.ZodObject>(
  name: string,
  schema: Schema,
  defaults?: ConfigDefaults<Schema>,
): z.output<Schema> {
  try {
    return loadConfig(schema, defaults);
  } catch (error) {
    console.error(`${name}: ${(error as Error).message}`);
    process.exit(78);
  }
}

/**
 * The one lifecycle of every process: validated config, logs (exported over OTLP too when an endpoint is set), tracing, feature flags, a metrics server, the server started
 * and logged as "serving" with its ports, and on SIGTERM/SIGINT a drain (health NOT_SERVING, the delay, the
 * grace period), then everything stopped in order and exit 0 (1 when shutting down fails).
 */
export async function runProcess<Schema extends z.ZodObject<LifecycleShape>>(
  definition: ProcessDefinition<Schema>,
): Promise<RunningProcess> {
  const config = loadConfigOrExit(definition.name, definition.config, definition.defaults);
  const lifecycle: LifecycleConfig = config;
  const logExport = await startLogExport(definition.name, lifecycle.OTEL_EXPORTER_OTLP_ENDPOINT);
  const logger = createLogger(definition.name, lifecycle.LOG_LEVEL, undefined, logExport?.sink);
  const stopTracing = await startTracing(
    definition.name,
    lifecycle.OTEL_EXPORTER_OTLP_ENDPOINT,
    lifecycle.OTEL_TRACES_SAMPLER_ARG,
  );
  const metrics = new GrpcMetrics();
  const flags = await startFeatureFlags({
    service: definition.name,
    file: lifecycle.FLAGS_FILE,
    pollMs: lifecycle.FLAGS_POLL_MS,
    logger,
    registry: metrics.registry,
  });
  const parts = await definition.prepare({ config, logger, metrics, flags });
  const metricsServer = await startMetricsServer(metrics.registry, lifecycle.METRICS_PORT, parts.httpRoutes);
  const grpcPort = await parts.server.start(lifecycle.PORT);
  const metricsPort = (metricsServer.address() as { port: number }).port;
  logger.info({ grpc_port: grpcPort, metrics_port: metricsPort }, "serving");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info({ grace_ms: lifecycle.SHUTDOWN_GRACE_MS }, "draining");
      await parts.server.drain({
        delayMs: lifecycle.SHUTDOWN_DELAY_MS,
        graceMs: lifecycle.SHUTDOWN_GRACE_MS,
      });
      await parts.stop?.();
      flags.stop();
      await new Promise((resolve) => metricsServer.close(resolve));
      await stopTracing();
      logger.info("stopped");
      await logExport?.shutdown();
    })();
    return stopping;
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
  return { grpcPort, metricsPort, stop };
}
