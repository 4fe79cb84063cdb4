import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type CatalogService, GetTourResponseSchema } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { NotFoundError, type ServiceClient } from "@tourmesh/platform";
import { TourFactsCache } from "./tour-facts.js";

/** A catalog that knows one tour, whose price can be changed, and counts the GetTour calls it answers. */
function countingCatalog() {
  const state = { calls: 0, minorUnits: 6_900n };
  const client = {
    getTour: async ({ tourId }: { tourId?: string }) => {
      state.calls++;
      await sleep(5);
      if (tourId !== "tour_paris_louvre") throw new ConnectError("no such tour", Code.NotFound);
      return create(GetTourResponseSchema, {
        tour: {
          tourId,
          price: { currencyCode: "EUR", minorUnits: state.minorUnits },
          startTime: timestampFromDate(new Date("2030-05-01T09:00:00Z")),
        },
      });
    },
  } as unknown as ServiceClient<typeof CatalogService>;
  return { state, client };
}

const cached = { cached: true };

describe("TourFactsCache", () => {
  it("asks the catalog once for lookups of a tour made together and within the ttl", async () => {
    const catalog = countingCatalog();
    const tours = new TourFactsCache(catalog.client, 60_000, 1_000);

    const together = await Promise.all([1, 2, 3].map(() => tours.get("tour_paris_louvre", cached)));
    const later = await tours.get("tour_paris_louvre", cached);

    assert.equal(catalog.state.calls, 1);
    for (const facts of [...together, later]) {
      assert.deepEqual(facts, {
        price: { currencyCode: "EUR", minorUnits: 6_900 },
        startTime: new Date("2030-05-01T09:00:00Z"),
      });
    }
  });

  it("asks again once the ttl has passed, and so prices in a change", async () => {
    const catalog = countingCatalog();
    const tours = new TourFactsCache(catalog.client, 1, 1_000);
    await tours.get("tour_paris_louvre", cached);
    catalog.state.minorUnits = 7_500n;
    await sleep(20);

    const facts = await tours.get("tour_paris_louvre", cached);

    assert.equal(catalog.state.calls, 2);
    assert.equal(facts.price.minorUnits, 7_500);
  });

  it("asks the catalog on every lookup while its kill switch is off, and serves the newest answer after", async () => {
    const catalog = countingCatalog();
    const tours = new TourFactsCache(catalog.client, 60_000, 1_000);
    await tours.get("tour_paris_louvre", cached);
    catalog.state.minorUnits = 7_500n;

    const bypassed = await tours.get("tour_paris_louvre", { cached: false });
    await tours.get("tour_paris_louvre", { cached: false });
    assert.equal(catalog.state.calls, 3);
    assert.equal(bypassed.price.minorUnits, 7_500);
    assert.equal((await tours.get("tour_paris_louvre", cached)).price.minorUnits, 7_500);
    assert.equal(catalog.state.calls, 3);
  });

  it("reports an unknown tour as NOT_FOUND on tour_id and does not remember it", async () => {
    const catalog = countingCatalog();
    const tours = new TourFactsCache(catalog.client, 60_000, 1_000);

    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(tours.get("tour_atlantis", cached), (error: unknown) => {
        assert.ok(error instanceof NotFoundError);
        assert.equal(error.field, "tour_id");
        return true;
      });
    }
    assert.equal(catalog.state.calls, 2);
  });
});
