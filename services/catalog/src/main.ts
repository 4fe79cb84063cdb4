import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { CatalogService as CatalogServiceV2 } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { ReviewCreatedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { runService } from "@tourmesh/platform";
import { catalogConfigSchema, catalogDefaults } from "./config.js";
import { catalogHandlers } from "./handlers.js";
import { catalogHandlersV2 } from "./handlers-v2.js";
import { seedTours } from "./seed-tours.js";
import { TourStore } from "./tour-store.js";

await runService({
  name: "catalog",
  config: catalogConfigSchema,
  defaults: catalogDefaults,
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: {},
  async routes(server, runtime) {
    const { config, db, logger } = runtime;
    const store = new TourStore(db);
    if (config.SEED_TOURS)
      logger.info({ added: await store.addTours(seedTours(new Date())) }, "seeded tours");
    // v1 (deprecated) for the clients that have not moved, v2 beside it, over the same store.
    server.add(CatalogService, catalogHandlers(store));
    server.add(CatalogServiceV2, catalogHandlersV2(store));
    // Reviews move a tour's rating: each ReviewCreated counts once (the consumer's inbox).
    runtime
      .consume({ name: "catalog-ratings", subject: "review.created" })
      .on(ReviewCreatedSchema, (review, { tx }) => store.addRating(tx, review.tourId, review.rating));
  },
});
