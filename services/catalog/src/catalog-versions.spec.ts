/**
 * One running catalog serves both versions of its contract: a v1 client (deprecated, unchanged) and a v2 client
 * see the same tours and the same seats, and the catalog counts the calls v1 still gets.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { CatalogService as CatalogV1 } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import {
  CatalogService as CatalogV2,
  ReservationStatus,
} from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { createClient, type ServiceClient } from "@tourmesh/platform";
import { callFailure, createTestDatabase, type TestDatabase } from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { startService } from "@tourmesh/stack/testing";

describe("catalog v1 and v2, served by one catalog", () => {
  let db: TestDatabase;
  let catalog: ServiceProcess;
  let v1: ServiceClient<typeof CatalogV1>;
  let v2: ServiceClient<typeof CatalogV2>;

  before(async () => {
    db = await createTestDatabase("catalog_versions");
    catalog = await startService("catalog", { DATABASE_URL: db.url });
    v1 = createClient(CatalogV1, catalog.address, { retries: true });
    v2 = createClient(CatalogV2, catalog.address, { retries: true });
  });
  after(async () => {
    v1?.close();
    v2?.close();
    await catalog?.stop();
    await db?.drop();
  });

  /** deprecated_calls_total by `<service>/<method>`, from the catalog's /metrics. */
  async function deprecatedCalls(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${catalog.metricsPort}/metrics`)).text();
    const counts = new Map<string, number>();
    for (const [, service, method, value] of text.matchAll(
      /^deprecated_calls_total\{grpc_service="([^"]+)",grpc_method="([^"]+)"\} (\d+)$/gm,
    ))
      counts.set(`${service}/${method}`, Number(value));
    return counts;
  }

  it("lists the same tours to both, each in its own shape", async () => {
    const old = await v1.listTours({ destination: "Paris", availableOnly: true, pageSize: 100 });
    const next = await v2.listTours({ filter: { destination: "Paris", availableOnly: true }, pageSize: 100 });
    assert.ok(old.tours.length > 0);
    assert.deepEqual(
      next.tours.map((tour) => [
        tour.tourId,
        tour.seats?.capacity,
        tour.seats?.available,
        tour.rating?.count,
      ]),
      old.tours.map((tour) => [tour.tourId, tour.capacity, tour.seatsAvailable, tour.ratingCount]),
    );
    const unfiltered = await v2.listTours({ pageSize: 100 });
    assert.ok(
      unfiltered.tours.some((tour) => tour.destination !== "Paris"),
      "no filter: every destination",
    );
  });

  it("names a bad filter by its v2 path", async () => {
    const failure = await callFailure(v2.listTours({ filter: { destination: "x".repeat(101) } }));
    assert.equal(failure.code, Code.InvalidArgument);
    assert.deepEqual(failure.fields, ["filter.destination"]);
  });

  it("shares seats: what v2 reserves, v1 sees taken, and the reservation is one", async () => {
    const tourId = "tour_rome_colosseum";
    const before = (await v1.getTour({ tourId })).tour?.seatsAvailable ?? 0;
    const reservationId = randomUUID();
    const held = await v2.reserveSeats({ tourId, seats: 2, reservationId });
    assert.equal(held.reservation?.status, ReservationStatus.HELD);
    assert.equal((await v1.getTour({ tourId })).tour?.seatsAvailable, before - 2);
    assert.equal((await v2.getTour({ tourId })).tour?.seats?.available, before - 2);
    const replayed = await v1.reserveSeats({ tourId, seats: 2, reservationId });
    assert.equal(replayed.seatsAvailable, before - 2, "v1 replays v2's reservation");
    await v1.releaseSeats({ reservationId });
    assert.equal((await v2.getTour({ tourId })).tour?.seats?.available, before);
  });

  it("counts the calls v1 still gets, and none of v2's", async () => {
    const start = await deprecatedCalls();
    await v1.getTour({ tourId: "tour_paris_louvre" });
    await v1.getTour({ tourId: "tour_paris_louvre" });
    await v2.getTour({ tourId: "tour_paris_louvre" });
    await v2.listTours({});
    const end = await deprecatedCalls();
    const v1GetTour = "tourmesh.catalog.v1.CatalogService/GetTour";
    assert.equal((end.get(v1GetTour) ?? 0) - (start.get(v1GetTour) ?? 0), 2);
    assert.ok(
      [...end.keys()].every((key) => key.startsWith("tourmesh.catalog.v1.")),
      [...end.keys()].join(),
    );
  });
});
