/**
 * What a booking tells the rest of the system: the integration events a change of state emits. Recorded
 * in the booking's outbox in the same transaction as the change (see BookingStore), so an event goes out if
 * and only if the change happened.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  BookingCancelledSchema,
  BookingConfirmedSchema,
  BookingPaymentFailedSchema,
  BookingPaymentRequestedSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import type { NewEvent } from "@tourmesh/platform";
import type { BookingState } from "./booking-state.js";
import type { Booking } from "./bookings.js";

/** Subjects, relative to the stream's prefix. */
export const bookingSubjects = {
  confirmed: "booking.confirmed",
  cancelled: "booking.cancelled",
  paymentFailed: "booking.payment_failed",
  paymentRequested: "booking.payment_requested",
} as const;

export interface EventfulBooking extends Booking {
  /** When the booked tour starts, as catalog said when the booking was made; unknown for old bookings. */
  tourStartTime: Date | undefined;
}

const money = (booking: Booking) => ({
  currencyCode: booking.quote.total.currencyCode,
  minorUnits: BigInt(booking.quote.total.minorUnits),
});

/** The payment step a new booking owes (its charge): the wake-up of the retry consumer. */
export function paymentRequested(booking: Booking): NewEvent<typeof BookingPaymentRequestedSchema> {
  return {
    subject: bookingSubjects.paymentRequested,
    schema: BookingPaymentRequestedSchema,
    message: { bookingId: booking.bookingId, userId: booking.userId, total: money(booking) },
    aggregateId: booking.bookingId,
  };
}

/**
 * The events of a change from `before` to `after`: one when the status changes (confirmed, payment failed,
 * cancelled), and a payment request when the change leaves a new payment step owed (a refund or seat release
 * after the booking ended, or a late charge to give back).
 */
export function bookingEvents(before: BookingState, after: EventfulBooking): Array<NewEvent<DescMessage>> {
  const events: Array<NewEvent<DescMessage>> = [];
  const about = { bookingId: after.bookingId, userId: after.userId, tourId: after.tourId };
  if (after.status !== before.status) {
    switch (after.status) {
      case "CONFIRMED":
        events.push({
          subject: bookingSubjects.confirmed,
          schema: BookingConfirmedSchema,
          message: {
            ...about,
            travelers: after.travelers,
            total: money(after),
            paymentId: after.paymentId,
            ...(after.tourStartTime ? { tourStartTime: timestampFromDate(after.tourStartTime) } : {}),
          },
          aggregateId: after.bookingId,
        });
        break;
      case "PAYMENT_FAILED":
        events.push({
          subject: bookingSubjects.paymentFailed,
          schema: BookingPaymentFailedSchema,
          message: { ...about, reason: after.failureReason },
          aggregateId: after.bookingId,
        });
        break;
      case "CANCELLED":
        events.push({
          subject: bookingSubjects.cancelled,
          schema: BookingCancelledSchema,
          message: { ...about, paymentId: after.paymentId, reason: after.failureReason },
          aggregateId: after.bookingId,
        });
        break;
      case "PENDING_PAYMENT":
        break;
    }
  }
  const newStep = after.work !== null && (after.work !== before.work || after.paymentId !== before.paymentId);
  if (newStep) events.push(paymentRequested(after));
  return events;
}
