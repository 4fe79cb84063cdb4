import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { ReviewCreatedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { baseConfigSchema, configFields, runService } from "@tourmesh/platform";
import { z } from "zod";
import { catalogHandlers } from "./handlers.js";
import { startReadPath } from "./read-path.js";
import { seedTours } from "./seed-tours.js";

await runService({
  name: "catalog",
  config: baseConfigSchema.extend({
    DATABASE_URL: z.url(),
    /** A streaming replica for reads that may be a little stale (docs/catalog-cache.md); unset: the primary. */
    DATABASE_READ_URL: z.url().optional(),
    SEED_TOURS: configFields.flag.default(true),
    /** Redis for the read cache of GetTour and ListTours; unset: no cache. */
    REDIS_URL: z.url().optional(),
    /** Prepended to every cache key: caches sharing one Redis (e.g. parallel test stacks) keep apart. */
    CACHE_KEY_PREFIX: z.string().default("catalog:"),
    CACHE_TTL_MS: configFields.milliseconds.default(300_000),
    CACHE_NEGATIVE_TTL_MS: configFields.milliseconds.default(5_000),
    /** A Redis command slower than this counts as failed: the call reads the database instead. */
    CACHE_TIMEOUT_MS: configFields.milliseconds.default(100),
  }),
  defaults: { PORT: 50051, METRICS_PORT: 9451, DATABASE_URL: "postgres://postgres@127.0.0.1:5432/catalog" },
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: {},
  async routes(server, runtime) {
    const { config, db, logger } = runtime;
    const { store, tours, stop } = startReadPath(
      {
        databaseUrl: config.DATABASE_URL,
        databaseReadUrl: config.DATABASE_READ_URL,
        redisUrl: config.REDIS_URL,
        keyPrefix: config.CACHE_KEY_PREFIX,
        ttlMs: config.CACHE_TTL_MS,
        negativeTtlMs: config.CACHE_NEGATIVE_TTL_MS,
        commandTimeoutMs: config.CACHE_TIMEOUT_MS,
      },
      db as NonNullable<typeof db>,
      logger,
      runtime.metrics.registry,
    );
    runtime.onShutdown(stop);
    if (config.SEED_TOURS)
      logger.info({ added: await store.addTours(seedTours(new Date())) }, "seeded tours");
    server.add(CatalogService, catalogHandlers(store, tours));
    // Reviews move a tour's rating: each ReviewCreated counts once (the consumer's inbox). The cache hears of
    // the change from the database once it commits.
    runtime
      .consume({ name: "catalog-ratings", subject: "review.created" })
      .on(ReviewCreatedSchema, (review, { tx }) => store.addRating(tx, review.tourId, review.rating));
  },
});
