/**
 * GetTour and ListTours, cache-aside: an answer comes from the cache when it holds a valid one; otherwise one
 * read of the database per key and process at a time (single flight: callers that miss the same key meanwhile
 * share that read) fills it. The fill reads the primary, since a stored answer may be served for its whole TTL;
 * answers that are never stored (no cache, or the cache out of use or failing) may come from the read replica.
 * A failing cache is never an error to the caller: the database answers, within the call's deadline (Redis is
 * skipped when the deadline leaves less than twice its command timeout).
 *
 * What is cached is the answer itself, encoded as the contract version that asked will send it (an AnswerFormat):
 * a hit is sent as the bytes Redis returned, with no message decoded, built or encoded on the way. Each format's
 * answers are kept under keys of their own and carry the same tags, so one invalidation reaches all of them.
 *
 * Only public tour data is cached (what GetTour and ListTours show to anyone); nothing about users or
 * reservations.
 */
import { currentCallContext, NotFoundError } from "@tourmesh/platform";
import type { CacheMetrics } from "./cache-metrics.js";
import type { RedisCache } from "./redis-cache.js";
import { type CacheTag, tourEntry, tourPageEntry, tourPageKey } from "./tour-cache.js";
import type { TourStore } from "./tour-store.js";
import type { Tour, TourFilter, TourPosition } from "./tours.js";

export interface TourPage {
  tours: Tour[];
  more: boolean;
}

/** How a version of the contract answers, in bytes: its response message, encoded. */
export interface AnswerFormat<Answer> {
  /** Names the format in the cache's keys, e.g. "v1": each format's answers are cached apart. */
  name: string;
  encode(answer: Answer): Uint8Array;
}

export interface CacheSettings {
  /** How long a stored answer lives unless invalidated. */
  ttlMs: number;
  /** How long "this tour does not exist" is kept. */
  negativeTtlMs: number;
  /** The longest a Redis command may take (the adapter's timeout). */
  commandTimeoutMs: number;
}

/** The cached answer for a tour that does not exist: no encoded response is empty (it holds the tour). */
const NO_TOUR = new Uint8Array(0);

export class CachedTours {
  private readonly flights = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly store: TourStore,
    private readonly cache: RedisCache | undefined,
    private readonly settings: CacheSettings,
    private readonly metrics: CacheMetrics,
  ) {}

  /** GetTour's answer in `format`; NOT_FOUND when the tour does not exist. */
  async getTour(tourId: string, format: AnswerFormat<Tour>): Promise<Uint8Array> {
    const entry = tourEntry(tourId);
    const answer = await this.cacheAside("tour", `${format.name}:${entry.key}`, async (source) => {
      const tour = await this.store.findTour(tourId, source);
      return {
        body: tour ? format.encode(tour) : NO_TOUR,
        tags: entry.tags,
        ttlMs: tour ? this.settings.ttlMs : this.settings.negativeTtlMs,
      };
    });
    if (answer.byteLength === 0) throw new NotFoundError(`tour ${tourId} does not exist`, "tour_id");
    return answer;
  }

  /** ListTours' answer in `format` for one page. */
  async listTours(
    filter: TourFilter,
    after: TourPosition | undefined,
    pageSize: number,
    format: AnswerFormat<TourPage>,
  ): Promise<Uint8Array> {
    const key = `${format.name}:${tourPageKey(filter, after, pageSize)}`;
    return this.cacheAside("tours", key, async (source) => {
      const page = await this.store.listTours(filter, after, pageSize, source);
      const { tags } = tourPageEntry(
        filter,
        after,
        pageSize,
        page.tours.map((tour) => tour.tourId),
      );
      return { body: format.encode(page), tags, ttlMs: this.settings.ttlMs };
    });
  }

  /**
   * Makes the answers carrying `tags` stale, once a change is committed. A failure is never the caller's: this
   * process then reads the database until Redis has confirmed the invalidation.
   */
  async invalidate(tags: readonly CacheTag[]): Promise<void> {
    await this.cache?.invalidate(tags).catch(() => undefined);
  }

  private async cacheAside(
    cache: "tour" | "tours",
    key: string,
    load: (source: "primary" | "replica") => Promise<{ body: Uint8Array; tags: CacheTag[]; ttlMs: number }>,
  ): Promise<Uint8Array> {
    const requests = this.metrics.requestsOf(cache);
    // A call whose deadline leaves less than a slow Redis could take, and the database after it, skips Redis.
    const deadline = currentCallContext()?.deadline.getTime();
    const tooLate = deadline !== undefined && deadline - Date.now() < 2 * this.settings.commandTimeoutMs;
    if (!this.cache?.usable || tooLate) {
      requests.bypass.inc();
      return (await load("replica")).body;
    }
    let since: string;
    try {
      const read = await this.cache.read(key);
      if (read.hit) {
        requests.hit.inc();
        return read.body;
      }
      since = read.since;
    } catch {
      requests.error.inc();
      return (await load("replica")).body;
    }
    requests.miss.inc();
    return this.singleFlight(key, async () => {
      const { body, tags, ttlMs } = await load("primary");
      await this.cache?.fill(key, tags, since, ttlMs, body).catch(() => undefined);
      return body;
    });
  }

  /** Runs `work` once for concurrent callers of one key; each gets its outcome. */
  private singleFlight(key: string, work: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const inFlight = this.flights.get(key);
    if (inFlight) return inFlight;
    const flight = work().finally(() => this.flights.delete(key));
    this.flights.set(key, flight);
    return flight;
  }
}
