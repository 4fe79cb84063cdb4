/**
 * The notification domain: what a traveller is told about each booking event, when the tour reminder is due,
 * what an operator is told of a review of their tour, and what makes a ListNotifications request valid. Plain
 * types and functions; no transport, no SQL.
 */
import { RequestCheck } from "@tourmesh/platform";

export type NotificationKind =
  | "booking_confirmed"
  | "booking_cancelled"
  | "payment_failed"
  | "tour_reminder"
  | "tour_reviewed";

export interface Notification {
  notificationId: string;
  /** Whom it is for: the traveller who booked, or the operator of a reviewed tour. */
  userId: string;
  /** The booking it is about; "" for a review's. */
  bookingId: string;
  kind: NotificationKind;
  /** A one-line subject for the message, e.g. an e-mail's. */
  subject: string;
  message: string;
  createTime: Date;
}

/** What is known about a booking when an event about it arrives. */
export interface BookingFacts {
  bookingId: string;
  userId: string;
  tourId: string;
}

export interface Money {
  currencyCode: string;
  minorUnits: bigint;
}

/** "EUR 123.45" (two decimals: every currency the catalog sells in has cents). */
export function formatMoney(money: Money | undefined): string {
  if (!money) return "";
  const sign = money.minorUnits < 0n ? "-" : "";
  const units = money.minorUnits < 0n ? -money.minorUnits : money.minorUnits;
  return `${money.currencyCode} ${sign}${units / 100n}.${String(units % 100n).padStart(2, "0")}`;
}

const travellers = (count: number) => `${count} traveller${count === 1 ? "" : "s"}`;

export interface Draft {
  kind: NotificationKind;
  subject: string;
  message: string;
}

export function confirmedDraft(
  booking: BookingFacts & { travelers: number; total?: Money | undefined; tourStartTime: Date | undefined },
): Draft {
  const start = booking.tourStartTime ? `, starting ${booking.tourStartTime.toISOString()}` : "";
  return {
    kind: "booking_confirmed",
    subject: `Booking ${booking.bookingId} confirmed`,
    message:
      `Your booking ${booking.bookingId} of ${booking.tourId} for ${travellers(booking.travelers)} is confirmed` +
      `${start}. ${formatMoney(booking.total)} was charged.`,
  };
}

export function cancelledDraft(booking: BookingFacts & { paymentId: string; reason: string }): Draft {
  const why = booking.reason === "" ? "" : `: ${booking.reason}`;
  const refund = booking.paymentId === "" ? "Nothing was charged." : "Your payment is being refunded.";
  return {
    kind: "booking_cancelled",
    subject: `Booking ${booking.bookingId} cancelled`,
    message: `Your booking ${booking.bookingId} of ${booking.tourId} was cancelled${why}. ${refund}`,
  };
}

export function paymentFailedDraft(booking: BookingFacts & { reason: string }): Draft {
  return {
    kind: "payment_failed",
    subject: `Booking ${booking.bookingId}: payment failed`,
    message:
      `We could not take the payment for your booking ${booking.bookingId} of ${booking.tourId} ` +
      `(${booking.reason}), so it is not booked and its seats were released. Nothing was charged.`,
  };
}

export function reminderDraft(booking: BookingFacts & { tourStartTime: Date }): Draft {
  return {
    kind: "tour_reminder",
    subject: `Your tour starts ${booking.tourStartTime.toISOString()}`,
    message:
      `Reminder: ${booking.tourId} (booking ${booking.bookingId}) starts ` +
      `${booking.tourStartTime.toISOString()}. Enjoy it!`,
  };
}

/** What the operator of a tour is told when a traveller reviews it (never who: the review says that). */
export interface ReviewFacts {
  reviewId: string;
  tourId: string;
  rating: number;
}

export function reviewedDraft(review: ReviewFacts): Draft {
  return {
    kind: "tour_reviewed",
    subject: `New review of ${review.tourId}`,
    message:
      `Your tour ${review.tourId} has a new review: ${review.rating} of 5 stars (${review.reviewId}). ` +
      "Read it with the tour's reviews.",
  };
}

/** How long before its tour a traveller is reminded. */
export const REMINDER_LEAD_MS = 24 * 60 * 60 * 1_000;

/**
 * When to remind a traveller of a tour starting at `tourStartTime`: a day before; right away when the tour
 * starts within a day; never when it has already started (undefined).
 */
export function reminderDueAt(tourStartTime: Date, now: Date): Date | undefined {
  if (tourStartTime.getTime() <= now.getTime()) return undefined;
  return new Date(Math.max(now.getTime(), tourStartTime.getTime() - REMINDER_LEAD_MS));
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function checkListNotifications(request: { pageSize: number }): number {
  new RequestCheck().pageSize("page_size", request.pageSize, MAX_PAGE_SIZE).done();
  return request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize;
}

/** Notifications are listed newest first by their insertion sequence; a page ends after `seq`. */
export interface NotificationPosition {
  seq: number;
}

export function isNotificationPosition(value: unknown): value is NotificationPosition {
  const seq = (value as { seq?: unknown } | null)?.seq;
  return typeof seq === "number" && Number.isSafeInteger(seq) && seq > 0;
}
