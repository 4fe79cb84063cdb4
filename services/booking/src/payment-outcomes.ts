import type { PaymentSucceededSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import type { EventContext, EventHandler } from "@tourmesh/platform";
import type { BookingSaga } from "./saga.js";

/** Payment's subject for a charge that succeeded, relative to the stream's prefix. */
export const paymentSucceededSubject = "payment.succeeded";

/**
 * Reconciles bookings with the charges payment reports. A Charge call can succeed at payment and still go
 * unanswered here (a timeout, a lost connection); if the booking then gives up, or its traveller cancels it
 * while it is pending, nothing else would ever refund that charge. The PaymentSucceeded event closes the gap
 * (see BookingSaga.chargeReported). Applying a charge the booking already knows changes nothing, so the
 * consumer needs no inbox.
 */
export function paymentSucceededHandler(
  saga: BookingSaga,
): EventHandler<typeof PaymentSucceededSchema, EventContext> {
  return async (event, { logger }) => {
    const outcome = await saga.chargeReported(event.bookingId, event.paymentId);
    if (outcome === "unknown_booking")
      logger.warn({ booking_id: event.bookingId }, "charge reported for an unknown booking");
  };
}
