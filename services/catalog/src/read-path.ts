import { createPool, type Logger, type Pool } from "@tourmesh/platform";
import type { Registry } from "prom-client";
import { CacheMetrics } from "./cache-metrics.js";
import { CachedTours } from "./cached-tours.js";
import type { CatalogConfig } from "./config.js";
import { RedisCache } from "./redis-cache.js";
import { invalidationsForRow } from "./tour-cache.js";
import { TourChangeListener } from "./tour-changes.js";
import { TourStore } from "./tour-store.js";

/**
 * The kill switch of the read cache (flags/flags.json): off sends every GetTour and ListTours to the database,
 * for every replica at once, while invalidations go on, so that turning it on again serves nothing stale.
 */
export const READ_CACHE_FLAG = "catalog-read-cache";

/**
 * The catalog's store and its reads: the primary's pool, a second pool on the read replica when there is one,
 * and, with Redis, the cache with the listener that invalidates it on every committed change. `stop` closes
 * what it opened (not the primary's pool, which the platform owns).
 */
export function startReadPath(
  config: CatalogConfig,
  primary: Pool,
  logger: Logger,
  registry: Registry,
  cacheInUse: () => boolean,
): { store: TourStore; tours: CachedTours; stop(): Promise<void> } {
  const replica = config.DATABASE_READ_URL ? createPool(config.DATABASE_READ_URL, logger) : undefined;
  const store = new TourStore(primary, replica);
  const metrics = new CacheMetrics(registry);
  const cache = config.REDIS_URL
    ? new RedisCache({
        url: config.REDIS_URL,
        keyPrefix: config.CACHE_KEY_PREFIX,
        commandTimeoutMs: config.CACHE_TIMEOUT_MS,
        logger,
        metrics,
      })
    : undefined;
  const tours = new CachedTours(
    store,
    cache,
    {
      ttlMs: config.CACHE_TTL_MS,
      negativeTtlMs: config.CACHE_NEGATIVE_TTL_MS,
      commandTimeoutMs: config.CACHE_TIMEOUT_MS,
    },
    metrics,
    cacheInUse,
  );
  const NOTIFICATIONS = "database notifications";
  cache?.hold(NOTIFICATIONS);
  const listener =
    cache &&
    new TourChangeListener({
      databaseUrl: config.DATABASE_URL,
      logger,
      onChange: (change) => void tours.invalidate(invalidationsForRow(change)),
      onUnreadable: (payload) => {
        logger.error({ payload }, "tour changes: unreadable notification; flushing the cache");
        cache.flushBeforeUse("unreadable notification");
      },
      onDown: () => cache.hold(NOTIFICATIONS),
      onUp: () => cache.release(NOTIFICATIONS),
    });
  logger.info(
    { cache: cache ? "redis" : "none", read_replica: replica !== undefined },
    "catalog reads configured",
  );
  return {
    store,
    tours,
    async stop() {
      await listener?.stop();
      await cache?.close();
      await replica?.end();
    },
  };
}
