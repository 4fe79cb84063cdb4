/**
 * GetTour and ListTours, cache-aside: an answer comes from the cache when it holds a valid one; otherwise one
 * read of the database per key and process at a time (single flight: callers that miss the same key meanwhile
 * share that read) fills it. The fill reads the primary, since a stored answer may be served for its whole TTL;
 * answers that are never stored (no cache, or the cache out of use or failing) may come from the read replica.
 * A failing cache is never an error to the caller: the database answers, within the call's deadline (Redis is
 * skipped when the deadline leaves less than twice its command timeout).
 *
 * Only public tour data is cached (what GetTour and ListTours show to anyone); nothing about users or
 * reservations.
 */
import { currentCallContext, NotFoundError } from "@tourmesh/platform";
import type { CacheMetrics } from "./cache-metrics.js";
import type { RedisCache } from "./redis-cache.js";
import { type CacheEntry, type CacheTag, tourEntry, tourPageEntry, tourPageKey } from "./tour-cache.js";
import type { TourStore } from "./tour-store.js";
import type { Tour, TourFilter, TourPosition } from "./tours.js";

export interface TourPage {
  tours: Tour[];
  more: boolean;
}

export interface CacheSettings {
  /** How long a stored answer lives unless invalidated. */
  ttlMs: number;
  /** How long "this tour does not exist" is kept. */
  negativeTtlMs: number;
  /** The longest a Redis command may take (the adapter's timeout). */
  commandTimeoutMs: number;
}

type TourJson = Omit<Tour, "startTime"> & { startTime: string };

const encodeTour = (tour: Tour): TourJson => ({ ...tour, startTime: tour.startTime.toISOString() });
const decodeTour = (json: TourJson): Tour => ({ ...json, startTime: new Date(json.startTime) });

export class CachedTours {
  private readonly flights = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: TourStore,
    private readonly cache: RedisCache | undefined,
    private readonly settings: CacheSettings,
    private readonly metrics: CacheMetrics,
  ) {}

  async getTour(tourId: string): Promise<Tour> {
    const found = await this.cacheAside<TourJson | null>("tour", tourEntry(tourId).key, async (source) => {
      const tour = await this.store.findTour(tourId, source);
      const body = tour ? encodeTour(tour) : null;
      return {
        body,
        entry: tourEntry(tourId),
        ttlMs: tour ? this.settings.ttlMs : this.settings.negativeTtlMs,
      };
    });
    if (!found) throw new NotFoundError(`tour ${tourId} does not exist`, "tour_id");
    return decodeTour(found);
  }

  async listTours(filter: TourFilter, after: TourPosition | undefined, pageSize: number): Promise<TourPage> {
    const page = await this.cacheAside<{ tours: TourJson[]; more: boolean }>(
      "tours",
      tourPageKey(filter, after, pageSize),
      async (source) => {
        const { tours, more } = await this.store.listTours(filter, after, pageSize, source);
        const entry = tourPageEntry(
          filter,
          after,
          pageSize,
          tours.map((tour) => tour.tourId),
        );
        return { body: { tours: tours.map(encodeTour), more }, entry, ttlMs: this.settings.ttlMs };
      },
    );
    return { tours: page.tours.map(decodeTour), more: page.more };
  }

  /**
   * Makes the answers carrying `tags` stale, once a change is committed. A failure is never the caller's: this
   * process then reads the database until Redis has confirmed the invalidation.
   */
  async invalidate(tags: readonly CacheTag[]): Promise<void> {
    await this.cache?.invalidate(tags).catch(() => undefined);
  }

  private async cacheAside<Body>(
    cache: "tour" | "tours",
    key: string,
    load: (source: "primary" | "replica") => Promise<{ body: Body; entry: CacheEntry; ttlMs: number }>,
  ): Promise<Body> {
    const count = (result: "hit" | "miss" | "error" | "bypass") =>
      this.metrics.requests.inc({ cache, result });
    // A call whose deadline leaves less than a slow Redis could take, and the database after it, skips Redis.
    const deadline = currentCallContext()?.deadline.getTime();
    const tooLate = deadline !== undefined && deadline - Date.now() < 2 * this.settings.commandTimeoutMs;
    if (!this.cache?.usable || tooLate) {
      count("bypass");
      return (await load("replica")).body;
    }
    let since: string;
    try {
      const read = await this.cache.read(key);
      if (read.hit) {
        count("hit");
        return JSON.parse(read.body) as Body;
      }
      since = read.since;
    } catch {
      count("error");
      return (await load("replica")).body;
    }
    count("miss");
    return this.singleFlight(key, async () => {
      const { body, entry, ttlMs } = await load("primary");
      await this.cache
        ?.fill(entry.key, entry.tags, since, ttlMs, JSON.stringify(body))
        .catch(() => undefined);
      return body;
    });
  }

  /** Runs `work` once for concurrent callers of one key; each gets its outcome. */
  private singleFlight<T>(key: string, work: () => Promise<T>): Promise<T> {
    const inFlight = this.flights.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const flight = work().finally(() => this.flights.delete(key));
    this.flights.set(key, flight);
    return flight;
  }
}
