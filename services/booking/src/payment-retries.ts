import { BookingPaymentRequestedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import {
  type EventContext,
  type EventHandler,
  Poller,
  retryLater,
  type ServiceRuntime,
} from "@tourmesh/platform";
import { bookingSubjects } from "./booking-events.js";
import type { BookingStore } from "./booking-store.js";
import type { BookingSaga } from "./saga.js";

/** Bookings the retry sweep takes per transaction. */
const SWEEP_BATCH = 500;

export interface PaymentRetryOptions {
  /**
   * While another attempt holds the booking (CreateBooking's own, or one of a process that died), how often
   * to look again: that attempt may schedule the retry sooner than its lease ends. The base retry delay,
   * since no retry can be due sooner after an attempt.
   */
  recheckMs: number;
  /** How often the sweep looks for owed work whose attempt died with its process, and requests its retry. */
  sweepIntervalMs: number;
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
export function runPaymentRetries(
  runtime: Pick<ServiceRuntime<unknown>, "consume" | "onShutdown" | "logger">,
  store: BookingStore,
  saga: BookingSaga,
  options: PaymentRetryOptions,
): void {
  runtime
    .consume({
      name: "booking-payment-retries",
      subject: bookingSubjects.paymentRequested,
      // Each attempt is counted with the booking, which bounds them; deliveries also wait out other
      // attempts' leases, so JetStream's own bound is far above the attempt budget, and each owed booking's
      // event waits (unacknowledged) until its work is done.
      inbox: false,
      maxDeliver: 1_000,
      maxAckPending: 20_000,
    })
    .on(BookingPaymentRequestedSchema, paymentRetryHandler(store, saga, options.recheckMs));
  const sweep = new Poller(
    { name: "retry-sweep", intervalMs: options.sweepIntervalMs, logger: runtime.logger },
    async () => ((await store.sweepUnrequestedWork(SWEEP_BATCH)) < SWEEP_BATCH ? "done" : "more"),
  );
  sweep.start();
  runtime.onShutdown(() => sweep.stop());
}

/** One delivery of a BookingPaymentRequested: at most one attempt of the saga, and when to deliver it again. */
function paymentRetryHandler(
  store: BookingStore,
  saga: BookingSaga,
  recheckMs: number,
): EventHandler<typeof BookingPaymentRequestedSchema, EventContext> {
  return async (event) => {
    const claim = await store.claim(event.bookingId, saga.leaseMs);
    switch (claim.outcome) {
      case "nothing_owed":
        return undefined;
      case "not_due":
        return retryLater(Math.min(claim.dueInMs, recheckMs));
      case "claimed": {
        const after = await saga.run(claim.booking);
        if (after.work === null) return undefined;
        return retryLater((after.nextAttemptAt?.getTime() ?? Date.now()) - Date.now());
      }
    }
  };
}
