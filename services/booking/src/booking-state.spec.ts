import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FailedPreconditionError } from "@tourmesh/platform";
import {
  type BookingEvent,
  type BookingState,
  type BookingStatus,
  needsRefund,
  newBookingState,
  nextState,
} from "./booking-state.js";
import { afterUnansweredAttempt, retryDelayMs } from "./retry-schedule.js";

const pending = newBookingState;
const confirmed: BookingState = { status: "CONFIRMED", paymentId: "pay_1", failureReason: "", work: null };
const failed: BookingState = {
  status: "PAYMENT_FAILED",
  paymentId: "",
  failureReason: "payment declined: card expired",
  work: null,
};
const cancelled: BookingState = { status: "CANCELLED", paymentId: "pay_1", failureReason: "", work: null };

const charged: BookingEvent = { type: "charged", paymentId: "pay_1" };
const declined: BookingEvent = { type: "declined", reason: "payment declined: card expired" };
const exhausted: BookingEvent = { type: "retries_exhausted", reason: "gave up" };
const soldOut: BookingEvent = { type: "sold_out", reason: "no seats" };
const unanswered: BookingEvent = { type: "attempt_unanswered" };
const cancel: BookingEvent = { type: "cancel" };

describe("booking state machine", () => {
  it("starts PENDING_PAYMENT with the settle work to do", () => {
    assert.deepEqual(newBookingState, {
      status: "PENDING_PAYMENT",
      paymentId: "",
      failureReason: "",
      work: "settle",
    });
  });

  it("moves a pending booking by each settle outcome", () => {
    assert.deepEqual(nextState(pending, charged), confirmed);
    assert.deepEqual(nextState(pending, declined), { ...failed, work: "compensate" });
    assert.deepEqual(nextState(pending, exhausted), {
      status: "PAYMENT_FAILED",
      paymentId: "",
      failureReason: "gave up",
      work: "compensate",
    });
    assert.deepEqual(nextState(pending, soldOut), {
      status: "CANCELLED",
      paymentId: "",
      failureReason: "no seats",
      work: "compensate",
    });
    assert.deepEqual(nextState(pending, unanswered), pending);
  });

  it("allows only the transitions of the diagram", () => {
    const states: Record<BookingStatus, BookingState> = {
      PENDING_PAYMENT: pending,
      CONFIRMED: confirmed,
      PAYMENT_FAILED: failed,
      CANCELLED: cancelled,
    };
    const events = { charged, declined, exhausted, soldOut, unanswered, cancel };
    const reached: string[] = [];
    for (const [from, state] of Object.entries(states)) {
      for (const [name, event] of Object.entries(events)) {
        let to: string;
        try {
          to = nextState(state, event).status;
        } catch (error) {
          assert.ok(error instanceof FailedPreconditionError);
          to = "refused";
        }
        if (to !== from) reached.push(`${from} -${name}-> ${to}`);
      }
    }
    assert.deepEqual(reached.sort(), [
      "CONFIRMED -cancel-> CANCELLED",
      "PAYMENT_FAILED -cancel-> refused",
      "PENDING_PAYMENT -cancel-> CANCELLED",
      "PENDING_PAYMENT -charged-> CONFIRMED",
      "PENDING_PAYMENT -declined-> PAYMENT_FAILED",
      "PENDING_PAYMENT -exhausted-> PAYMENT_FAILED",
      "PENDING_PAYMENT -soldOut-> CANCELLED",
    ]);
  });

  it("cancels a confirmed booking with a compensation that refunds, and cancelling again changes nothing", () => {
    const afterCancel = nextState(confirmed, cancel);
    assert.deepEqual(afterCancel, { ...confirmed, status: "CANCELLED", work: "compensate" });
    assert.ok(needsRefund(afterCancel));
    assert.deepEqual(nextState(afterCancel, cancel), afterCancel);
    assert.deepEqual(nextState(cancelled, cancel), cancelled);
  });

  it("refuses to cancel a booking whose payment failed", () => {
    assert.throws(() => nextState(failed, cancel), FailedPreconditionError);
  });

  it("records a charge that lands after the booking ended, so that it is refunded", () => {
    const cancelledWhilePending = nextState(pending, cancel);
    assert.ok(!needsRefund(cancelledWhilePending));
    const lateCharge = nextState({ ...cancelledWhilePending, work: null }, charged);
    assert.deepEqual(lateCharge, {
      status: "CANCELLED",
      paymentId: "pay_1",
      failureReason: "",
      work: "compensate",
    });
    assert.ok(needsRefund(lateCharge));
    assert.ok(needsRefund(nextState(failed, charged)));
  });

  it("arms the compensation again for any outcome of a settle attempt that outlived its booking", () => {
    const compensatedCancel: BookingState = {
      status: "CANCELLED",
      paymentId: "",
      failureReason: "",
      work: null,
    };
    for (const event of [declined, exhausted, soldOut, unanswered]) {
      assert.deepEqual(nextState(compensatedCancel, event), { ...compensatedCancel, work: "compensate" });
      assert.deepEqual(nextState(failed, event), { ...failed, work: "compensate" });
    }
  });

  it("ignores late outcomes for a confirmed booking", () => {
    for (const event of [charged, declined, exhausted, soldOut, unanswered])
      assert.deepEqual(nextState(confirmed, event), confirmed);
  });

  it("keeps a charge only on a confirmed booking", () => {
    assert.ok(!needsRefund(confirmed));
    assert.ok(!needsRefund(pending));
    assert.ok(!needsRefund(failed));
    assert.ok(needsRefund(cancelled));
  });
});

describe("retry schedule", () => {
  const schedule = { baseDelayMs: 1_000, maxDelayMs: 10_000, maxAttempts: 4 };

  it("doubles the delay per attempt up to the cap, with the upper half random", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(schedule, attempt, () => 1)),
      [1_000, 2_000, 4_000, 8_000, 10_000, 10_000],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((attempt) => retryDelayMs(schedule, attempt, () => 0)),
      [500, 1_000, 2_000, 4_000, 5_000],
    );
    assert.equal(
      retryDelayMs(schedule, 0, () => 1),
      1_000,
    );
    for (let round = 0; round < 100; round++) {
      const delay = retryDelayMs(schedule, 3);
      assert.ok(delay >= 2_000 && delay <= 4_000);
    }
  });

  it("gives up once the attempts reach the budget", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((attempts) => afterUnansweredAttempt(schedule, attempts)),
      ["retry", "retry", "retry", "give_up", "give_up"],
    );
  });
});
