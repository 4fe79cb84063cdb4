import type { Logger, Pool } from "@tourmesh/platform";
import { createPool } from "@tourmesh/platform";
import type { Registry } from "prom-client";
import { CacheMetrics } from "./cache-metrics.js";
import { CachedTours, type CacheSettings } from "./cached-tours.js";
import { RedisCache } from "./redis-cache.js";
import { invalidationsForRow } from "./tour-cache.js";
import { TourChangeListener } from "./tour-changes.js";
import { TourStore } from "./tour-store.js";

export interface ReadPathSettings extends CacheSettings {
  databaseUrl: string;
  /** The read replica; undefined: the primary serves every read. */
  databaseReadUrl: string | undefined;
  /** Redis; undefined: no cache, every read goes to the database. */
  redisUrl: string | undefined;
  keyPrefix: string;
  commandTimeoutMs: number;
}

/**
 * The catalog's store and its reads: the primary's pool, a second pool on the read replica when there is one,
 * and, with Redis, the cache with the listener that invalidates it on every committed change. `stop` closes
 * what it opened (not the primary's pool, which the platform owns).
 */
export function startReadPath(
  settings: ReadPathSettings,
  primary: Pool,
  logger: Logger,
  registry: Registry,
): { store: TourStore; tours: CachedTours; stop(): Promise<void> } {
  const replica = settings.databaseReadUrl ? createPool(settings.databaseReadUrl, logger) : undefined;
  const store = new TourStore(primary, replica);
  const metrics = new CacheMetrics(registry);
  const cache = settings.redisUrl
    ? new RedisCache({
        url: settings.redisUrl,
        keyPrefix: settings.keyPrefix,
        commandTimeoutMs: settings.commandTimeoutMs,
        logger,
        metrics,
      })
    : undefined;
  const tours = new CachedTours(store, cache, settings, metrics);
  const NOTIFICATIONS = "database notifications";
  cache?.hold(NOTIFICATIONS);
  const listener =
    cache &&
    new TourChangeListener({
      databaseUrl: settings.databaseUrl,
      logger,
      onChange: (change) => void tours.invalidate(invalidationsForRow(change)),
      onUnreadable: (payload) => {
        logger.error({ payload }, "tour changes: unreadable notification; flushing the cache");
        cache.doubt("unreadable notification");
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
