import type { Server as HttpServer } from "node:http";
import type { DescService } from "@bufbuild/protobuf";
import type { z } from "zod";
import { type BaseConfig, type baseConfigSchema, loadConfig } from "./config.js";
import { eventsConfigSchema } from "./events/config.js";
import type { ConsumerOptions, EventConsumer, EventContext, InboxEventContext } from "./events/consumer.js";
import { EventMetrics } from "./events/event-metrics.js";
import { migrateInbox, migrateOutbox } from "./events/event-tables.js";
import { EventsRuntime } from "./events/events-runtime.js";
import { createClient, type ServiceClient } from "./grpc-client.js";
import { GrpcServer } from "./grpc-server.js";
import { createLogger, type Logger } from "./logger.js";
import { GrpcMetrics, type HttpRoute, startMetricsServer } from "./metrics.js";
import { createPool, DatabaseMetrics, ensureDatabase, migrate, type Pool } from "./postgres.js";
import { startTracing } from "./tracing.js";

/** What a service's routes get to build their handlers from. */
export interface ServiceRuntime<Config> {
  config: Config;
  logger: Logger;
  metrics: GrpcMetrics;
  /** The service's own database; undefined for a service without one. */
  db: Pool | undefined;
  /** A typed client to another service, with this service's deadlines, retries and metrics. */
  client<S extends DescService>(service: S, address: string): ServiceClient<S>;
  /** Work to do on shutdown, after the server has drained and the events stopped, before the pool closes. */
  onShutdown(stop: () => Promise<void>): void;
  /**
   * Registers a durable consumer of events (the service must declare `events`). Add handlers with `.on(schema,
   * handler)`; with the inbox (the default) each handler gets the transaction that marks the event handled.
   */
  consume(options: ConsumerOptions & { inbox?: true }): EventConsumer<InboxEventContext>;
  consume(options: ConsumerOptions & { inbox: false }): EventConsumer<EventContext>;
}

export interface ServiceDefinition<Schema extends z.ZodObject> {
  /** Short name, e.g. "catalog": the log `service` field and the trace service name. */
  name: string;
  /** The service's config schema: `baseConfigSchema.extend({...})`, or baseConfigSchema itself. */
  config: Schema;
  /** Values for unset variables, e.g. `{ PORT: 50051, METRICS_PORT: 9451 }`. */
  defaults: Partial<Record<keyof z.input<Schema>, string | number>>;
  /** Its own Postgres database: the env variable that names it and the folder of its migrations. */
  database?: { url: (config: z.output<Schema>) => string; migrations: URL };
  /** Adds the gRPC services to the server. */
  routes(server: GrpcServer, runtime: ServiceRuntime<z.output<Schema>>): void | Promise<void>;
  /**
   * Events on NATS JetStream (settings: see events/config.ts). `outbox: true` adds the outbox table to the
   * service's database (record events with `recordEvent`) and runs its relay; consumers come from
   * `runtime.consume`.
   */
  events?: { outbox?: boolean };
  /** Extra plain-HTTP routes on the metrics port (e.g. a JWKS document). */
  httpRoutes?(runtime: ServiceRuntime<z.output<Schema>>): Record<string, HttpRoute>;
}

export interface RunningService {
  grpcPort: number;
  metricsPort: number;
  /** Drains and stops everything the service started (what SIGTERM does, without exiting). */
  stop(): Promise<void>;
}

/**
 * Starts a service the same way every time: validated config, tracing, logs, metrics, its database migrated,
 * gRPC server with health and reflection, and a drain on SIGTERM/SIGINT. A service's main.ts is one call.
 */
export async function runService<Schema extends z.ZodObject<typeof baseConfigSchema.shape>>(
  definition: ServiceDefinition<Schema>,
): Promise<RunningService> {
  let config: z.output<Schema> & BaseConfig;
  try {
    config = loadConfig(definition.config, definition.defaults) as z.output<Schema> & BaseConfig;
  } catch (error) {
    console.error(`${definition.name}: ${(error as Error).message}`);
    process.exit(78); // EX_CONFIG: a bad environment will not fix itself by restarting.
  }
  const logger = createLogger(definition.name, config.LOG_LEVEL);
  const stopTracing = await startTracing(
    definition.name,
    config.OTEL_EXPORTER_OTLP_ENDPOINT,
    config.OTEL_TRACES_SAMPLER_ARG,
  );
  const metrics = new GrpcMetrics();
  const shutdownHooks: Array<() => Promise<void>> = [];

  let db: Pool | undefined;
  let databaseUrl: string | undefined;
  if (definition.database) {
    databaseUrl = definition.database.url(config);
    await ensureDatabase(databaseUrl);
    await migrate(databaseUrl, definition.database.migrations, logger);
    if (definition.events?.outbox) await migrateOutbox(databaseUrl, logger);
    db = createPool(databaseUrl, logger, { metrics: new DatabaseMetrics(metrics.registry) });
  }

  let events: EventsRuntime | undefined;
  if (definition.events) {
    let eventsConfig: ReturnType<typeof eventsConfigSchema.parse>;
    try {
      eventsConfig = loadConfig(eventsConfigSchema);
    } catch (error) {
      console.error(`${definition.name}: ${(error as Error).message}`);
      process.exit(78);
    }
    events = new EventsRuntime({
      service: definition.name,
      config: eventsConfig,
      logger,
      metrics: new EventMetrics(metrics.registry),
      db,
      databaseUrl,
      outbox: definition.events.outbox ?? false,
    });
  }

  const clients: Array<{ close(): void }> = [];
  const runtime: ServiceRuntime<z.output<Schema>> = {
    config,
    logger,
    metrics,
    db,
    client(service, address) {
      const client = createClient(service, address, { metrics, retries: !config.MESH_MODE });
      clients.push(client);
      return client;
    },
    onShutdown: (stop) => shutdownHooks.push(stop),
    consume: ((options: ConsumerOptions) => {
      if (!events) throw new Error(`${definition.name}: declare \`events\` in runService to consume events`);
      return events.consume(options as ConsumerOptions & { inbox?: true });
    }) as ServiceRuntime<z.output<Schema>>["consume"],
  };

  const server = new GrpcServer({ logger, metrics, defaultDeadlineMs: config.DEFAULT_DEADLINE_MS });
  await definition.routes(server, runtime);
  if (events?.hasConsumers && databaseUrl) await migrateInbox(databaseUrl, logger);
  await events?.start();
  const httpServer: HttpServer = await startMetricsServer(
    metrics.registry,
    config.METRICS_PORT,
    definition.httpRoutes?.(runtime),
  );
  const grpcPort = await server.start(config.PORT);
  const metricsPort = (httpServer.address() as { port: number }).port;
  logger.info({ grpc_port: grpcPort, metrics_port: metricsPort }, "serving");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info({ grace_ms: config.SHUTDOWN_GRACE_MS }, "draining");
      await server.drain({ delayMs: config.SHUTDOWN_DELAY_MS, graceMs: config.SHUTDOWN_GRACE_MS });
      // Consumers stop first (finishing the events in hand), since their handlers may use what the hooks close.
      await events?.stop();
      for (const hook of shutdownHooks) await hook();
      for (const client of clients) client.close();
      await db?.end();
      await new Promise((resolve) => httpServer.close(resolve));
      await stopTracing();
      logger.info("stopped");
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
