import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger, createPool, migrate, type Pool } from "@tourmesh/platform";
import { createTestDatabase, type TestDatabase } from "@tourmesh/platform/testing";
import { BookingStore } from "./booking-store.js";
import { priceQuote } from "./quote.js";

const logger = createLogger("booking-store-test", "silent");

describe("BookingStore against Postgres", () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: BookingStore;
  before(async () => {
    db = await createTestDatabase("booking_store");
    await migrate(db.url, new URL("../migrations", import.meta.url), logger);
    pool = createPool(db.url, logger, 10);
    store = new BookingStore(pool);
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  let counter = 0;
  const insert = async (leaseMs = 60_000) => {
    counter++;
    const quote = priceQuote({
      tourId: "tour_paris_louvre",
      unitPrice: { currencyCode: "EUR", minorUnits: 6_900 },
      travelers: 2,
      countryCode: "FR",
    });
    const { booking } = await store.insert(
      { bookingId: `bkg_${counter}`, userId: "alice", idempotencyKey: `key-${counter}`, quote },
      leaseMs,
    );
    return booking;
  };

  it("lets concurrent claimers (several replicas) take each due booking exactly once", async () => {
    const ids = new Set<string>();
    for (let index = 0; index < 40; index++) ids.add((await insert(0)).bookingId);
    const rounds = await Promise.all(Array.from({ length: 6 }, () => store.claimDue(15, 60_000)));
    const claimed = rounds.flat().map((booking) => booking.bookingId);
    assert.equal(claimed.length, ids.size, "every due booking claimed");
    assert.deepEqual(new Set(claimed), ids);
    for (const booking of rounds.flat()) assert.equal(booking.attempts, 2);
    // Claimed work is leased: nobody takes it again before the lease ends.
    assert.deepEqual(await store.claimDue(100, 60_000), []);
  });

  it("leaves a booking leased to CreateBooking alone until its lease ends", async () => {
    const leased = await insert(60_000);
    const claimed = await store.claimDue(100, 60_000);
    assert.ok(!claimed.some((booking) => booking.bookingId === leased.bookingId));
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
