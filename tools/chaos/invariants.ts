/**
 * What must hold once a chaos run has settled, checked from the services' own databases (not from their APIs,
 * which could hide a disagreement between services).
 */
import type { TestDatabase } from "@tourmesh/platform/testing";

/** What the invariants need of a database: to read it. */
type ReadableDatabase = Pick<TestDatabase, "query">;

export interface ChaosDatabases {
  booking: ReadableDatabase;
  payment: ReadableDatabase;
  catalog: ReadableDatabase;
  notification: ReadableDatabase;
}

export interface ChaosCounts {
  bookings: Record<string, number>;
  /** Bookings that still owe work (a settle or a compensation). */
  bookingsWithWork: number;
  payments: Record<string, number>;
  confirmedNotifications: number;
  heldReservations: number;
  heldSeats: number;
}

export interface ChaosCheck {
  counts: ChaosCounts;
  violations: string[];
}

const terminal = new Set(["CONFIRMED", "PAYMENT_FAILED", "CANCELLED"]);
const live = new Set(["CONFIRMED", "PENDING_PAYMENT"]);

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

export interface ChaosRows {
  bookings: Array<{ booking_id: string; status: string; work: string | null }>;
  payments: Array<{ booking_id: string; status: string }>;
  /** booking_confirmed notifications only. */
  confirmedNotifications: Array<{ booking_id: string }>;
  /** held reservations only. */
  heldReservations: Array<{ reservation_id: string; tour_id: string; seats: number }>;
  tours: Array<{ tour_id: string; capacity: number; seats_available: number }>;
}

/** Reads every row the invariants look at, from each service's own database. */
export async function readChaosRows(databases: ChaosDatabases): Promise<ChaosRows> {
  const [bookings, payments, confirmedNotifications, heldReservations, tours] = await Promise.all([
    databases.booking.query<ChaosRows["bookings"][number]>("SELECT booking_id, status, work FROM bookings"),
    databases.payment.query<ChaosRows["payments"][number]>("SELECT booking_id, status FROM payments"),
    databases.notification.query<ChaosRows["confirmedNotifications"][number]>(
      "SELECT booking_id FROM notifications WHERE kind = 'booking_confirmed'",
    ),
    databases.catalog.query<ChaosRows["heldReservations"][number]>(
      "SELECT reservation_id, tour_id, seats FROM reservations WHERE status = 'held'",
    ),
    databases.catalog.query<ChaosRows["tours"][number]>(
      "SELECT tour_id, capacity, seats_available FROM tours",
    ),
  ]);
  return { bookings, payments, confirmedNotifications, heldReservations, tours };
}

/** Lists each broken invariant (one line per offending row or tour) and counts what there is. */
export function checkInvariants(rows: ChaosRows): ChaosCheck {
  const {
    bookings,
    payments,
    confirmedNotifications: notifications,
    heldReservations: reservations,
    tours,
  } = rows;
  const violations: string[] = [];
  const statusById = new Map(bookings.map((row) => [row.booking_id, row.status]));

  for (const booking of bookings) {
    if (!terminal.has(booking.status)) violations.push(`booking ${booking.booking_id} is ${booking.status}`);
  }

  // A refunded payment was a successful charge too: two of either for one booking is a double charge.
  const charges = tally(
    payments
      .filter((row) => row.status === "succeeded" || row.status === "refunded")
      .map((row) => row.booking_id),
  );
  for (const [bookingId, count] of Object.entries(charges)) {
    if (count > 1) violations.push(`booking ${bookingId} was charged ${count} times`);
  }

  // Money stays only with confirmed bookings: any other booking's charge is refunded (a late one too).
  for (const payment of payments) {
    const status = statusById.get(payment.booking_id);
    if (payment.status === "succeeded" && status !== "CONFIRMED")
      violations.push(`booking ${payment.booking_id} is ${status ?? "missing"} but keeps its charge`);
  }

  const confirmedNotices = tally(notifications.map((row) => row.booking_id));
  for (const [bookingId, status] of statusById) {
    const count = confirmedNotices[bookingId] ?? 0;
    if (status === "CONFIRMED" && count !== 1) {
      violations.push(`confirmed booking ${bookingId} has ${count} BOOKING_CONFIRMED notifications`);
    }
  }
  // A booking confirmed and later cancelled keeps its one notice, but never gets two.
  for (const [bookingId, count] of Object.entries(confirmedNotices)) {
    if (count > 1) violations.push(`booking ${bookingId} has ${count} BOOKING_CONFIRMED notifications`);
  }

  // The reservation id is the booking id (booking's saga reserves with it).
  for (const reservation of reservations) {
    const status = statusById.get(reservation.reservation_id);
    if (!status || !live.has(status)) {
      violations.push(
        `seats held by reservation ${reservation.reservation_id} for a ${status ?? "missing"} booking`,
      );
    }
  }

  const heldByTour = new Map<string, number>();
  for (const reservation of reservations) {
    heldByTour.set(reservation.tour_id, (heldByTour.get(reservation.tour_id) ?? 0) + reservation.seats);
  }
  for (const tour of tours) {
    const taken = tour.capacity - tour.seats_available;
    const held = heldByTour.get(tour.tour_id) ?? 0;
    if (taken !== held) violations.push(`tour ${tour.tour_id}: ${taken} seats taken but ${held} held`);
  }

  return {
    counts: {
      bookings: tally(bookings.map((row) => row.status)),
      bookingsWithWork: bookings.filter((row) => row.work !== null).length,
      payments: tally(payments.map((row) => row.status)),
      confirmedNotifications: notifications.length,
      heldReservations: reservations.length,
      heldSeats: reservations.reduce((sum, row) => sum + row.seats, 0),
    },
    violations,
  };
}
