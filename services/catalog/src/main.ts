import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { CatalogService as CatalogServiceV2 } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { ReviewCreatedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { runService, tokenVerifierOptions } from "@tourmesh/platform";
import { catalogConfigSchema, catalogDefaults } from "./config.js";
import { catalogHandlers, catalogOperations } from "./handlers.js";
import { catalogHandlersV2 } from "./handlers-v2.js";
import { READ_CACHE_FLAG, startReadPath } from "./read-path.js";
import { seedTours } from "./seed-tours.js";

await runService({
  name: "catalog",
  config: catalogConfigSchema,
  defaults: catalogDefaults,
  verifier: tokenVerifierOptions,
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: {},
  async routes(server, runtime) {
    const { config, db, logger, flags } = runtime;
    const cacheInUse = await flags.follow(() => flags.client.getBooleanValue(READ_CACHE_FLAG, true));
    const { store, tours, stop } = startReadPath(config, db, logger, runtime.metrics.registry, () =>
      cacheInUse.current(),
    );
    runtime.onShutdown(stop);
    if (config.SEED_TOURS)
      logger.info({ added: (await store.addTours(seedTours(new Date()))).length }, "seeded tours");
    // v1 (deprecated) for the clients that have not moved, v2 beside it, over the same store and cache.
    const operations = catalogOperations(store, tours);
    server.add(CatalogService, catalogHandlers(operations));
    server.add(CatalogServiceV2, catalogHandlersV2(operations));
    // Reviews move a tour's rating: each ReviewCreated counts once (the consumer's inbox). The cache hears of
    // the change from the database once it commits.
    runtime
      .consume({ name: "catalog-ratings", subject: "review.created" })
      .on(ReviewCreatedSchema, (review, { tx }) => store.addRating(tx, review.tourId, review.rating));
  },
});
