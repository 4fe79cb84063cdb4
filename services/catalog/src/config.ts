import { baseConfigSchema, type ConfigDefaults, configFields } from "@tourmesh/platform";
import { z } from "zod";

/** Catalog's settings. */
export const catalogConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.url(),
  /** Where the access tokens of operators managing tours are checked. */
  JWKS_URL: z.url(),
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
  /** Adds the sample tours at start (those not there yet). */
  SEED_TOURS: configFields.flag.default(true),
});

export const catalogDefaults = {
  PORT: 50051,
  METRICS_PORT: 9451,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/catalog",
  JWKS_URL: "http://127.0.0.1:9456/.well-known/jwks.json",
  JWT_ISSUER: "https://identity.tourmesh",
  JWT_AUDIENCE: "tourmesh",
} satisfies ConfigDefaults<typeof catalogConfigSchema>;
