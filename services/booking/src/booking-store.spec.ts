import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  BookingCancelledSchema,
  BookingConfirmedSchema,
  BookingPaymentRequestedSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { createLogger, createPool, type Pool } from "@tourmesh/platform";
import type { TestDatabase } from "@tourmesh/platform/testing";
import { BookingStore } from "./booking-store.js";
import { priceQuote, standardPricing } from "./quote.js";
import { createBookingDatabase } from "./testing/booking-database.js";

const logger = createLogger("booking-store-test", "silent");

describe("BookingStore against Postgres", () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: BookingStore;
  let lookupPool: Pool;
  before(async () => {
    db = await createBookingDatabase("booking_store", logger);
    pool = createPool(db.url, logger, { max: 10 });
    store = new BookingStore(pool);
    // One connection's key lookups on the new, empty table, often enough for Postgres to settle on one plan
    // for good if it were let to.
    lookupPool = createPool(db.url, logger, { max: 1 });
    for (let run = 0; run < 10; run++)
      await new BookingStore(lookupPool).findByKey("heavy-user", `none-${run}`);
  });
  after(async () => {
    await lookupPool?.end();
    await pool?.end();
    await db?.drop();
  });

  let counter = 0;
  const tourStartTime = new Date("2030-05-01T09:00:00Z");
  const insert = async (leaseMs = 60_000) => {
    counter++;
    const quote = priceQuote({
      tourId: "tour_paris_louvre",
      unitPrice: { currencyCode: "EUR", minorUnits: 6_900 },
      travelers: 2,
      countryCode: "FR",
      rules: standardPricing,
    });
    const { booking } = await store.insert(
      {
        bookingId: `bkg_${counter}`,
        userId: "alice",
        idempotencyKey: `key-${counter}`,
        quote,
        tourStartTime,
      },
      leaseMs,
    );
    return booking;
  };

  const outboxOf = (bookingId: string) =>
    db.query<{ subject: string; event_type: string; payload: Buffer }>(
      "SELECT subject, event_type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY position",
      [bookingId],
    );

  it("lets concurrent claimers (deliveries, replicas) take each due booking exactly once", async () => {
    const bookings = [];
    for (let index = 0; index < 20; index++) bookings.push(await insert(0));
    const claims = await Promise.all(
      bookings.flatMap((booking) => Array.from({ length: 4 }, () => store.claim(booking.bookingId, 60_000))),
    );
    const claimed = claims.flatMap((claim) => (claim.outcome === "claimed" ? [claim.booking] : []));
    assert.equal(claimed.length, bookings.length, "one claim per booking");
    assert.deepEqual(new Set(claimed.map((booking) => booking.bookingId)).size, bookings.length);
    for (const booking of claimed) assert.equal(booking.attempts, 2);
    // The others were told when to look again: when the claimed attempt's lease ends. A statement's now() is
    // when it arrived, and a read that arrived just before the claim committed can still see the claim, so a
    // loser may be told a few milliseconds more than the lease.
    for (const claim of claims.filter((candidate) => candidate.outcome === "not_due")) {
      assert.ok(claim.dueInMs > 55_000 && claim.dueInMs <= 61_000, `due in ${claim.dueInMs} ms`);
    }
  });

  it("leaves a booking leased to CreateBooking alone until its lease ends, and one that owes nothing", async () => {
    const leased = await insert(60_000);
    const claim = await store.claim(leased.bookingId, 60_000);
    assert.equal(claim.outcome, "not_due");
    const settled = await store.apply(
      leased.bookingId,
      { type: "charged", paymentId: "pay_settled" },
      { leaseMs: 1_000 },
    );
    assert.equal(settled.work, null);
    assert.deepEqual(await store.claim(leased.bookingId, 60_000), { outcome: "nothing_owed" });
    assert.deepEqual(await store.claim("bkg_missing", 60_000), { outcome: "nothing_owed" });
  });

  it("records each change's events in the change's statement, in order", async () => {
    const booking = await insert();
    assert.deepEqual(await outboxOf(booking.bookingId), [], "a new booking asks for no retry up front");
    await store.apply(booking.bookingId, { type: "charged", paymentId: "pay_9" }, { leaseMs: 1_000 });
    await store.apply(booking.bookingId, { type: "cancel" }, { userId: "alice", leaseMs: 1_000 });
    const events = await outboxOf(booking.bookingId);
    assert.deepEqual(
      events.map((event) => event.subject),
      ["booking.confirmed", "booking.cancelled", "booking.payment_requested"],
    );
    const [confirmed, cancelled, requested] = events;
    const compensation = fromBinary(BookingPaymentRequestedSchema, requested?.payload ?? new Uint8Array());
    assert.equal(compensation.total?.minorUnits, BigInt(booking.quote.total.minorUnits));
    const confirmation = fromBinary(BookingConfirmedSchema, confirmed?.payload ?? new Uint8Array());
    assert.equal(confirmation.bookingId, booking.bookingId);
    assert.equal(confirmation.userId, "alice");
    assert.equal(confirmation.paymentId, "pay_9");
    assert.equal(confirmation.travelers, 2);
    assert.equal(confirmation.total?.currencyCode, "EUR");
    assert.deepEqual(confirmation.tourStartTime && timestampDate(confirmation.tourStartTime), tourStartTime);
    const cancellation = fromBinary(BookingCancelledSchema, cancelled?.payload ?? new Uint8Array());
    assert.equal(cancellation.paymentId, "pay_9");
    assert.equal(cancellation.reason, "");

    // A change that loses its compare-and-set records nothing: only the winner's events are there.
    const stale = { ...booking, status: "CONFIRMED" as const, paymentId: "pay_9", work: null };
    const decidedAgain = await store.apply(
      booking.bookingId,
      { type: "cancel" },
      { leaseMs: 1_000, known: stale },
    );
    assert.equal(decidedAgain.status, "CANCELLED");
    assert.equal((await outboxOf(booking.bookingId)).length, 3);
  });

  it("asks for a retry once, when the first attempt leaves the work owed", async () => {
    const booking = await insert();
    const later = await store.retryLater(booking, "settle", 5_000);
    assert.equal(later.retryRequested, true);
    assert.ok((later.nextAttemptAt?.getTime() ?? 0) > Date.now() + 3_000);
    await store.retryLater(later, "settle", 5_000);
    const events = await outboxOf(booking.bookingId);
    assert.deepEqual(
      events.map((event) => event.subject),
      ["booking.payment_requested"],
    );
    const request = fromBinary(BookingPaymentRequestedSchema, events[0]?.payload ?? new Uint8Array());
    assert.equal(request.bookingId, booking.bookingId);
    assert.equal(request.userId, "alice");
  });

  it("sweeps owed work whose attempt's lease ran out with no retry asked for, once", async () => {
    const orphaned = await insert(0);
    const leased = await insert(60_000);
    const requested = await store.retryLater(await insert(60_000), "settle", 0);
    const settled = await insert(0);
    await store.apply(settled.bookingId, { type: "charged", paymentId: "pay_swept" }, { leaseMs: 1_000 });

    assert.ok((await store.sweepUnrequestedWork(1_000)) >= 1);
    assert.equal(await store.sweepUnrequestedWork(1_000), 0, "a swept booking is not swept again");
    const subjects = async (bookingId: string) => (await outboxOf(bookingId)).map((event) => event.subject);
    assert.deepEqual(await subjects(orphaned.bookingId), ["booking.payment_requested"]);
    assert.deepEqual(await subjects(leased.bookingId), [], "its attempt may still be running");
    assert.deepEqual(await subjects(requested.bookingId), ["booking.payment_requested"]);
    assert.deepEqual(await subjects(settled.bookingId), ["booking.confirmed"]);
    assert.equal((await store.get(orphaned.bookingId)).retryRequested, true);
  });

  it("decides an event again when the booking changed after it was read", async () => {
    const stale = await insert();
    const cancelled = await store.apply(
      stale.bookingId,
      { type: "cancel" },
      { userId: "alice", leaseMs: 1_000 },
    );
    assert.equal(cancelled.status, "CANCELLED");

    // A charge that lands for the stale PENDING_PAYMENT copy must not confirm the cancelled booking.
    const charged = await store.apply(
      stale.bookingId,
      { type: "charged", paymentId: "pay_late" },
      { leaseMs: 1_000, known: stale },
    );
    assert.equal(charged.status, "CANCELLED");
    assert.equal(charged.paymentId, "pay_late");
    assert.equal(charged.work, "compensate");
  });

  it("checks a no-op decision on a stale copy against the stored booking", async () => {
    const stale = await insert();
    await store.apply(stale.bookingId, { type: "cancel" }, { leaseMs: 1_000 });
    await store.compensated(stale.bookingId, "");
    // On the stale PENDING copy an unanswered attempt changes nothing; on the stored, compensated booking it
    // arms the compensation again (the attempt may have held seats after they were given back).
    const after = await store.apply(
      stale.bookingId,
      { type: "attempt_unanswered" },
      { leaseMs: 1_000, known: stale },
    );
    assert.equal(after.status, "CANCELLED");
    assert.equal(after.work, "compensate");
  });

  it("finishes a compensation only for the payment it refunded", async () => {
    const booking = await insert();
    const cancelled = await store.apply(booking.bookingId, { type: "cancel" }, { leaseMs: 1_000 });
    const lateCharge = await store.apply(
      booking.bookingId,
      { type: "charged", paymentId: "pay_1" },
      { leaseMs: 1_000, known: cancelled },
    );
    // A compensation that started before the late charge was recorded must not clear the refund it owes.
    assert.equal((await store.compensated(booking.bookingId, "")).work, "compensate");
    assert.equal((await store.compensated(booking.bookingId, lateCharge.paymentId)).work, null);
  });

  it("finds a booking by its key through the key's index, however many bookings its user has", async () => {
    await db.query(
      `INSERT INTO bookings (booking_id, user_id, idempotency_key, tour_id, travelers, promo_code, country_code,
         currency, unit_price_minor, base_minor, discount_minor, discount_rate_bp, tax_minor, tax_rate_bp,
         total_minor, status, payment_id)
       SELECT 'bkg_heavy_' || n, 'heavy-user', 'heavy-' || n, 'tour_paris_louvre', 1, '', 'FR', 'EUR', 6900,
         6900, 0, 0, 1380, 2000, 8280, 'CONFIRMED', 'pay_heavy_' || n
         FROM generate_series(1, 3000) n`,
    );
    const lookups = new BookingStore(lookupPool);
    const readThroughUserIndex = async () => {
      await lookupPool.query("SELECT pg_stat_force_next_flush()");
      const [row] = await db.query<{ read: string }>(
        "SELECT idx_tup_read AS read FROM pg_stat_user_indexes WHERE indexrelname = 'bookings_by_user'",
      );
      return Number(row?.read);
    };
    const before = await readThroughUserIndex();
    for (let run = 1; run <= 20; run++)
      assert.equal((await lookups.findByKey("heavy-user", `heavy-${run}`))?.bookingId, `bkg_heavy_${run}`);
    const read = (await readThroughUserIndex()) - before;
    assert.ok(read < 100, `20 key lookups read ${read} rows through the listing index`);
  });

  it("finds a booking only for its owner", async () => {
    const booking = await insert();
    assert.equal((await store.get(booking.bookingId, "alice")).bookingId, booking.bookingId);
    await assert.rejects(store.get(booking.bookingId, "bob"), { name: "NotFoundError" });
    await assert.rejects(
      store.apply(booking.bookingId, { type: "cancel" }, { userId: "bob", leaseMs: 1_000 }),
      { name: "NotFoundError" },
    );
  });
});
