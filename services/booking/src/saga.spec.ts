import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CatalogService,
  GetTourResponseSchema,
  ReserveSeatsResponseSchema,
} from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import {
  ChargeResponseSchema,
  type PaymentService,
  PaymentStatus,
} from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { createLogger, createPool, type Pool, type ServiceClient } from "@tourmesh/platform";
import type { TestDatabase } from "@tourmesh/platform/testing";
import { Registry } from "prom-client";
import { defaultBookingFlags } from "./booking-flags.js";
import { BookingMetrics } from "./booking-metrics.js";
import { BookingStore } from "./booking-store.js";
import { BookingSaga } from "./saga.js";
import { createBookingDatabase } from "./testing/booking-database.js";

const logger = createLogger("saga-test", "silent");

/** The store, counting the bookings it reads by id (what a PaymentSucceeded for an unknown charge costs) and by key. */
class CountingStore extends BookingStore {
  reads = 0;
  keyLookups = 0;
  override get(...args: Parameters<BookingStore["get"]>) {
    this.reads++;
    return super.get(...args);
  }
  override findByKey(...args: Parameters<BookingStore["findByKey"]>) {
    this.keyLookups++;
    return super.findByKey(...args);
  }
}

const catalog = {
  getTour: async ({ tourId }: { tourId?: string }) =>
    create(GetTourResponseSchema, {
      tour: {
        tourId,
        price: { currencyCode: "EUR", minorUnits: 6_900n },
        startTime: timestampFromDate(new Date("2030-05-01T09:00:00Z")),
      },
    }),
  reserveSeats: async () => create(ReserveSeatsResponseSchema, {}),
} as unknown as ServiceClient<typeof CatalogService>;

/** A payment whose PaymentSucceeded reaches the saga before Charge's answer does, as it mostly does for real. */
function paymentReportingFirst(saga: () => BookingSaga, reports: Array<Promise<string>>) {
  let charges = 0;
  return {
    charge: async ({ bookingId }: { bookingId?: string }) => {
      const paymentId = `pay_${++charges}`;
      reports.push(saga().chargeReported(bookingId ?? "", paymentId));
      await new Promise((resolve) => setTimeout(resolve, 20));
      return create(ChargeResponseSchema, { payment: { paymentId, status: PaymentStatus.SUCCEEDED } });
    },
  } as unknown as ServiceClient<typeof PaymentService>;
}

describe("BookingSaga against Postgres", () => {
  let db: TestDatabase;
  let pool: Pool;
  before(async () => {
    db = await createBookingDatabase("booking_saga", logger);
    pool = createPool(db.url, logger, { max: 4 });
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  const options = {
    chargeTimeoutMs: 2_000,
    catalogTimeoutMs: 2_000,
    tourFactsTtlMs: 10_000,
    schedule: { baseDelayMs: 1_000, maxDelayMs: 60_000, maxAttempts: 8 },
    breakerThreshold: 5,
    breakerHalfOpenAfterMs: 5_000,
  };
  /** A saga on `store` whose payment reports each charge to this same saga before answering it. */
  const sagaReportingFirst = (store: BookingStore, reports: Array<Promise<string>> = []) => {
    const saga: BookingSaga = new BookingSaga(
      store,
      catalog,
      paymentReportingFirst(() => saga, reports),
      options,
      logger,
      new BookingMetrics(new Registry()),
    );
    return saga;
  };
  const request = (idempotencyKey: string) => ({
    idempotencyKey,
    tourId: "tour_paris_louvre",
    travelers: 2,
    promoCode: "",
    countryCode: "FR",
  });

  it("a PaymentSucceeded that overtakes the charge's answer waits for it: no read, one confirmation", async () => {
    const store = new CountingStore(pool);
    const reports: Array<Promise<string>> = [];
    const saga = sagaReportingFirst(store, reports);

    const booking = await saga.create("alice", request("overtaken"), new Date(), defaultBookingFlags);
    assert.equal(booking.status, "CONFIRMED");
    assert.equal(booking.paymentId, "pay_1");
    assert.deepEqual(await Promise.all(reports), ["known"]);
    assert.equal(store.reads, 0);
    const { rows } = await pool.query(
      "SELECT count(*)::int AS confirmations FROM outbox WHERE aggregate_id = $1 AND subject LIKE '%confirmed'",
      [booking.bookingId],
    );
    assert.deepEqual(rows, [{ confirmations: 1 }]);
  });

  it("a PaymentSucceeded for a charge this process did not record reads the booking and keeps what it holds", async () => {
    const reports: Array<Promise<string>> = [];
    const first = sagaReportingFirst(new BookingStore(pool), reports);
    const booking = await first.create("alice", request("elsewhere"), new Date(), defaultBookingFlags);
    await Promise.all(reports);

    const store = new CountingStore(pool);
    const restarted = sagaReportingFirst(store);
    assert.equal(await restarted.chargeReported(booking.bookingId, booking.paymentId), "known");
    assert.equal(store.reads, 1);
    assert.equal(await restarted.chargeReported("bkg_nobody", "pay_nobody"), "unknown_booking");
  });

  it("writes a new booking without looking its key up; a replay whose promo code has expired since finds it", async () => {
    const store = new CountingStore(pool);
    const saga = sagaReportingFirst(store);
    const spring = { ...request("spring"), promoCode: "SPRING10" };

    const booking = await saga.create("alice", spring, new Date("2030-04-01T12:00:00Z"), defaultBookingFlags);
    assert.equal(store.keyLookups, 0);
    assert.equal(booking.quote.promoCode, "SPRING10");

    const replayed = await saga.create(
      "alice",
      spring,
      new Date("2030-07-01T12:00:00Z"),
      defaultBookingFlags,
    );
    assert.equal(replayed.bookingId, booking.bookingId);
    assert.equal(store.keyLookups, 1);
    await assert.rejects(
      saga.create(
        "alice",
        { ...spring, idempotencyKey: "summer" },
        new Date("2030-07-01T12:00:00Z"),
        defaultBookingFlags,
      ),
      /SPRING10/,
    );
  });
});
