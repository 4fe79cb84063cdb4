import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import type { Money } from "@tourmesh/gen/tourmesh/common/v1/money_pb.js";
import { NotificationKind } from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";

export function money(amount: Money | undefined): string {
  if (amount === undefined) return "";
  return new Intl.NumberFormat("en", { style: "currency", currency: amount.currencyCode }).format(
    Number(amount.minorUnits) / 100,
  );
}

export function dateTime(timestamp: Timestamp | undefined): string {
  if (timestamp === undefined) return "";
  return new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" }).format(
    timestampDate(timestamp),
  );
}

/** The time of day, e.g. "14:30". */
export function time(date: Date): string {
  return new Intl.DateTimeFormat("en-GB", { timeStyle: "short" }).format(date);
}

/** A day in words, e.g. "Saturday 1 May 2027". */
export function longDate(date: Date | undefined): string {
  if (date === undefined) return "";
  return new Intl.DateTimeFormat("en-GB", { dateStyle: "full" }).format(date);
}

export function duration(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return [hours > 0 ? `${hours} h` : "", rest > 0 ? `${rest} min` : ""].filter(Boolean).join(" ");
}

/** A booking's status as the traveller reads it. */
export const statusWords: Readonly<Record<BookingStatus, string>> = {
  [BookingStatus.UNSPECIFIED]: "Unknown",
  [BookingStatus.PENDING_PAYMENT]: "Pending payment",
  [BookingStatus.CONFIRMED]: "Confirmed",
  [BookingStatus.PAYMENT_FAILED]: "Payment failed",
  [BookingStatus.CANCELLED]: "Cancelled",
};

export const notificationWords: Readonly<Record<NotificationKind, string>> = {
  [NotificationKind.UNSPECIFIED]: "Notice",
  [NotificationKind.BOOKING_CONFIRMED]: "Booking confirmed",
  [NotificationKind.BOOKING_CANCELLED]: "Booking cancelled",
  [NotificationKind.PAYMENT_FAILED]: "Payment failed",
  [NotificationKind.TOUR_REMINDER]: "Tour reminder",
  [NotificationKind.TOUR_REVIEWED]: "New review of your tour",
};
