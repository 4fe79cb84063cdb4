import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import {
  NotificationKind,
  NotificationService,
} from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { createClient, type ServiceClient } from "@tourmesh/platform";
import type { ServiceProcess } from "@tourmesh/stack";
import { type BookingStack, startBookingStack } from "@tourmesh/stack/testing";

/**
 * The event path end to end: booking (with catalog and payment) emits through its outbox, notification
 * consumes, all in one stack with its private event streams.
 */
describe("notifications of real bookings", () => {
  let stack: BookingStack;
  let notification: ServiceProcess;
  let notifications: ServiceClient<typeof NotificationService>;
  before(async () => {
    stack = await startBookingStack({ with: ["notification"] });
    notification = stack.stack.process("notification");
    notifications = createClient(NotificationService, `127.0.0.1:${notification.port}`, {
      retries: false,
    });
  });
  after(async () => {
    notifications?.close();
    await stack?.stop();
  });

  const notificationsOf = async (userId: string, bookingId: string) =>
    (await notifications.listNotifications({ pageSize: 100 }, await stack.as(userId))).notifications.filter(
      (found) => found.bookingId === bookingId,
    );
  const book = async (
    userId: string,
    idempotencyKey: string,
    tourId: string,
    headers: Record<string, string> = {},
  ) => {
    const options = await stack.as(userId);
    const { booking } = await stack.booking.createBooking(
      { idempotencyKey, tourId, travelers: 1, countryCode: "FR" },
      { ...options, headers: { ...options.headers, ...headers } },
    );
    assert.ok(booking);
    return booking;
  };
  const waitForKind = async (
    userId: string,
    bookingId: string,
    kind: NotificationKind,
    timeoutMs = 10_000,
  ) => {
    const started = performance.now();
    for (;;) {
      const found = await notificationsOf(userId, bookingId);
      if (found.some((candidate) => candidate.kind === kind)) return performance.now() - started;
      if (performance.now() - started > timeoutMs)
        throw new Error(`no ${NotificationKind[kind]} notification for ${bookingId} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it("gives a confirmed booking exactly one notification, listed within a second", async () => {
    const booking = await book("alice", "notify-1", "tour_paris_louvre");
    assert.equal(booking.status, BookingStatus.CONFIRMED);
    const elapsedMs = await waitForKind("alice", booking.bookingId, NotificationKind.BOOKING_CONFIRMED);
    console.log(`confirmed booking → notification listed after ${Math.round(elapsedMs)} ms`);
    assert.ok(elapsedMs < 1_000, `listed after ${Math.round(elapsedMs)} ms`);
    // Anything doubled would have arrived by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const found = await notificationsOf("alice", booking.bookingId);
    assert.equal(found.length, 1);
    assert.match(
      found[0]?.message ?? "",
      new RegExp(`Your booking ${booking.bookingId} of tour_paris_louvre`),
    );
    assert.deepEqual((await notificationsOf("bob", booking.bookingId)).length, 0, "nobody else sees it");
  });

  it("tells the traveller when a booking's payment fails and when a booking is cancelled", async () => {
    await stack.faults.setFaults({ declineRate: 1 });
    let declined: Awaited<ReturnType<typeof book>>;
    try {
      declined = await book("alice", "notify-declined", "tour_rome_vatican");
    } finally {
      await stack.faults.setFaults({ declineRate: 0 });
    }
    assert.equal(declined.status, BookingStatus.PAYMENT_FAILED);
    await waitForKind("alice", declined.bookingId, NotificationKind.PAYMENT_FAILED);

    const confirmed = await book("alice", "notify-cancelled", "tour_rome_vatican");
    await stack.booking.cancelBooking({ bookingId: confirmed.bookingId }, await stack.as("alice"));
    await waitForKind("alice", confirmed.bookingId, NotificationKind.BOOKING_CANCELLED);
    const kinds = (await notificationsOf("alice", confirmed.bookingId)).map(
      (found) => NotificationKind[found.kind],
    );
    assert.deepEqual(kinds.sort(), ["BOOKING_CANCELLED", "BOOKING_CONFIRMED"]);
  });

  it("keeps one trace from CreateBooking through payment to the handling of the BookingConfirmed event", async () => {
    const traceId = randomBytes(16).toString("hex");
    const traceparent = `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
    const booking = await book("alice", "notify-traced", "tour_berlin_wall", { traceparent });
    await waitForKind("alice", booking.bookingId, NotificationKind.BOOKING_CONFIRMED);
    const traced = (logs: Array<Record<string, unknown>>) =>
      logs
        .filter((line) => line.trace_id === traceId)
        .map((line) => `${line.msg} ${line.method ?? line.event_type ?? ""}`);
    assert.ok(
      traced(stack.processes.booking.logs).includes(
        "handled /tourmesh.booking.v1.BookingService/CreateBooking",
      ),
      "booking",
    );
    assert.ok(
      traced(stack.processes.payment.logs).includes("handled /tourmesh.payment.v1.PaymentService/Charge"),
      "payment",
    );
    assert.ok(
      traced(stack.processes.catalog.logs).includes(
        "handled /tourmesh.catalog.v2.CatalogService/ReserveSeats",
      ),
      "catalog",
    );
    const handled = notification.logs.filter((line) => line.trace_id === traceId);
    assert.ok(
      handled.some(
        (line) => line.msg === "event handled" && line.event_type === "tourmesh.events.v1.BookingConfirmed",
      ),
      `notification's handling: ${JSON.stringify(handled)}`,
    );
    assert.ok(
      handled.some((line) => line.msg === "notification sent" && line.booking_id === booking.bookingId),
      "the handler's own log line",
    );
  });

  it("left no error in any service's log", () => {
    assert.deepEqual(stack.errorLogs(), []);
    assert.deepEqual(
      notification.logs.filter((line) => line.level === "error" || line.level === "fatal"),
      [],
    );
  });
});
