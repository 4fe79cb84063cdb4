import assert from "node:assert/strict";
import { test } from "node:test";
import { type ChaosRows, checkInvariants } from "./invariants.js";

// A consistent state: one confirmed booking holding 2 of 10 seats, charged and notified once; one booking that
// failed payment and released its seats.
const consistent = (): ChaosRows => ({
  bookings: [
    { booking_id: "b1", status: "CONFIRMED", work: null },
    { booking_id: "b2", status: "PAYMENT_FAILED", work: null },
  ],
  payments: [
    { booking_id: "b1", status: "succeeded" },
    { booking_id: "b2", status: "declined" },
  ],
  confirmedNotifications: [{ booking_id: "b1" }],
  heldReservations: [{ reservation_id: "b1", tour_id: "t1", seats: 2 }],
  tours: [{ tour_id: "t1", capacity: 10, seats_available: 8 }],
});

test("a consistent state has no violations and is counted", () => {
  const { counts, violations } = checkInvariants(consistent());
  assert.deepEqual(violations, []);
  assert.deepEqual(counts.bookings, { CONFIRMED: 1, PAYMENT_FAILED: 1 });
  assert.equal(counts.heldSeats, 2);
});

test("a booking left PENDING_PAYMENT is a violation", () => {
  const rows = consistent();
  rows.bookings.push({ booking_id: "b3", status: "PENDING_PAYMENT", work: "settle" });
  rows.heldReservations.push({ reservation_id: "b3", tour_id: "t1", seats: 1 });
  rows.tours = [{ tour_id: "t1", capacity: 10, seats_available: 7 }];
  assert.deepEqual(checkInvariants(rows).violations, ["booking b3 is PENDING_PAYMENT"]);
});

test("two successful charges for one booking are a violation, a refunded one counts as a charge", () => {
  const rows = consistent();
  rows.payments.push({ booking_id: "b1", status: "refunded" });
  assert.deepEqual(checkInvariants(rows).violations, ["booking b1 was charged 2 times"]);
});

test("a charge kept by a booking that is not confirmed is a violation; a refunded one is not", () => {
  const rows = consistent();
  rows.bookings.push({ booking_id: "b3", status: "CANCELLED", work: null });
  rows.payments.push({ booking_id: "b3", status: "succeeded" });
  assert.deepEqual(checkInvariants(rows).violations, ["booking b3 is CANCELLED but keeps its charge"]);
  rows.payments = rows.payments.map((row) =>
    row.booking_id === "b3" ? { ...row, status: "refunded" } : row,
  );
  assert.deepEqual(checkInvariants(rows).violations, []);
});

test("a confirmed booking needs exactly one BOOKING_CONFIRMED notification", () => {
  const missing = consistent();
  missing.confirmedNotifications = [];
  assert.deepEqual(checkInvariants(missing).violations, [
    "confirmed booking b1 has 0 BOOKING_CONFIRMED notifications",
  ]);
  const twice = consistent();
  twice.confirmedNotifications.push({ booking_id: "b1" });
  assert.equal(checkInvariants(twice).violations.length, 2);
});

test("seats held for a failed or unknown booking, and seats not conserved, are violations", () => {
  const rows = consistent();
  rows.heldReservations.push({ reservation_id: "b2", tour_id: "t1", seats: 1 });
  rows.heldReservations.push({ reservation_id: "ghost", tour_id: "t1", seats: 1 });
  assert.deepEqual(checkInvariants(rows).violations, [
    "seats held by reservation b2 for a PAYMENT_FAILED booking",
    "seats held by reservation ghost for a missing booking",
    "tour t1: 2 seats taken but 4 held",
  ]);
});
