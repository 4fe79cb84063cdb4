import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { type CallOptions, createClient, type ServiceClient } from "@tourmesh/platform";
import {
  callFailure,
  createTestDatabase,
  startTestTokenIssuer,
  type TestDatabase,
  type TestTokenIssuer,
} from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { startService } from "@tourmesh/stack/testing";

const DAY_MS = 24 * 60 * 60 * 1000;

describe("catalog tour management for operators", () => {
  let db: TestDatabase;
  let tokens: TestTokenIssuer;
  let catalog: ServiceProcess;
  let client: ServiceClient<typeof CatalogService>;
  let olga: CallOptions;
  let otto: CallOptions;

  before(async () => {
    db = await createTestDatabase("catalog_operators");
    tokens = await startTestTokenIssuer();
    catalog = await startService("catalog", { DATABASE_URL: db.url, SEED_TOURS: "false", ...tokens.env });
    client = createClient(CatalogService, `127.0.0.1:${catalog.port}`, { retries: false });
    const operator = async (userId: string) => ({
      headers: { authorization: `Bearer ${await tokens.sign(userId, { scopes: ["tours:write"] })}` },
    });
    olga = await operator("user_olga");
    otto = await operator("user_otto");
  });
  after(async () => {
    client?.close();
    await catalog?.stop();
    await tokens?.stop();
    await db?.drop();
  });

  const draft = (title: string) => ({
    title,
    description: "The canals before the city wakes.",
    destination: "Amsterdam",
    startTime: timestampFromDate(new Date(Date.now() + 30 * DAY_MS)),
    durationMinutes: 90,
    price: { currencyCode: "EUR", minorUnits: 4_500n },
    capacity: 10,
  });

  it("creates a tour run by the caller, all seats free, with an etag; its id taken again is ALREADY_EXISTS", async () => {
    const { tour } = await client.createTour({ tour: draft("Canal Sunrise Row") }, olga);
    assert.match(tour?.tourId ?? "", /^tour_[0-9a-f]{12}$/);
    assert.equal(tour?.operatorId, "user_olga");
    assert.equal(tour?.seatsAvailable, 10);
    assert.notEqual(tour?.etag, "");
    const { tour: read } = await client.getTour({ tourId: tour?.tourId ?? "" });
    assert.equal(read?.title, "Canal Sunrise Row");
    assert.equal(read?.etag, tour?.etag);

    await client.createTour({ tourId: "tour_canal_row", tour: draft("Canal Row") }, olga);
    const taken = await callFailure(
      client.createTour({ tourId: "tour_canal_row", tour: draft("Again") }, otto),
    );
    assert.equal(taken.code, Code.AlreadyExists);
  });

  it("refuses a tour with bad or missing fields, naming each one", async () => {
    const failure = await callFailure(
      client.createTour(
        {
          tourId: "Tour-Bad",
          tour: {
            ...draft(""),
            startTime: timestampFromDate(new Date(Date.now() - DAY_MS)),
            price: { currencyCode: "euro", minorUnits: 0n },
            capacity: 0,
          },
        },
        olga,
      ),
    );
    assert.equal(failure.code, Code.InvalidArgument);
    assert.deepEqual(failure.fields, [
      "tour.capacity",
      "tour.price.currency_code",
      "tour.price.minor_units",
      "tour.start_time",
      "tour.title",
      "tour_id",
    ]);
  });

  it("changes only the masked fields of the operator's own tour, and a new etag comes with each change", async () => {
    const { tour } = await client.createTour({ tour: draft("Harbour Lights") }, olga);
    const tourId = tour?.tourId ?? "";
    const { tour: updated } = await client.updateTour(
      {
        tour: {
          tourId,
          etag: tour?.etag ?? "",
          title: "Harbour Lights by Night",
          capacity: 12,
          durationMinutes: 1,
        },
        updateMask: { paths: ["title", "capacity"] },
      },
      olga,
    );
    assert.equal(updated?.title, "Harbour Lights by Night");
    assert.equal(updated?.capacity, 12);
    assert.equal(updated?.seatsAvailable, 12);
    assert.equal(updated?.durationMinutes, 90, "a field not in the mask is left as it was");
    assert.notEqual(updated?.etag, tour?.etag);

    const stale = await callFailure(
      client.updateTour(
        { tour: { tourId, etag: tour?.etag ?? "", title: "Lost edit" }, updateMask: { paths: ["title"] } },
        olga,
      ),
    );
    assert.equal(stale.code, Code.Aborted, "an edit based on an older read is refused");

    const notHers = await callFailure(
      client.updateTour({ tour: { tourId, title: "Hijacked" }, updateMask: { paths: ["title"] } }, otto),
    );
    assert.equal(notHers.code, Code.PermissionDenied);
    assert.equal((await client.getTour({ tourId })).tour?.title, "Harbour Lights by Night");

    for (const paths of [[], ["rating_average"], ["operator_id"]]) {
      const badMask = await callFailure(
        client.updateTour({ tour: { tourId, title: "x" }, updateMask: { paths } }, olga),
      );
      assert.deepEqual(
        [badMask.code, badMask.fields],
        [Code.InvalidArgument, ["update_mask"]],
        String(paths),
      );
    }
    const missing = await callFailure(
      client.updateTour(
        { tour: { tourId: "tour_nowhere", title: "x" }, updateMask: { paths: ["title"] } },
        olga,
      ),
    );
    assert.equal(missing.code, Code.NotFound);
  });

  it("never takes the capacity below the seats held, and keeps them held when it moves", async () => {
    const { tour } = await client.createTour({ tour: draft("Bike the Polders") }, olga);
    const tourId = tour?.tourId ?? "";
    await client.reserveSeats({ tourId, seats: 4, reservationId: `${tourId}-a` });
    await client.reserveSeats({ tourId, seats: 2, reservationId: `${tourId}-b` });
    await client.releaseSeats({ reservationId: `${tourId}-b` });
    await client.reserveSeats({ tourId, seats: 1, reservationId: `${tourId}-c` });

    const tooSmall = await callFailure(
      client.updateTour({ tour: { tourId, capacity: 4 }, updateMask: { paths: ["capacity"] } }, olga),
    );
    assert.deepEqual([tooSmall.code, tooSmall.fields], [Code.FailedPrecondition, ["tour.capacity"]]);
    const { tour: shrunk } = await client.updateTour(
      { tour: { tourId, capacity: 5 }, updateMask: { paths: ["capacity"] } },
      olga,
    );
    assert.deepEqual([shrunk?.capacity, shrunk?.seatsAvailable], [5, 0]);

    const { occupancy } = await client.getTourOccupancy({ tourId }, olga);
    assert.deepEqual(
      { bookings: occupancy?.bookings, seatsHeld: occupancy?.seatsHeld, capacity: occupancy?.capacity },
      { bookings: 2, seatsHeld: 5, capacity: 5 },
    );
    const notHers = await callFailure(client.getTourOccupancy({ tourId }, otto));
    assert.equal(notHers.code, Code.PermissionDenied);
  });

  it("moves a tour's start time only into the future", async () => {
    const { tour } = await client.createTour({ tour: draft("Windmill Morning") }, olga);
    const later = new Date(Date.now() + 40 * DAY_MS);
    const { tour: moved } = await client.updateTour(
      {
        tour: { tourId: tour?.tourId ?? "", startTime: timestampFromDate(later) },
        updateMask: { paths: ["start_time"] },
      },
      olga,
    );
    assert.equal(moved?.startTime && timestampDate(moved.startTime).getTime(), later.getTime());
    const past = await callFailure(
      client.updateTour(
        {
          tour: { tourId: tour?.tourId ?? "", startTime: timestampFromDate(new Date(0)) },
          updateMask: { paths: ["start_time"] },
        },
        olga,
      ),
    );
    assert.deepEqual([past.code, past.fields], [Code.InvalidArgument, ["tour.start_time"]]);
  });
});
