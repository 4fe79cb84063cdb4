import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { bookingEvents, type EventfulBooking } from "./booking-events.js";
import { type BookingEvent, type BookingState, newBookingState, nextState } from "./booking-state.js";
import { priceQuote, standardPricing } from "./quote.js";

const quote = priceQuote({
  tourId: "tour_paris_louvre",
  unitPrice: { currencyCode: "EUR", minorUnits: 6_900 },
  travelers: 2,
  countryCode: "FR",
  rules: standardPricing,
});

function booking(state: BookingState): EventfulBooking {
  return {
    ...state,
    bookingId: "bkg_1",
    userId: "alice",
    idempotencyKey: "key",
    tourId: quote.tourId,
    travelers: quote.travelers,
    quote,
    createTime: new Date(0),
    updateTime: new Date(0),
    tourStartTime: new Date("2030-05-01T09:00:00Z"),
  };
}

/** The subjects of the events that `event` emits on a booking in `state`. */
const emitted = (state: BookingState, event: BookingEvent) =>
  bookingEvents(state, booking(nextState(state, event))).map((emittedEvent) => emittedEvent.subject);

const pending = newBookingState;
const confirmed = nextState(pending, { type: "charged", paymentId: "pay_1" });
const cancelled = nextState(pending, { type: "cancel" });

describe("booking events", () => {
  it("announces each outcome of a payment attempt", () => {
    assert.deepEqual(emitted(pending, { type: "charged", paymentId: "pay_1" }), ["booking.confirmed"]);
    // A failed booking also owes the release of its seats: a new payment step, so a payment request.
    assert.deepEqual(emitted(pending, { type: "declined", reason: "card declined" }), [
      "booking.payment_failed",
      "booking.payment_requested",
    ]);
    assert.deepEqual(emitted(pending, { type: "retries_exhausted", reason: "gave up" }), [
      "booking.payment_failed",
      "booking.payment_requested",
    ]);
    assert.deepEqual(emitted(pending, { type: "sold_out", reason: "no seats" }), [
      "booking.cancelled",
      "booking.payment_requested",
    ]);
    assert.deepEqual(emitted(pending, { type: "attempt_unanswered" }), []);
  });

  it("announces a cancellation, and a refund owed for a charge that landed after it", () => {
    assert.deepEqual(emitted(confirmed, { type: "cancel" }), [
      "booking.cancelled",
      "booking.payment_requested",
    ]);
    assert.deepEqual(emitted(cancelled, { type: "cancel" }), []);
    const compensated = { ...cancelled, work: null };
    assert.deepEqual(emitted(compensated, { type: "charged", paymentId: "pay_late" }), [
      "booking.payment_requested",
    ]);
  });

  it("carries what consumers need: the payment, the total, the tour's start, the reason", () => {
    const [confirmation] = bookingEvents(pending, booking(confirmed));
    assert.deepEqual(confirmation?.message, {
      bookingId: "bkg_1",
      userId: "alice",
      tourId: "tour_paris_louvre",
      travelers: 2,
      total: { currencyCode: "EUR", minorUnits: BigInt(quote.total.minorUnits) },
      paymentId: "pay_1",
      tourStartTime: timestampFromDate(new Date("2030-05-01T09:00:00Z")),
    });
    const [soldOut] = bookingEvents(
      pending,
      booking(nextState(pending, { type: "sold_out", reason: "no seats" })),
    );
    assert.ok(soldOut);
    assert.equal((soldOut.message as { reason?: string }).reason, "no seats");
  });
});
