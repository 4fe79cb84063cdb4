import {
  baseConfigSchema,
  type ConfigDefaults,
  configFields,
  tokenVerifierDefaults,
  tokenVerifierFields,
} from "@tourmesh/platform";
import { z } from "zod";

/** Catalog's settings. */
export const catalogConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.url(),
  /** A streaming replica for reads that may be a little stale (docs/catalog-cache.md); unset: the primary. */
  DATABASE_READ_URL: z.url().optional(),
  ...tokenVerifierFields,
  /** Adds the sample tours at start (those not there yet). */
  SEED_TOURS: configFields.flag.default(true),
  /** Redis for the read cache of GetTour and ListTours; unset or empty: no cache. */
  REDIS_URL: z
    .union([z.url(), z.literal("")])
    .optional()
    .transform((url) => url || undefined),
  /** Prepended to every cache key: caches sharing one Redis (e.g. parallel test stacks) keep apart. */
  CACHE_KEY_PREFIX: z.string().default("catalog:"),
  /** How long a cached answer lives unless a change invalidates it first. */
  CACHE_TTL_MS: configFields.milliseconds.default(300_000),
  /** How long "this tour does not exist" is cached. */
  CACHE_NEGATIVE_TTL_MS: configFields.milliseconds.default(5_000),
  /**
   * A Redis command slower than this counts as failed: the call reads the database instead. Generous enough
   * that a busy process's own event loop (the answer waiting behind other calls' work) rarely trips it.
   */
  CACHE_TIMEOUT_MS: configFields.milliseconds.default(500),
});

export type CatalogConfig = z.output<typeof catalogConfigSchema>;

export const catalogDefaults = {
  PORT: 50051,
  METRICS_PORT: 9451,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/catalog",
  ...tokenVerifierDefaults,
} satisfies ConfigDefaults<typeof catalogConfigSchema>;
