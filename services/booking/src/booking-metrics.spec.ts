import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
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

const logger = createLogger("booking-metrics-test", "silent");

/** A catalog that knows every tour; tours named `tour_sold_out` have no seats left. */
const catalog = {
  getTour: async ({ tourId }: { tourId?: string }) =>
    create(GetTourResponseSchema, { tour: { tourId, price: { currencyCode: "EUR", minorUnits: 5_000n } } }),
  reserveSeats: async ({ tourId }: { tourId?: string }) => {
    if (tourId === "tour_sold_out") throw new ConnectError("no seats left", Code.FailedPrecondition);
    return create(ReserveSeatsResponseSchema, {});
  },
} as unknown as ServiceClient<typeof CatalogService>;

/** A payment that charges while `up`, and is unreachable otherwise. */
function payment(state: { up: boolean }) {
  let charges = 0;
  return {
    charge: async () => {
      if (!state.up) throw new ConnectError("payment is down", Code.Unavailable);
      return create(ChargeResponseSchema, {
        payment: { paymentId: `pay_${++charges}`, status: PaymentStatus.SUCCEEDED },
      });
    },
  } as unknown as ServiceClient<typeof PaymentService>;
}

/** The value of one sample in the registry's exposition, or undefined when it has none. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const escaped = series.replace(/[{}"+]/g, "\\$&");
  const match = new RegExp(`^${escaped} (\\S+)$`, "m").exec(await registry.metrics());
  return match ? Number(match[1]) : undefined;
}

describe("BookingMetrics of a saga against Postgres", () => {
  let db: TestDatabase;
  let pool: Pool;
  const registry = new Registry();
  const paymentState = { up: true };
  let saga: BookingSaga;
  before(async () => {
    db = await createBookingDatabase("booking_metrics", logger);
    pool = createPool(db.url, logger, { max: 4 });
    const store = new BookingStore(pool);
    const metrics = new BookingMetrics(registry);
    metrics.samplePendingPayments(() => store.pendingPayments());
    saga = new BookingSaga(
      store,
      catalog,
      payment(paymentState),
      {
        chargeTimeoutMs: 2_000,
        catalogTimeoutMs: 2_000,
        tourFactsTtlMs: 10_000,
        schedule: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 8 },
        breakerThreshold: 2,
        breakerHalfOpenAfterMs: 60_000,
      },
      logger,
      metrics,
    );
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  const book = (key: string, tourId = "tour_paris_louvre") =>
    saga.create(
      "alice",
      { idempotencyKey: key, tourId, travelers: 1, promoCode: "", countryCode: "FR" },
      new Date(),
      defaultBookingFlags,
    );

  it("counts settle attempts by how they ended, with the breaker closed and nothing pending", async () => {
    assert.equal((await book("paid")).status, "CONFIRMED");
    await assert.rejects(book("no-seats", "tour_sold_out"), /no seats/);

    assert.equal(
      await sample(registry, 'booking_settle_attempts_total{run_by="request",outcome="confirmed"}'),
      1,
    );
    assert.equal(
      await sample(registry, 'booking_settle_attempts_total{run_by="request",outcome="sold_out"}'),
      1,
    );
    assert.equal(await sample(registry, 'booking_payment_circuit_state{state="closed"}'), 1);
    assert.equal(await sample(registry, 'booking_payment_circuit_state{state="open"}'), 0);
    assert.equal(await sample(registry, "bookings_pending_payment"), 0);
    assert.equal(await sample(registry, "bookings_pending_payment_oldest_age_seconds"), 0);
  });

  it("shows bookings left pending while payment is down, how long the oldest has waited, and the breaker open", async () => {
    paymentState.up = false;
    const first = await book("down-1");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await book("down-2");
    await book("down-3");

    assert.equal(first.status, "PENDING_PAYMENT");
    assert.equal(
      await sample(registry, 'booking_settle_attempts_total{run_by="request",outcome="pending_payment"}'),
      3,
    );
    assert.equal(
      await sample(registry, 'booking_payment_circuit_state{state="open"}'),
      1,
      "2 failures open it",
    );
    assert.equal(await sample(registry, 'booking_payment_circuit_state{state="closed"}'), 0);
    assert.equal(await sample(registry, "bookings_pending_payment"), 3);
    const oldest = (await sample(registry, "bookings_pending_payment_oldest_age_seconds")) ?? 0;
    assert.ok(oldest >= 1 && oldest < 30, `the oldest pending booking waited ${oldest} s`);
  });
});
