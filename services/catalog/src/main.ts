import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
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
  async routes(server, { config, db, logger }) {
    const store = new TourStore(db as NonNullable<typeof db>);
    if (config.SEED_TOURS)
      logger.info({ added: await store.addTours(seedTours(new Date())) }, "seeded tours");
    server.add(CatalogService, catalogHandlers(store));
  },
});
