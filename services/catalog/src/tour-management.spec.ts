import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { CatalogService as CatalogServiceV2 } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import type { MoneySchema } from "@tourmesh/gen/tourmesh/common/v1/money_pb.js";
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

/** A tour's editable fields as the cases write them, whichever version carries them. */
interface TourFields {
  title: string;
  description: string;
  destination: string;
  startTime: Timestamp;
  durationMinutes: number;
  price: MessageInitShape<typeof MoneySchema>;
  capacity: number;
}

/** What the cases read of a tour answered, whichever version answered it. */
interface TourSeen {
  tourId: string;
  title: string;
  durationMinutes: number;
  startTime: Date | undefined;
  operatorId: string;
  etag: string;
  capacity: number;
  seatsAvailable: number;
}

/**
 * Tour management through one version of the contract: its messages built from and read into the cases' terms,
 * and how it names the capacity (in update_mask and in violations) and fields it does not have.
 */
interface Management {
  version: string;
  /** The capacity's update_mask path; a violation names it `tour.<path>`. */
  capacityPath: string;
  /** update_mask paths that name no field an operator may change. */
  unchangeablePaths: string[];
  createTour(request: { tourId?: string; tour: TourFields }, call: CallOptions): Promise<TourSeen>;
  updateTour(
    request: { tour: Partial<TourFields> & { tourId: string; etag?: string }; paths: string[] },
    call: CallOptions,
  ): Promise<TourSeen>;
  getTour(tourId: string): Promise<TourSeen>;
  getTourOccupancy(
    tourId: string,
    call: CallOptions,
  ): Promise<{ bookings: number; seatsHeld: number; capacity: number } | undefined>;
  reserveSeats(request: { tourId: string; seats: number; reservationId: string }): Promise<unknown>;
  releaseSeats(request: { reservationId: string }): Promise<unknown>;
  close(): void;
}

const seen = (
  tour: (Omit<TourSeen, "startTime" | "capacity" | "seatsAvailable"> & { startTime?: Timestamp }) | undefined,
  seats: { capacity: number; available: number } | undefined,
): TourSeen => {
  assert.ok(tour, "the answer carries its tour");
  return {
    tourId: tour.tourId,
    title: tour.title,
    durationMinutes: tour.durationMinutes,
    startTime: tour.startTime && timestampDate(tour.startTime),
    operatorId: tour.operatorId,
    etag: tour.etag,
    capacity: seats?.capacity ?? 0,
    seatsAvailable: seats?.available ?? 0,
  };
};

function v1Management(address: string): Management {
  const client: ServiceClient<typeof CatalogService> = createClient(CatalogService, address, {
    retries: false,
  });
  const read = (tour: Awaited<ReturnType<typeof client.getTour>>["tour"]) =>
    seen(tour, tour && { capacity: tour.capacity, available: tour.seatsAvailable });
  return {
    version: "v1",
    capacityPath: "capacity",
    unchangeablePaths: ["rating_average", "seats_available", "operator_id"],
    createTour: async ({ tourId, tour }, call) =>
      read((await client.createTour({ tourId, tour }, call)).tour),
    updateTour: async ({ tour, paths }, call) =>
      read((await client.updateTour({ tour, updateMask: { paths } }, call)).tour),
    getTour: async (tourId) => read((await client.getTour({ tourId })).tour),
    getTourOccupancy: async (tourId, call) => (await client.getTourOccupancy({ tourId }, call)).occupancy,
    reserveSeats: (request) => client.reserveSeats(request),
    releaseSeats: (request) => client.releaseSeats(request),
    close: () => client.close(),
  };
}

function v2Management(address: string): Management {
  const client: ServiceClient<typeof CatalogServiceV2> = createClient(CatalogServiceV2, address, {
    retries: false,
  });
  const read = (tour: Awaited<ReturnType<typeof client.getTour>>["tour"]) => seen(tour, tour?.seats);
  // v2 carries the capacity in the tour's seats.
  const shaped = <T extends { capacity?: number }>({ capacity, ...tour }: T) => ({
    ...tour,
    ...(capacity === undefined ? {} : { seats: { capacity } }),
  });
  return {
    version: "v2",
    capacityPath: "seats.capacity",
    unchangeablePaths: ["rating.average", "seats", "seats.available", "capacity", "operator_id"],
    createTour: async ({ tourId, tour }, call) =>
      read((await client.createTour({ tourId, tour: shaped(tour) }, call)).tour),
    updateTour: async ({ tour, paths }, call) =>
      read((await client.updateTour({ tour: shaped(tour), updateMask: { paths } }, call)).tour),
    getTour: async (tourId) => read((await client.getTour({ tourId })).tour),
    getTourOccupancy: async (tourId, call) => (await client.getTourOccupancy({ tourId }, call)).occupancy,
    reserveSeats: (request) => client.reserveSeats(request),
    releaseSeats: (request) => client.releaseSeats(request),
    close: () => client.close(),
  };
}

describe("catalog tour management for operators", () => {
  let db: TestDatabase;
  let tokens: TestTokenIssuer;
  let catalog: ServiceProcess;
  const versions: Management[] = [];
  let olga: CallOptions;
  let otto: CallOptions;

  before(async () => {
    db = await createTestDatabase("catalog_operators");
    tokens = await startTestTokenIssuer();
    catalog = await startService("catalog", { DATABASE_URL: db.url, SEED_TOURS: "false", ...tokens.env });
    const address = `127.0.0.1:${catalog.port}`;
    versions.push(v1Management(address), v2Management(address));
    const operator = async (userId: string) => ({
      headers: { authorization: `Bearer ${await tokens.sign(userId, { scopes: ["tours:write"] })}` },
    });
    olga = await operator("user_olga");
    otto = await operator("user_otto");
  });
  after(async () => {
    for (const version of versions) version.close();
    await catalog?.stop();
    await tokens?.stop();
    await db?.drop();
  });

  const draft = (title: string): TourFields => ({
    title,
    description: "The canals before the city wakes.",
    destination: "Amsterdam",
    startTime: timestampFromDate(new Date(Date.now() + 30 * DAY_MS)),
    durationMinutes: 90,
    price: { currencyCode: "EUR", minorUnits: 4_500n },
    capacity: 10,
  });

  // The same cases through each version: one implementation behind both, each naming fields its own way.
  for (const [index, version] of ["v1", "v2"].entries()) {
    const api = () => versions[index] as Management;

    describe(`through catalog ${version}`, () => {
      it("creates a tour run by the caller, all seats free, with an etag; its id taken again is ALREADY_EXISTS", async () => {
        const tour = await api().createTour({ tour: draft("Canal Sunrise Row") }, olga);
        assert.match(tour.tourId, /^tour_[0-9a-f]{12}$/);
        assert.equal(tour.operatorId, "user_olga");
        assert.deepEqual([tour.capacity, tour.seatsAvailable], [10, 10]);
        assert.notEqual(tour.etag, "");
        const read = await api().getTour(tour.tourId);
        assert.equal(read.title, "Canal Sunrise Row");
        assert.equal(read.operatorId, "user_olga");
        assert.equal(read.etag, tour.etag);

        const tourId = `tour_canal_row_${version}`;
        await api().createTour({ tourId, tour: draft("Canal Row") }, olga);
        const taken = await callFailure(api().createTour({ tourId, tour: draft("Again") }, otto));
        assert.equal(taken.code, Code.AlreadyExists);
      });

      it("refuses a tour with bad or missing fields, naming each one as this version does", async () => {
        const failure = await callFailure(
          api().createTour(
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
        assert.deepEqual(
          failure.fields,
          [
            `tour.${api().capacityPath}`,
            "tour.price.currency_code",
            "tour.price.minor_units",
            "tour.start_time",
            "tour.title",
            "tour_id",
          ].sort(),
        );
      });

      it("changes only the masked fields of the operator's own tour, and a new etag comes with each change", async () => {
        const tour = await api().createTour({ tour: draft("Harbour Lights") }, olga);
        const { tourId } = tour;
        const updated = await api().updateTour(
          {
            tour: {
              tourId,
              etag: tour.etag,
              title: "Harbour Lights by Night",
              capacity: 12,
              durationMinutes: 1,
            },
            paths: ["title", api().capacityPath],
          },
          olga,
        );
        assert.equal(updated.title, "Harbour Lights by Night");
        assert.deepEqual([updated.capacity, updated.seatsAvailable], [12, 12]);
        assert.equal(updated.durationMinutes, 90, "a field not in the mask is left as it was");
        assert.notEqual(updated.etag, tour.etag);

        const stale = await callFailure(
          api().updateTour({ tour: { tourId, etag: tour.etag, title: "Lost edit" }, paths: ["title"] }, olga),
        );
        assert.equal(stale.code, Code.Aborted, "an edit based on an older read is refused");

        const notHers = await callFailure(
          api().updateTour({ tour: { tourId, title: "Hijacked" }, paths: ["title"] }, otto),
        );
        assert.equal(notHers.code, Code.PermissionDenied);
        assert.equal((await api().getTour(tourId)).title, "Harbour Lights by Night");

        for (const paths of [[], ["*"], ...api().unchangeablePaths.map((path) => [path])]) {
          const badMask = await callFailure(api().updateTour({ tour: { tourId, title: "x" }, paths }, olga));
          assert.deepEqual(
            [badMask.code, badMask.fields],
            [Code.InvalidArgument, ["update_mask"]],
            String(paths),
          );
        }
        const badCapacity = await callFailure(
          api().updateTour({ tour: { tourId, capacity: 0 }, paths: [api().capacityPath] }, olga),
        );
        assert.deepEqual(
          [badCapacity.code, badCapacity.fields],
          [Code.InvalidArgument, [`tour.${api().capacityPath}`]],
        );
        const missing = await callFailure(
          api().updateTour({ tour: { tourId: "tour_nowhere", title: "x" }, paths: ["title"] }, olga),
        );
        assert.equal(missing.code, Code.NotFound);
      });

      it("never takes the capacity below the seats held, keeps them held when it moves, and shows occupancy only to the operator", async () => {
        const { tourId } = await api().createTour({ tour: draft("Bike the Polders") }, olga);
        await api().reserveSeats({ tourId, seats: 4, reservationId: `${tourId}-a` });
        await api().reserveSeats({ tourId, seats: 2, reservationId: `${tourId}-b` });
        await api().releaseSeats({ reservationId: `${tourId}-b` });
        await api().reserveSeats({ tourId, seats: 1, reservationId: `${tourId}-c` });

        const capacity = [api().capacityPath];
        const tooSmall = await callFailure(
          api().updateTour({ tour: { tourId, capacity: 4 }, paths: capacity }, olga),
        );
        assert.deepEqual(
          [tooSmall.code, tooSmall.fields],
          [Code.FailedPrecondition, [`tour.${api().capacityPath}`]],
        );
        const shrunk = await api().updateTour({ tour: { tourId, capacity: 5 }, paths: capacity }, olga);
        assert.deepEqual([shrunk.capacity, shrunk.seatsAvailable], [5, 0]);

        const occupancy = await api().getTourOccupancy(tourId, olga);
        assert.deepEqual(
          { bookings: occupancy?.bookings, seatsHeld: occupancy?.seatsHeld, capacity: occupancy?.capacity },
          { bookings: 2, seatsHeld: 5, capacity: 5 },
        );
        const notHers = await callFailure(api().getTourOccupancy(tourId, otto));
        assert.equal(notHers.code, Code.PermissionDenied);
        const missing = await callFailure(api().getTourOccupancy("tour_nowhere", olga));
        assert.equal(missing.code, Code.NotFound);
      });

      it("moves a tour's start time only into the future", async () => {
        const { tourId } = await api().createTour({ tour: draft("Windmill Morning") }, olga);
        const later = new Date(Date.now() + 40 * DAY_MS);
        const moved = await api().updateTour(
          { tour: { tourId, startTime: timestampFromDate(later) }, paths: ["start_time"] },
          olga,
        );
        assert.equal(moved.startTime?.getTime(), later.getTime());
        const past = await callFailure(
          api().updateTour(
            { tour: { tourId, startTime: timestampFromDate(new Date(0)) }, paths: ["start_time"] },
            olga,
          ),
        );
        assert.deepEqual([past.code, past.fields], [Code.InvalidArgument, ["tour.start_time"]]);
      });
    });
  }

  it("manages one tour whichever version is used: an edit through one makes the other's etag stale", async () => {
    const [v1, v2] = versions as [Management, Management];
    const created = await v2.createTour({ tour: draft("Tulip Fields by Bike") }, olga);
    const throughV1 = await v1.getTour(created.tourId);
    assert.deepEqual(
      [throughV1.operatorId, throughV1.etag, throughV1.capacity],
      [created.operatorId, created.etag, created.capacity],
    );
    const edited = await v1.updateTour(
      { tour: { tourId: created.tourId, etag: created.etag, capacity: 14 }, paths: ["capacity"] },
      olga,
    );
    assert.deepEqual(await v2.getTour(created.tourId), edited);
    const stale = await callFailure(
      v2.updateTour(
        { tour: { tourId: created.tourId, etag: created.etag, capacity: 16 }, paths: ["seats.capacity"] },
        olga,
      ),
    );
    assert.equal(stale.code, Code.Aborted);
  });
});
