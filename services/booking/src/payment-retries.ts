import type { BookingPaymentRequestedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { type EventContext, type EventHandler, retryLater } from "@tourmesh/platform";
import type { BookingStore, StoredBooking } from "./booking-store.js";

export interface PaymentRetryOptions {
  /** How long an attempt holds the booking (see BookingSaga.leaseMs). */
  leaseMs: number;
  /**
   * While another attempt holds the booking (CreateBooking's own, or one of a process that died), how often
   * to look again: that attempt may schedule the retry sooner than its lease ends. The base retry delay,
   * since no retry can be due sooner after an attempt.
   */
  recheckMs: number;
}

/**
 * The retries of the payment steps bookings owe, on JetStream. A step left owed gets a BookingPaymentRequested
 * recorded with it: by the change that makes the step owed (see booking-events.ts), by a new booking's first
 * attempt when it does not settle (BookingStore.retryLater), or by the sweep when that attempt's process died
 * (BookingStore.sweepUnrequestedWork). Booking consumes its own event here. Each delivery tries to take the
 * booking (BookingStore.claim: due, not held by another attempt): when it does, it runs one attempt of the saga,
 * and if the step is still owed afterwards, asks JetStream to deliver the event again when the saga scheduled
 * the next attempt (nak with that delay: exponential backoff with jitter, see retry-schedule.ts). The attempt
 * budget is the booking's own attempt count, kept with the booking, so it survives restarts and redeliveries:
 * once spent, the saga fails the booking PAYMENT_FAILED and gives its seats back. The event is acknowledged once
 * the booking owes nothing.
 */
export function paymentRetryHandler(
  store: BookingStore,
  run: (booking: StoredBooking) => Promise<StoredBooking>,
  options: PaymentRetryOptions,
): EventHandler<typeof BookingPaymentRequestedSchema, EventContext> {
  return async (event) => {
    const claim = await store.claim(event.bookingId, options.leaseMs);
    switch (claim.outcome) {
      case "nothing_owed":
        return undefined;
      case "not_due":
        return retryLater(Math.min(claim.dueInMs, options.recheckMs));
      case "claimed": {
        const after = await run(claim.booking);
        if (after.work === null) return undefined;
        return retryLater((after.nextAttemptAt?.getTime() ?? Date.now()) - Date.now());
      }
    }
  };
}
