import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { PaymentStatus } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { callFailure } from "@tourmesh/platform/testing";
import { type BookingStack, startBookingStack } from "@tourmesh/stack/testing";

const CHARGE_TIMEOUT_MS = 1_500;

describe("booking saga against real catalog and payment processes", () => {
  let stack: BookingStack;
  before(async () => {
    stack = await startBookingStack({
      bookingEnv: {
        BOOKING_CHARGE_TIMEOUT_MS: String(CHARGE_TIMEOUT_MS),
        BOOKING_RETRY_BASE_MS: "100",
        BOOKING_RETRY_MAX_MS: "300",
        // Effectively unbounded here: these tests end outages themselves (the budget has its own spec).
        BOOKING_PAYMENT_MAX_ATTEMPTS: "10000",
        BOOKING_BREAKER_HALF_OPEN_MS: "200",
      },
    });
  });
  after(() => stack?.stop());

  const paymentsOf = (bookingId: string) =>
    stack.databases.payment.query<{ payment_id: string; status: string }>(
      "SELECT payment_id, status FROM payments WHERE booking_id = $1",
      [bookingId],
    );
  const reservationsOf = (bookingId: string) =>
    stack.databases.catalog.query<{ status: string; seats: number }>(
      "SELECT status, seats FROM reservations WHERE reservation_id = $1",
      [bookingId],
    );
  const create = async (
    userId: string,
    request: { idempotencyKey: string; tourId: string; travelers: number; promoCode?: string },
    timeoutMs?: number,
  ) => {
    const options = await stack.as(userId, timeoutMs ? { timeoutMs } : {});
    const { booking } = await stack.booking.createBooking({ countryCode: "FR", ...request }, options);
    assert.ok(booking);
    return booking;
  };

  it("quotes from the catalog's price: group and promo discount, VAT of the country", async () => {
    const { quote } = await stack.booking.quotePrice(
      { tourId: "tour_paris_louvre", travelers: 6, promoCode: "welcome5", countryCode: "de" },
      await stack.as("alice"),
    );
    // 6 × 69.00 = 414.00; 15% off = 62.10; 19% VAT on 351.90 = 66.861 → 66.86; total 418.76.
    assert.equal(quote?.unitPrice?.minorUnits, 6_900n);
    assert.equal(quote?.base?.minorUnits, 41_400n);
    assert.equal(quote?.discount?.minorUnits, 6_210n);
    assert.equal(quote?.tax?.minorUnits, 6_686n);
    assert.equal(quote?.total?.minorUnits, 41_876n);
    assert.equal(quote?.total?.currencyCode, "EUR");
    assert.equal(quote?.taxRateBasisPoints, 1_900);
    assert.equal(quote?.promoCode, "WELCOME5");
    assert.equal(quote?.countryCode, "DE");

    const expired = await callFailure(
      stack.booking.quotePrice(
        { tourId: "tour_paris_louvre", travelers: 1, promoCode: "LAUNCH20", countryCode: "FR" },
        await stack.as("alice"),
      ),
    );
    assert.equal(expired.code, Code.InvalidArgument);
    assert.deepEqual(expired.fields, ["promo_code"]);
    assert.match(expired.message, /LAUNCH20 expired on 2025-02-01/);

    const missing = await callFailure(
      stack.booking.quotePrice(
        { tourId: "tour_nowhere", travelers: 1, countryCode: "FR" },
        await stack.as("alice"),
      ),
    );
    assert.equal(missing.code, Code.NotFound);
    assert.deepEqual(missing.fields, ["tour_id"]);
  });

  it("books: seats held, charged the quoted total, CONFIRMED", async () => {
    const tourId = "tour_rome_vatican";
    const seatsBefore = await stack.seatsAvailable(tourId);
    const booking = await create("alice", { idempotencyKey: "happy-1", tourId, travelers: 2 });
    assert.equal(booking.status, BookingStatus.CONFIRMED);
    assert.notEqual(booking.paymentId, "");
    assert.equal(booking.failureReason, "");
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 2);

    const { payment } = await stack.payment.getPayment({ paymentId: booking.paymentId });
    assert.equal(payment?.status, PaymentStatus.SUCCEEDED);
    assert.equal(payment?.bookingId, booking.bookingId);
    assert.deepEqual(payment?.amount, booking.quote?.total);
    assert.deepEqual(await reservationsOf(booking.bookingId), [{ status: "held", seats: 2 }]);
  });

  it("makes one booking, one charge and one reservation per user and key, also for 10 concurrent calls", async () => {
    const tourId = "tour_paris_seine-cruise";
    const seatsBefore = await stack.seatsAvailable(tourId);
    const request = { idempotencyKey: "concurrent-1", tourId, travelers: 3 };
    const answers = await Promise.all(Array.from({ length: 10 }, () => create("alice", request)));
    const ids = new Set(answers.map((booking) => booking.bookingId));
    assert.equal(ids.size, 1, `10 concurrent calls made ${ids.size} bookings`);
    const [bookingId] = [...ids] as [string];
    const confirmed = await stack.waitForStatus(bookingId, "alice", BookingStatus.CONFIRMED);

    const replay = await create("alice", request);
    assert.equal(replay.bookingId, bookingId);
    assert.equal(replay.status, BookingStatus.CONFIRMED);

    const rows = await stack.databases.booking.query(
      "SELECT 1 FROM bookings WHERE user_id = 'alice' AND idempotency_key = $1",
      [request.idempotencyKey],
    );
    assert.equal(rows.length, 1);
    assert.deepEqual(await paymentsOf(bookingId), [{ payment_id: confirmed.paymentId, status: "succeeded" }]);
    assert.deepEqual(await reservationsOf(bookingId), [{ status: "held", seats: 3 }]);
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 3);

    // The key is the user's own: another user with the same key gets another booking.
    const bobs = await create("bob", request);
    assert.notEqual(bobs.bookingId, bookingId);

    const changed = await callFailure(
      stack.booking.createBooking({ ...request, travelers: 4, countryCode: "FR" }, await stack.as("alice")),
    );
    assert.equal(changed.code, Code.AlreadyExists);
    assert.match(changed.message, /idempotency key concurrent-1 was already used/);
  });

  it("fails a declined booking PAYMENT_FAILED with the reason, and gives its seats back", async () => {
    const tourId = "tour_berlin_wall";
    const seatsBefore = await stack.seatsAvailable(tourId);
    await stack.faults.setFaults({ declineRate: 1 });
    try {
      const booking = await create("alice", { idempotencyKey: "declined-1", tourId, travelers: 4 });
      assert.equal(booking.status, BookingStatus.PAYMENT_FAILED);
      assert.match(booking.failureReason, /^payment declined: /);
      assert.equal(booking.paymentId, "");
      assert.equal(await stack.seatsAvailable(tourId), seatsBefore);
      assert.deepEqual(await reservationsOf(booking.bookingId), [{ status: "released", seats: 4 }]);
      assert.deepEqual(
        (await paymentsOf(booking.bookingId)).map((row) => row.status),
        ["declined"],
      );
      const cancel = await callFailure(
        stack.booking.cancelBooking({ bookingId: booking.bookingId }, await stack.as("alice")),
      );
      assert.equal(cancel.code, Code.FailedPrecondition);
    } finally {
      await stack.faults.setFaults({ declineRate: 0 });
    }
  });

  it("answers FAILED_PRECONDITION when seats run out, and leaves nothing behind", async () => {
    const tourId = "tour_paris_catacombs";
    const all = await stack.seatsAvailable(tourId);
    const big = await create("alice", { idempotencyKey: "sold-out-1", tourId, travelers: all });
    assert.equal(big.status, BookingStatus.CONFIRMED);
    const paymentsBefore = await stack.databases.payment.query("SELECT 1 FROM payments");

    const failure = await callFailure(
      stack.booking.createBooking(
        { idempotencyKey: "sold-out-2", tourId, travelers: 1, countryCode: "FR" },
        await stack.as("alice"),
      ),
    );
    assert.equal(failure.code, Code.FailedPrecondition);
    assert.match(failure.message, /0 seats left/);
    const left = await stack.databases.booking.query(
      "SELECT 1 FROM bookings WHERE idempotency_key = 'sold-out-2'",
    );
    assert.equal(left.length, 0);
    assert.equal(
      (await stack.databases.payment.query("SELECT 1 FROM payments")).length,
      paymentsBefore.length,
    );
    assert.equal(await stack.seatsAvailable(tourId), 0);
  });

  it("cancels a confirmed booking: refunded, seats back; idempotent", async () => {
    const tourId = "tour_barcelona_sagrada";
    const seatsBefore = await stack.seatsAvailable(tourId);
    const booking = await create("alice", { idempotencyKey: "cancel-1", tourId, travelers: 2 });
    assert.equal(booking.status, BookingStatus.CONFIRMED);
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 2);

    const options = await stack.as("alice");
    const { booking: cancelled } = await stack.booking.cancelBooking(
      { bookingId: booking.bookingId },
      options,
    );
    assert.equal(cancelled?.status, BookingStatus.CANCELLED);
    assert.equal(cancelled?.paymentId, booking.paymentId);
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore);
    const { payment } = await stack.payment.getPayment({ paymentId: booking.paymentId });
    assert.equal(payment?.status, PaymentStatus.REFUNDED);

    const { booking: again } = await stack.booking.cancelBooking({ bookingId: booking.bookingId }, options);
    assert.equal(again?.status, BookingStatus.CANCELLED);
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore);
    const work = await stack.databases.booking.query("SELECT work FROM bookings WHERE booking_id = $1", [
      booking.bookingId,
    ]);
    assert.deepEqual(work, [{ work: null }]);
  });

  it("keeps a booking PENDING_PAYMENT while payment is down, and confirms it once payment is back", async () => {
    const tourId = "tour_lisbon_belem";
    const seatsBefore = await stack.seatsAvailable(tourId);
    await stack.faults.setFaults({ outage: true });
    let bookingId = "";
    try {
      const booking = await create("alice", { idempotencyKey: "outage-1", tourId, travelers: 2 });
      bookingId = booking.bookingId;
      assert.equal(booking.status, BookingStatus.PENDING_PAYMENT);
      assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 2, "seats stay held while pending");
      // Let the retries run against the outage, more times than the breaker's threshold (5 by default).
      for (let attempts = 0; attempts < 7; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const [row] = await stack.databases.booking.query<{ attempts: number; status: string }>(
          "SELECT attempts, status FROM bookings WHERE booking_id = $1",
          [bookingId],
        );
        assert.equal(row?.status, "PENDING_PAYMENT");
        attempts = row?.attempts ?? 0;
      }
      assert.deepEqual(await paymentsOf(bookingId), []);
      const breakerStates = stack.processes.booking.logs
        .filter((line) => line.msg === "payment circuit breaker changed state")
        .map((line) => line.circuit);
      assert.ok(breakerStates.includes("Open"), `the breaker went ${breakerStates.join(", ")}`);
    } finally {
      await stack.faults.setFaults({ outage: false });
    }
    const confirmed = await stack.waitForStatus(bookingId, "alice", BookingStatus.CONFIRMED);
    assert.deepEqual(await paymentsOf(bookingId), [{ payment_id: confirmed.paymentId, status: "succeeded" }]);
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 2);
  });

  it("answers within the charge deadline when payment is slower, and settles to exactly one charge", async () => {
    const tourId = "tour_amsterdam_canals";
    const seatsBefore = await stack.seatsAvailable(tourId);
    const latencyMs = 4_000;
    await stack.faults.setFaults({ latencyMs });
    let bookingId = "";
    let hurriedId = "";
    try {
      const started = performance.now();
      const booking = await create("alice", { idempotencyKey: "slow-1", tourId, travelers: 3 }, 10_000);
      const elapsed = performance.now() - started;
      bookingId = booking.bookingId;
      assert.equal(booking.status, BookingStatus.PENDING_PAYMENT);
      // The charge is cut off at its own deadline, well before the payment answers.
      assert.ok(elapsed < latencyMs, `CreateBooking took ${Math.round(elapsed)} ms`);
      // A caller whose deadline is shorter than the charge timeout still gets its answer in time.
      const callerDeadlineMs = 1_200;
      const hurried = await create(
        "alice",
        { idempotencyKey: "slow-2", tourId, travelers: 1 },
        callerDeadlineMs,
      );
      assert.equal(hurried.status, BookingStatus.PENDING_PAYMENT);
      hurriedId = hurried.bookingId;
      // The first, unanswered charge still lands at payment once its latency is over.
      for (let tries = 0; (await paymentsOf(bookingId)).length === 0; tries++) {
        assert.ok(tries < 200, "the slow charge never landed");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await stack.faults.setFaults({ latencyMs: 0 });
    }
    const confirmed = await stack.waitForStatus(bookingId, "alice", BookingStatus.CONFIRMED);
    const [row] = await stack.databases.booking.query<{ attempts: number }>(
      "SELECT attempts FROM bookings WHERE booking_id = $1",
      [bookingId],
    );
    assert.ok((row?.attempts ?? 0) >= 2, "the charge was attempted more than once");
    console.log(`slow payment: confirmed after ${row?.attempts} charge attempts`);
    assert.deepEqual(await paymentsOf(bookingId), [{ payment_id: confirmed.paymentId, status: "succeeded" }]);
    assert.deepEqual(await reservationsOf(bookingId), [{ status: "held", seats: 3 }]);
    const hurried = await stack.waitForStatus(hurriedId, "alice", BookingStatus.CONFIRMED);
    assert.deepEqual(await paymentsOf(hurriedId), [{ payment_id: hurried.paymentId, status: "succeeded" }]);
    assert.equal(await stack.seatsAvailable(tourId), seatsBefore - 4);
  });

  it("left no error in any service's log", () => {
    assert.deepEqual(stack.errorLogs(), []);
  });
});
