import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { waitFor } from "@tourmesh/platform/testing";
import { type BookingStack, startBookingStack } from "@tourmesh/stack/testing";
import { chargeKey } from "./bookings.js";

const MAX_ATTEMPTS = 4;

describe("booking when payment stays down", () => {
  let stack: BookingStack;
  before(async () => {
    stack = await startBookingStack({
      paymentEnv: { PAYMENT_OUTAGE: "true" },
      bookingEnv: {
        BOOKING_PAYMENT_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        BOOKING_RETRY_BASE_MS: "300",
        BOOKING_RETRY_MAX_MS: "600",
        // Attempts the open breaker turns away count against the budget; keep the breaker's pause short
        // next to this small budget (as the defaults do: 5 s against minutes of retries).
        BOOKING_BREAKER_HALF_OPEN_MS: "200",
        BOOKING_RETRY_SWEEP_MS: "500",
      },
    });
  });
  after(() => stack?.stop());

  const bookingRow = async (bookingId: string) =>
    (
      await stack.databases.booking.query<{ attempts: number; work: string | null }>(
        "SELECT attempts, work FROM bookings WHERE booking_id = $1",
        [bookingId],
      )
    )[0];
  const paymentStatus = async (bookingId: string) =>
    (
      await stack.databases.payment.query<{ status: string }>(
        "SELECT status FROM payments WHERE booking_id = $1",
        [bookingId],
      )
    ).map((row) => row.status);
  const reservationsOf = (bookingId: string) =>
    stack.databases.catalog.query("SELECT status FROM reservations WHERE reservation_id = $1", [bookingId]);
  // Bookings this file has charged on purpose; no other booking here may ever be charged.
  const chargedOnPurpose: string[] = [];
  const paymentCount = async () =>
    (
      await stack.databases.payment.query("SELECT 1 FROM payments WHERE booking_id <> ALL($1)", [
        chargedOnPurpose,
      ])
    ).length;

  it("fails the booking PAYMENT_FAILED after the retry budget and releases its seats", async () => {
    const tourId = "tour_rome_colosseum";
    const seatsBefore = await stack.seatsAvailable(tourId);
    const { booking } = await stack.booking.createBooking(
      { idempotencyKey: "down-1", tourId, travelers: 3, countryCode: "IT" },
      await stack.as("alice"),
    );
    assert.equal(booking?.status, BookingStatus.PENDING_PAYMENT);
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 3);

    const bookingId = booking?.bookingId ?? "";
    const failed = await stack.waitForStatus(bookingId, "alice", BookingStatus.PAYMENT_FAILED);
    assert.match(failed.failureReason, new RegExp(`^gave up charging after ${MAX_ATTEMPTS} attempts`));
    assert.equal(failed.paymentId, "");
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore);
    assert.deepEqual(await reservationsOf(bookingId), [{ status: "released" }]);
    const row = await bookingRow(bookingId);
    assert.equal(row?.work, null);
    assert.equal(await paymentCount(), 0);
  });

  it("refunds a charge that lands after the booking gave up (reported by PaymentSucceeded)", async () => {
    const tourId = "tour_rome_vatican";
    const { booking } = await stack.booking.createBooking(
      { idempotencyKey: "down-late", tourId, travelers: 1, countryCode: "IT" },
      await stack.as("alice"),
    );
    const bookingId = booking?.bookingId ?? "";
    const failed = await stack.waitForStatus(bookingId, "alice", BookingStatus.PAYMENT_FAILED);
    chargedOnPurpose.push(bookingId);

    // The charge of an attempt whose answer was lost: it reaches payment only now, with the attempt's key.
    await stack.faults.setFaults({ outage: false });
    try {
      const { payment } = await stack.payment.charge({
        idempotencyKey: chargeKey(bookingId),
        bookingId,
        amount: failed.quote?.total,
      });
      for (let tries = 0; (await paymentStatus(bookingId))[0] !== "refunded"; tries++) {
        assert.ok(tries < 300, "the late charge was never refunded");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { booking: after } = await stack.booking.getBooking({ bookingId }, await stack.as("alice"));
      assert.equal(after?.status, BookingStatus.PAYMENT_FAILED);
      assert.equal(after?.paymentId, payment?.paymentId);
      assert.equal((await bookingRow(bookingId))?.work, null);
    } finally {
      await stack.faults.setFaults({ outage: true });
    }
  });

  it("cancels a booking still waiting for payment: seats back at once, and it is never charged", async () => {
    const tourId = "tour_rome_trastevere";
    const seatsBefore = await stack.seatsAvailable(tourId);
    const options = await stack.as("alice");
    const { booking } = await stack.booking.createBooking(
      { idempotencyKey: "down-2", tourId, travelers: 2, countryCode: "IT" },
      options,
    );
    assert.equal(booking?.status, BookingStatus.PENDING_PAYMENT);
    const bookingId = booking?.bookingId ?? "";

    const { booking: cancelled } = await stack.booking.cancelBooking({ bookingId }, options);
    assert.equal(cancelled?.status, BookingStatus.CANCELLED);
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore);

    // Payment comes back: the retries must not settle a cancelled booking.
    await stack.faults.setFaults({ outage: false });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const { booking: later } = await stack.booking.getBooking({ bookingId }, options);
      assert.equal(later?.status, BookingStatus.CANCELLED);
      assert.equal((await bookingRow(bookingId))?.work, null);
      assert.equal(await paymentCount(), 0);
      assert.equal(await stack.seatsAvailable(tourId), seatsBefore);
    } finally {
      await stack.faults.setFaults({ outage: true });
    }
  });

  it("cancels a confirmed booking while payment is down: seats back at once, refunded once payment returns", async () => {
    const tourId = "tour_berlin_potsdam";
    const seatsBefore = await stack.seatsAvailable(tourId);
    const options = await stack.as("alice");

    await stack.faults.setFaults({ outage: false });
    try {
      const { booking } = await stack.booking.createBooking(
        { idempotencyKey: "down-cancel", tourId, travelers: 2, countryCode: "DE" },
        options,
      );
      const bookingId = booking?.bookingId ?? "";
      chargedOnPurpose.push(bookingId);
      // The breaker may still be open from the outage before: then a retry confirms it a little later.
      await stack.waitForStatus(bookingId, "alice", BookingStatus.CONFIRMED);

      await stack.faults.setFaults({ outage: true });
      const { booking: cancelled } = await stack.booking.cancelBooking({ bookingId }, options);
      assert.equal(cancelled?.status, BookingStatus.CANCELLED);
      assert.equal(await stack.seatsAvailable(tourId), seatsBefore);
      assert.deepEqual(await paymentStatus(bookingId), ["succeeded"]);
      assert.equal((await bookingRow(bookingId))?.work, "compensate", "the refund is still owed");

      await stack.faults.setFaults({ outage: false });
      for (let tries = 0; (await bookingRow(bookingId))?.work !== null; tries++) {
        assert.ok(tries < 300, "the refund was never made");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(await paymentStatus(bookingId), ["refunded"]);
    } finally {
      await stack.faults.setFaults({ outage: true });
    }
  });

  it("keeps a pending booking through a restart of booking, and the new process settles it", async () => {
    const tourId = "tour_lisbon_sintra";
    const seatsBefore = await stack.seatsAvailable(tourId);
    const { booking } = await stack.booking.createBooking(
      { idempotencyKey: "down-3", tourId, travelers: 2, countryCode: "PT" },
      await stack.as("alice"),
    );
    assert.equal(booking?.status, BookingStatus.PENDING_PAYMENT);
    const bookingId = booking?.bookingId ?? "";
    const stopped = stack.processes.booking;

    const exitCode = await stack.restartBooking(() => stack.faults.setFaults({ outage: false }));
    try {
      assert.equal(exitCode, 0);
      assert.ok(
        stopped.logs.some((line) => line.msg === "stopped"),
        "the old process drained and stopped",
      );
      const confirmed = await stack.waitForStatus(bookingId, "alice", BookingStatus.CONFIRMED);
      const payments = await stack.databases.payment.query(
        "SELECT payment_id FROM payments WHERE booking_id = $1",
        [bookingId],
      );
      assert.deepEqual(payments, [{ payment_id: confirmed.paymentId }]);
      assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 2);
    } finally {
      await stack.faults.setFaults({ outage: true });
    }
  });

  it("settles a booking whose process died during its first attempt: the sweep asks for its retry", async () => {
    const tourId = "tour_lisbon_sintra";
    const seatsBefore = await stack.seatsAvailable(tourId);
    await stack.faults.setFaults({ outage: false, latencyMs: 10_000 });
    const creating = stack.booking
      .createBooking(
        { idempotencyKey: "crash-1", tourId, travelers: 1, countryCode: "PT" },
        await stack.as("alice"),
      )
      .catch((error: unknown) => error);
    let bookingId = "";
    await waitFor("the booking to be written", async () => {
      const rows = await stack.databases.booking.query<{ booking_id: string }>(
        "SELECT booking_id FROM bookings WHERE idempotency_key = 'crash-1'",
      );
      bookingId = rows[0]?.booking_id ?? "";
      return bookingId !== "";
    });
    try {
      // Killed while its charge is in flight: nothing but the sweep knows the booking still owes it.
      await stack.restartBooking(() => stack.faults.setFaults({ latencyMs: 0 }), "SIGKILL");
      assert.ok((await creating) instanceof Error, "the caller lost its answer with the process");
      const confirmed = await stack.waitForStatus(bookingId, "alice", BookingStatus.CONFIRMED);
      const payments = await stack.databases.payment.query<{ payment_id: string }>(
        "SELECT payment_id FROM payments WHERE booking_id = $1",
        [bookingId],
      );
      assert.deepEqual(payments, [{ payment_id: confirmed.paymentId }], "charged once");
      chargedOnPurpose.push(bookingId);
      assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 1);
      assert.ok(
        stack.processes.booking.logs.some(
          (line) => line.msg === "event handled" && line.consumer === "booking-payment-retries",
        ),
        "the retry was carried by its event",
      );
    } finally {
      await stack.faults.setFaults({ outage: true, latencyMs: 0 });
    }
  });

  it("left no error in any service's log", () => {
    assert.deepEqual(stack.errorLogs(), []);
  });
});
