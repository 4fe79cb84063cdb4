import { baseConfigSchema, type ConfigDefaults, configFields } from "@tourmesh/platform";
import { z } from "zod";

/** Catalog's settings. */
export const catalogConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.url(),
  /** Adds the sample tours at start (those not there yet). */
  SEED_TOURS: configFields.flag.default(true),
});

export const catalogDefaults = {
  PORT: 50051,
  METRICS_PORT: 9451,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/catalog",
} satisfies ConfigDefaults<typeof catalogConfigSchema>;
