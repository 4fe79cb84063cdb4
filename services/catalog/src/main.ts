import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { ReviewCreatedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { baseConfigSchema, configFields, runService } from "@tourmesh/platform";
import { z } from "zod";
import { catalogHandlers } from "./handlers.js";
import { seedTours } from "./seed-tours.js";
import { TourStore } from "./tour-store.js";

await runService({
  name: "catalog",
  config: baseConfigSchema.extend({
    DATABASE_URL: z.url(),
    SEED_TOURS: configFields.flag.default(true),
  }),
  defaults: { PORT: 50051, METRICS_PORT: 9451, DATABASE_URL: "postgres://postgres@127.0.0.1:5432/catalog" },
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: {},
  async routes(server, runtime) {
    const { config, db, logger } = runtime;
    const store = new TourStore(db as NonNullable<typeof db>);
    if (config.SEED_TOURS)
      logger.info({ added: await store.addTours(seedTours(new Date())) }, "seeded tours");
    server.add(CatalogService, catalogHandlers(store));
    // Reviews move a tour's rating: each ReviewCreated counts once (the consumer's inbox).
    runtime
      .consume({ name: "catalog-ratings", subject: "review.created" })
      .on(ReviewCreatedSchema, (review, { tx }) => store.addRating(tx, review.tourId, review.rating));
  },
});
