import { changeWithEvents, inTransaction, NotFoundError, type Pool, recordEvent } from "@tourmesh/platform";
import { bookingEvents, bookingSubjects, paymentRequested } from "./booking-events.js";
import type { PendingPayments } from "./booking-metrics.js";
import {
  type BookingEvent,
  type BookingStatus,
  newBookingState,
  nextState,
  type PendingWork,
} from "./booking-state.js";
import type { Booking, BookingPosition } from "./bookings.js";
import type { Quote } from "./quote.js";

interface BookingRow {
  booking_id: string;
  seq: string;
  user_id: string;
  idempotency_key: string;
  tour_id: string;
  travelers: number;
  promo_code: string;
  country_code: string;
  currency: string;
  unit_price_minor: string;
  base_minor: string;
  discount_minor: string;
  discount_rate_bp: number;
  tax_minor: string;
  tax_rate_bp: number;
  total_minor: string;
  status: BookingStatus;
  payment_id: string;
  failure_reason: string;
  work: PendingWork;
  attempts: number;
  next_attempt_at: Date | null;
  retry_requested: boolean;
  tour_start_time: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A booking as stored, with its place in the work queue. */
export interface StoredBooking extends Booking {
  seq: number;
  /** Attempts made at the current work. */
  attempts: number;
  /** When its work is next due (or, while an attempt runs, when that attempt's lease ends); unset without work. */
  nextAttemptAt: Date | undefined;
  /** Whether a BookingPaymentRequested has been recorded for the current work (see `sweepUnrequestedWork`). */
  retryRequested: boolean;
  tourStartTime: Date | undefined;
}

/** What a retry of a booking's work finds when it tries to take the booking. */
export type Claim =
  /** The work is due: leased to the caller, the attempt counted. */
  | { outcome: "claimed"; booking: StoredBooking }
  /** Another attempt holds it, or a retry is not due yet. */
  | { outcome: "not_due"; dueInMs: number }
  /** The booking owes nothing (any more), or is gone. */
  | { outcome: "nothing_owed" };

const bookingColumns = `booking_id, seq, user_id, idempotency_key, tour_id, travelers, promo_code, country_code,
  currency, unit_price_minor, base_minor, discount_minor, discount_rate_bp, tax_minor, tax_rate_bp, total_minor,
  status, payment_id, failure_reason, work, attempts, next_attempt_at, retry_requested, tour_start_time, created_at,
  updated_at`;

function toBooking(row: BookingRow): StoredBooking {
  const money = (minorUnits: string) => ({ currencyCode: row.currency, minorUnits: Number(minorUnits) });
  const quote: Quote = {
    tourId: row.tour_id,
    travelers: row.travelers,
    unitPrice: money(row.unit_price_minor),
    base: money(row.base_minor),
    discount: money(row.discount_minor),
    tax: money(row.tax_minor),
    total: money(row.total_minor),
    discountRateBasisPoints: row.discount_rate_bp,
    taxRateBasisPoints: row.tax_rate_bp,
    promoCode: row.promo_code,
    countryCode: row.country_code,
  };
  return {
    bookingId: row.booking_id,
    seq: Number(row.seq),
    userId: row.user_id,
    idempotencyKey: row.idempotency_key,
    tourId: row.tour_id,
    travelers: row.travelers,
    quote,
    status: row.status,
    paymentId: row.payment_id,
    failureReason: row.failure_reason,
    work: row.work,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at ?? undefined,
    retryRequested: row.retry_requested,
    tourStartTime: row.tour_start_time ?? undefined,
    createTime: row.created_at,
    updateTime: row.updated_at,
  };
}

export const bookingNotFound = (bookingId: string) =>
  new NotFoundError(`booking ${bookingId} does not exist`, "booking_id");

/**
 * The bookings table, which is also the saga's log and the work queue's state, and the booking's outbox: each
 * change records the events it emits in the same statement, after the update that locks the booking row (so
 * one booking's events are recorded, and published, in the order of its changes).
 */
export class BookingStore {
  constructor(private readonly db: Pool) {}

  async findByKey(userId: string, idempotencyKey: string): Promise<StoredBooking | undefined> {
    const { rows } = await this.db.query<BookingRow>(
      `SELECT ${bookingColumns} FROM bookings WHERE user_id = $1 AND idempotency_key = $2`,
      [userId, idempotencyKey],
    );
    return rows[0] && toBooking(rows[0]);
  }

  /**
   * Writes a new booking as PENDING_PAYMENT with its first settle attempt leased to the caller for `leaseMs`
   * (retries leave it alone until then). It records no retry request: the attempt does, if it leaves the work
   * owed (see `retryLater`), and so does the sweep if the attempt's process dies first. When the user already
   * has a booking with this key, nothing is written and that booking is returned instead: the unique key
   * decides between concurrent requests.
   */
  async insert(
    booking: {
      bookingId: string;
      userId: string;
      idempotencyKey: string;
      quote: Quote;
      tourStartTime?: Date | undefined;
    },
    leaseMs: number,
  ): Promise<{ booking: StoredBooking; created: boolean }> {
    const { quote } = booking;
    const { rows } = await this.db.query<BookingRow>(
      `INSERT INTO bookings (booking_id, user_id, idempotency_key, tour_id, travelers, promo_code, country_code,
         currency, unit_price_minor, base_minor, discount_minor, discount_rate_bp, tax_minor, tax_rate_bp,
         total_minor, status, work, attempts, next_attempt_at, retry_requested, tour_start_time)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1,
         now() + $18 * interval '1 millisecond', false, $19)
       ON CONFLICT (user_id, idempotency_key) DO NOTHING
       RETURNING ${bookingColumns}`,
      [
        booking.bookingId,
        booking.userId,
        booking.idempotencyKey,
        quote.tourId,
        quote.travelers,
        quote.promoCode,
        quote.countryCode,
        quote.unitPrice.currencyCode,
        quote.unitPrice.minorUnits,
        quote.base.minorUnits,
        quote.discount.minorUnits,
        quote.discountRateBasisPoints,
        quote.tax.minorUnits,
        quote.taxRateBasisPoints,
        quote.total.minorUnits,
        newBookingState.status,
        newBookingState.work,
        leaseMs,
        booking.tourStartTime ?? null,
      ],
    );
    if (rows[0]) return { booking: toBooking(rows[0]), created: true };
    const existing = await this.findByKey(booking.userId, booking.idempotencyKey);
    if (!existing) throw new Error(`booking key ${booking.idempotencyKey} conflicted but cannot be read`);
    return { booking: existing, created: false };
  }

  /** One booking; with `userId`, only if it is that user's (anything else is NOT_FOUND, not a leak). */
  async get(bookingId: string, userId?: string): Promise<StoredBooking> {
    const { rows } = await this.db.query<BookingRow>(
      `SELECT ${bookingColumns} FROM bookings WHERE booking_id = $1 AND ($2::text IS NULL OR user_id = $2)`,
      [bookingId, userId ?? null],
    );
    const row = rows[0];
    if (!row) throw bookingNotFound(bookingId);
    return toBooking(row);
  }

  /** A page of the user's bookings, newest first, after `after`; plus whether another page follows. */
  async list(
    userId: string,
    after: BookingPosition | undefined,
    pageSize: number,
  ): Promise<{ bookings: StoredBooking[]; more: boolean }> {
    const { rows } = await this.db.query<BookingRow>(
      `SELECT ${bookingColumns} FROM bookings
        WHERE user_id = $1 AND ($2::bigint IS NULL OR seq < $2)
        ORDER BY seq DESC
        LIMIT $3`,
      [userId, after?.seq ?? null, pageSize + 1],
    );
    return { bookings: rows.slice(0, pageSize).map(toBooking), more: rows.length > pageSize };
  }

  /**
   * Applies a state-machine event to a booking. The decision is made on the state the caller holds (`known`,
   * or a fresh read), and written with a compare-and-set on that state, together with the events the change
   * emits, in one statement (no lock held across a call to another service). If the booking changed
   * meanwhile, the event is decided again on the fresh state. When the event leaves work to do, the work is
   * leased to the caller for `leaseMs` (it carries it out at once; the retries take it over if it cannot).
   */
  async apply(
    bookingId: string,
    event: BookingEvent,
    { userId, leaseMs, known }: { userId?: string; leaseMs: number; known?: StoredBooking },
  ): Promise<StoredBooking> {
    let before = known ?? (await this.get(bookingId, userId));
    let fresh = known === undefined;
    for (;;) {
      const after = nextState(before, event);
      const unchanged =
        after.status === before.status &&
        after.paymentId === before.paymentId &&
        after.failureReason === before.failureReason &&
        after.work === before.work;
      if (unchanged && fresh) return before;
      if (!unchanged) {
        const updated = await this.change(before, { ...before, ...after }, leaseMs);
        if (updated) return updated;
      }
      before = await this.get(bookingId, userId);
      fresh = true;
    }
  }

  /** Writes `after` if the booking is still in the state `decided` was read in, with the events the change emits. */
  private async change(
    decided: StoredBooking,
    after: StoredBooking,
    leaseMs: number,
  ): Promise<StoredBooking | undefined> {
    const workChanged = after.work !== decided.work || after.paymentId !== decided.paymentId;
    const events = bookingEvents(decided, after);
    const requestsRetry = events.some((emitted) => emitted.subject === bookingSubjects.paymentRequested);
    const [row] = await changeWithEvents<BookingRow>(
      this.db,
      `UPDATE bookings
          SET status = $5, payment_id = $6, failure_reason = $7, work = $8,
              attempts = CASE WHEN $9 AND $8::text IS NOT NULL THEN 0 ELSE attempts END,
              next_attempt_at = CASE WHEN $8::text IS NULL THEN NULL
                                     WHEN $9 THEN now() + $10 * interval '1 millisecond'
                                     ELSE next_attempt_at END,
              retry_requested = retry_requested OR $11,
              updated_at = now()
        WHERE booking_id = $1 AND status = $2 AND payment_id = $3 AND work IS NOT DISTINCT FROM $4
        RETURNING ${bookingColumns}`,
      [
        decided.bookingId,
        decided.status,
        decided.paymentId,
        decided.work,
        after.status,
        after.paymentId,
        after.failureReason,
        after.work,
        workChanged,
        leaseMs,
        requestsRetry,
      ],
      events,
    );
    return row && toBooking(row);
  }

  /** Removes a booking whose seats could not be held in CreateBooking itself, so that nothing is left behind. */
  async deleteUnsettled(bookingId: string): Promise<void> {
    await this.db.query(
      "DELETE FROM bookings WHERE booking_id = $1 AND status = 'PENDING_PAYMENT' AND payment_id = ''",
      [bookingId],
    );
  }

  /**
   * Puts the booking's current work off by `delayMs` after an attempt that got no answer, and makes sure a
   * retry is requested: a new booking's first attempt records its BookingPaymentRequested here.
   */
  async retryLater(booking: StoredBooking, work: PendingWork, delayMs: number): Promise<StoredBooking> {
    const [row] = await changeWithEvents<BookingRow>(
      this.db,
      `UPDATE bookings
          SET next_attempt_at = now() + $3 * interval '1 millisecond', retry_requested = true, updated_at = now()
        WHERE booking_id = $1 AND work = $2
        RETURNING ${bookingColumns}`,
      [booking.bookingId, work, delayMs],
      booking.retryRequested ? [] : [paymentRequested(booking)],
    );
    return row ? toBooking(row) : this.get(booking.bookingId);
  }

  /** Bookings waiting for their payment: how many, and how long the oldest has waited. */
  async pendingPayments(): Promise<PendingPayments> {
    const { rows } = await this.db.query<{ count: number; oldest_age_seconds: number }>(
      `SELECT count(*)::int AS count,
              coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds
         FROM bookings WHERE status = 'PENDING_PAYMENT'`,
    );
    const [row] = rows;
    return { count: row?.count ?? 0, oldestAgeSeconds: row?.oldest_age_seconds ?? 0 };
  }

  /**
   * Requests a retry for work that nobody will retry: owed, with no BookingPaymentRequested recorded, and past
   * its attempt's lease (so the attempt's process died, or the attempt overran it). Takes at most `limit`
   * bookings (SKIP LOCKED, so replicas sweep side by side) and returns how many it took.
   */
  async sweepUnrequestedWork(limit: number): Promise<number> {
    return inTransaction(this.db, async (tx) => {
      const { rows } = await tx.query<BookingRow>(
        `UPDATE bookings SET retry_requested = true
          WHERE booking_id IN (
            SELECT booking_id FROM bookings
             WHERE work IS NOT NULL AND NOT retry_requested AND next_attempt_at <= now()
             ORDER BY next_attempt_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED)
          RETURNING ${bookingColumns}`,
        [limit],
      );
      for (const row of rows) await recordEvent(tx, paymentRequested(toBooking(row)));
      return rows.length;
    });
  }

  /**
   * Marks a compensation done. Guarded by the payment id it refunded: if a late charge was recorded
   * meanwhile, the booking still owes its refund and keeps its work.
   */
  async compensated(bookingId: string, paymentId: string): Promise<StoredBooking> {
    const { rows } = await this.db.query<BookingRow>(
      `UPDATE bookings SET work = NULL, next_attempt_at = NULL, updated_at = now()
        WHERE booking_id = $1 AND work = 'compensate' AND payment_id = $2
        RETURNING ${bookingColumns}`,
      [bookingId, paymentId],
    );
    return rows[0] ? toBooking(rows[0]) : this.get(bookingId);
  }

  /**
   * Takes a booking's work for one attempt when it is due: leases it for `leaseMs` and counts the attempt, in
   * one compare-and-set statement, so that of several deliveries or replicas only one attempt runs at a time.
   * It looks before it writes: most deliveries find the work done (or not due), which a read answers.
   */
  async claim(bookingId: string, leaseMs: number): Promise<Claim> {
    for (;;) {
      const { rows: owed } = await this.db.query<{ due_in_ms: number }>(
        `SELECT greatest(0, extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS due_in_ms
           FROM bookings WHERE booking_id = $1 AND work IS NOT NULL`,
        [bookingId],
      );
      const dueInMs = owed[0]?.due_in_ms;
      if (dueInMs === undefined) return { outcome: "nothing_owed" };
      if (dueInMs > 0) return { outcome: "not_due", dueInMs };
      const { rows } = await this.db.query<BookingRow>(
        `UPDATE bookings
            SET attempts = attempts + 1, next_attempt_at = now() + $2 * interval '1 millisecond'
          WHERE booking_id = $1 AND work IS NOT NULL AND next_attempt_at <= now()
          RETURNING ${bookingColumns}`,
        [bookingId, leaseMs],
      );
      if (rows[0]) return { outcome: "claimed", booking: toBooking(rows[0]) };
      // Another delivery took the work between the two statements: look again.
    }
  }
}
