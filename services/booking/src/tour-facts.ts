import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { NotFoundError, type ServiceClient } from "@tourmesh/platform";
import { LRUCache } from "lru-cache";

/** What a quote and a booking take from the catalog's tour. */
export interface TourFacts {
  price: { currencyCode: string; minorUnits: number };
  startTime: Date | undefined;
}

/** Tours whose facts are remembered (the catalog holds tens; each entry is about 200 bytes). */
const TOURS_KEPT = 10_000;

/**
 * Each tour's price and start time as the catalog last gave them, remembered for `ttlMs`. Every quote and
 * every booking needs them, and asking the catalog each time cost a gRPC call and a query per booking for
 * facts that change rarely (the public API cannot change them at all yet); a change made in the catalog's
 * database is priced in within `ttlMs`. Lookups of one tour made while its GetTour is on its way share that
 * call. A failed lookup, an unknown tour included, is not remembered. A lookup that is not to use the cache (its
 * kill switch, the flag `booking-tour-facts-cache`, is off) asks the catalog, and remembers the answer.
 */
export class TourFactsCache {
  private readonly tours: LRUCache<string, TourFacts>;

  constructor(catalog: ServiceClient<typeof CatalogService>, ttlMs: number, timeoutMs: number) {
    this.tours = new LRUCache<string, TourFacts>({
      max: TOURS_KEPT,
      ttl: ttlMs,
      fetchMethod: async (tourId) => {
        const { tour } = await catalog.getTour({ tourId }, { timeoutMs });
        if (!tour?.price) throw new Error(`catalog answered tour ${tourId} without a price`);
        return {
          price: { currencyCode: tour.price.currencyCode, minorUnits: Number(tour.price.minorUnits) },
          startTime: tour.startTime ? timestampDate(tour.startTime) : undefined,
        };
      },
    });
  }

  /** The tour's facts (from the catalog when not `cached`); NOT_FOUND (on tour_id) when it has no such tour. */
  async get(tourId: string, { cached }: { cached: boolean }): Promise<TourFacts> {
    try {
      const facts = await this.tours.fetch(tourId, { forceRefresh: !cached });
      if (!facts) throw new Error(`looking up tour ${tourId} was aborted`);
      return facts;
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound)
        throw new NotFoundError(`tour ${tourId} does not exist`, "tour_id");
      throw error;
    }
  }
}
