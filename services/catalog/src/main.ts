import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { ReviewCreatedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { runService } from "@tourmesh/platform";
import { catalogConfigSchema, catalogDefaults } from "./config.js";
import { catalogHandlers } from "./handlers.js";
import { seedTours } from "./seed-tours.js";
import { TourStore } from "./tour-store.js";

await runService({
  name: "catalog",
  config: catalogConfigSchema,
  defaults: catalogDefaults,
  verifier: (config) => ({
    jwksUrl: config.JWKS_URL,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  }),
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: {},
  async routes(server, runtime) {
    const { config, db, logger } = runtime;
    const store = new TourStore(db);
    if (config.SEED_TOURS)
      logger.info({ added: (await store.addTours(seedTours(new Date()))).length }, "seeded tours");
    server.add(CatalogService, catalogHandlers(store));
    // Reviews move a tour's rating: each ReviewCreated counts once (the consumer's inbox).
    runtime
      .consume({ name: "catalog-ratings", subject: "review.created" })
      .on(ReviewCreatedSchema, (review, { tx }) => store.addRating(tx, review.tourId, review.rating));
  },
});
