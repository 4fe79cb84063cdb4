import type { DescService } from "@bufbuild/protobuf";
import type { z } from "zod";
import { TokenVerifier, type TokenVerifierOptions } from "./auth.js";
import type { BaseConfig, baseConfigSchema, ConfigDefaults } from "./config.js";
import { eventsConfigSchema } from "./events/config.js";
import type { ConsumerOptions, EventConsumer, EventContext, InboxEventContext } from "./events/consumer.js";
import { EventMetrics } from "./events/event-metrics.js";
import { migrateInbox, migrateOutbox } from "./events/event-tables.js";
import { EventsRuntime } from "./events/events-runtime.js";
import type { FeatureFlags } from "./flags/feature-flags.js";
import { createClient, type ServiceClient } from "./grpc-client.js";
import { GrpcServer } from "./grpc-server.js";
import { loadConfigOrExit, type RunningProcess, runProcess } from "./lifecycle.js";
import type { Logger } from "./logger.js";
import type { GrpcMetrics, HttpRoute } from "./metrics.js";
import { createPool, DatabaseMetrics, ensureDatabase, migrate, type Pool } from "./postgres.js";

/** What a service's routes get to build their handlers from. */
export interface ServiceRuntime<Config, Db extends Pool | undefined = Pool | undefined> {
  config: Config;
  logger: Logger;
  metrics: GrpcMetrics;
  /** Feature flags: an OpenFeature client over the flag file's definitions (see flags/feature-flags.ts). */
  flags: FeatureFlags;
  /** The service's own database: a pool when the service declares `database`, else undefined. */
  db: Db;
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

/** A service's own Postgres database: its URL, read from the config, and the folder of its migrations. */
export interface ServiceDatabase<Config, Migrations extends URL = URL> {
  url: (config: Config) => string;
  migrations: Migrations;
}

/**
 * The pool a service's runtime holds: one when the service declares a database. Whether it does is read from
 * the type of `database.migrations` (`never` when there is no database): TypeScript infers nothing from
 * `database.url`, a function of the config.
 */
export type DatabasePool<Migrations extends URL> = [Migrations] extends [never] ? undefined : Pool;

export interface ServiceDefinition<Schema extends z.ZodObject, Migrations extends URL = never> {
  /** Short name, e.g. "catalog": the log `service` field and the trace service name. */
  name: string;
  /** The service's config schema: `baseConfigSchema.extend({...})`, or baseConfigSchema itself. */
  config: Schema;
  defaults: ConfigDefaults<Schema>;
  /**
   * Where the access tokens of its callers are checked: required when any method it serves is for signed-in
   * callers. Its gRPC server then holds every such call to the method's declared access (see grpc-server.ts).
   */
  verifier?: (config: z.output<Schema>) => Omit<TokenVerifierOptions, "registry">;
  /** Its own Postgres database, created and migrated at start; `runtime.db` is then its pool. */
  database?: ServiceDatabase<z.output<Schema>, Migrations>;
  /** Adds the gRPC services to the server. */
  routes(
    server: GrpcServer,
    runtime: ServiceRuntime<z.output<Schema>, DatabasePool<Migrations>>,
  ): void | Promise<void>;
  /**
   * Events on NATS JetStream (settings: see events/config.ts). `outbox: true` adds the outbox table to the
   * service's database (record events with `recordEvent`) and runs its relay; consumers come from
   * `runtime.consume`.
   */
  events?: { outbox?: boolean };
  /** Extra plain-HTTP routes on the metrics port (e.g. a JWKS document). */
  httpRoutes?(runtime: ServiceRuntime<z.output<Schema>, DatabasePool<Migrations>>): Record<string, HttpRoute>;
}

/**
 * Starts a gRPC service through the platform's lifecycle (see runProcess): its database created and migrated,
 * its events, and a gRPC server with health and reflection. A service's main.ts is one call.
 */
export function runService<
  Schema extends z.ZodObject<typeof baseConfigSchema.shape>,
  Migrations extends URL = never,
>(definition: ServiceDefinition<Schema, Migrations>): Promise<RunningProcess> {
  return runProcess({
    name: definition.name,
    config: definition.config,
    defaults: definition.defaults,
    async prepare({ config: serviceConfig, logger, metrics, flags }) {
      const config: z.output<Schema> & BaseConfig = serviceConfig;
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
        events = new EventsRuntime({
          service: definition.name,
          config: loadConfigOrExit(definition.name, eventsConfigSchema),
          logger,
          metrics: new EventMetrics(metrics.registry),
          db,
          databaseUrl,
          outbox: definition.events.outbox ?? false,
        });
      }

      const clients: Array<{ close(): void }> = [];
      const shutdownHooks: Array<() => Promise<void>> = [];
      const runtime: ServiceRuntime<z.output<Schema>> = {
        config,
        logger,
        metrics,
        flags,
        db,
        client(service, address) {
          const client = createClient(service, address, { metrics, retries: !config.MESH_MODE });
          clients.push(client);
          return client;
        },
        onShutdown: (stop) => shutdownHooks.push(stop),
        consume: ((options: ConsumerOptions) => {
          if (!events)
            throw new Error(`${definition.name}: declare \`events\` in runService to consume events`);
          return events.consume(options as ConsumerOptions & { inbox?: true });
        }) as ServiceRuntime<z.output<Schema>>["consume"],
      };
      // `db` is a pool exactly when `database` is declared, which is what DatabasePool<Migrations> says.
      const typedRuntime = runtime as ServiceRuntime<z.output<Schema>, DatabasePool<Migrations>>;

      const verifierOptions = definition.verifier?.(config);
      const server = new GrpcServer({
        logger,
        metrics,
        defaultDeadlineMs: config.DEFAULT_DEADLINE_MS,
        verifier: verifierOptions && new TokenVerifier({ ...verifierOptions, registry: metrics.registry }),
      });
      await definition.routes(server, typedRuntime);
      if (events?.hasConsumers && databaseUrl) await migrateInbox(databaseUrl, logger);
      await events?.start();
      return {
        server,
        httpRoutes: definition.httpRoutes?.(typedRuntime),
        async stop() {
          // Consumers stop first (finishing the events in hand), since their handlers may use what the hooks close.
          await events?.stop();
          for (const hook of shutdownHooks) await hook();
          for (const client of clients) client.close();
          await db?.end();
        },
      };
    },
  });
}
