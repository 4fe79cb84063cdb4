import { randomUUID } from "node:crypto";
import { inTransaction, type Pool, type PoolClient } from "@tourmesh/platform";
import type {
  BookingFacts,
  Draft,
  Notification,
  NotificationKind,
  NotificationPosition,
} from "./notifications.js";

interface NotificationRow {
  notification_id: string;
  seq: string;
  user_id: string;
  /** NULL for a notification about no booking (a review's). */
  booking_id: string | null;
  kind: NotificationKind;
  message: string;
  created_at: Date;
}

export interface StoredNotification extends Notification {
  seq: number;
}

const notificationColumns = "notification_id, seq, user_id, booking_id, kind, message, created_at";

/** Inserts one notification from parameters $1–$6 (see `notificationValues`). */
const insertNotification = `INSERT INTO notifications (notification_id, user_id, booking_id, kind, message, event_id)
  VALUES ($1, $2, $3, $4, $5, $6)`;

function toNotification(row: NotificationRow, subject = ""): StoredNotification {
  return {
    notificationId: row.notification_id,
    seq: Number(row.seq),
    userId: row.user_id,
    bookingId: row.booking_id ?? "",
    kind: row.kind,
    subject,
    message: row.message,
    createTime: row.created_at,
  };
}

/** The notification a row records, once `deliver` has delivered it. */
async function delivered(
  row: NotificationRow,
  draft: Draft,
  deliver: (notification: Notification) => Promise<void>,
): Promise<StoredNotification> {
  const notification = toNotification(row, draft.subject);
  await deliver(notification);
  return notification;
}

/** What a booking event does to the booking's tour reminder. */
export type ReminderChange =
  | { type: "none" }
  /** Schedule it, unless the booking has one already or was cancelled first. */
  | { type: "schedule"; tourStartTime: Date; dueAt: Date }
  /** Cancel it if not sent yet; leave a 'cancelled' mark when there is none yet. */
  | { type: "cancel" };

/**
 * The CTE that makes `reminder`'s change to the reminder of the booking whose notification the CTE `recorded`
 * returned (so nothing changes when nothing was recorded), and its parameters, from $7 on.
 */
function changingReminder(reminder: ReminderChange, tourId: string): { cte: string; values: unknown[] } {
  switch (reminder.type) {
    case "none":
      return { cte: "", values: [] };
    case "schedule":
      return {
        cte: `, scheduled AS (
           INSERT INTO reminders (booking_id, user_id, tour_id, tour_start_time, due_at, status)
           SELECT booking_id, user_id, $7, $8::timestamptz, $9::timestamptz, 'scheduled' FROM recorded
           ON CONFLICT (booking_id) DO NOTHING
         )`,
        values: [tourId, reminder.tourStartTime, reminder.dueAt],
      };
    case "cancel":
      return {
        cte: `, cancelled AS (
           INSERT INTO reminders (booking_id, user_id, tour_id, status)
           SELECT booking_id, user_id, $7, 'cancelled' FROM recorded
           ON CONFLICT (booking_id) DO UPDATE SET status = 'cancelled', updated_at = now()
             WHERE reminders.status = 'scheduled'
         )`,
        values: [tourId],
      };
  }
}

/** A reminder taken for sending. */
export interface DueReminder extends BookingFacts {
  tourStartTime: Date;
}

/** The notifications table (travellers' of their bookings, operators' of reviews) and the reminder schedule. */
export class NotificationStore {
  constructor(private readonly db: Pool) {}

  /**
   * Records the notification of booking event `eventId`, with the change it makes to the booking's reminder, in
   * one statement, and delivers it with `deliver` before that commits: a delivery that fails leaves nothing
   * recorded, so the event is handled again. An event recorded already (`event_id` is unique) changes nothing and
   * is not delivered again (undefined is returned): redeliveries and duplicates have one effect, without an inbox.
   */
  async recordBookingEvent(
    eventId: string,
    booking: BookingFacts,
    draft: Draft,
    reminder: ReminderChange,
    deliver: (notification: Notification) => Promise<void>,
  ): Promise<StoredNotification | undefined> {
    const changeReminder = changingReminder(reminder, booking.tourId);
    return inTransaction(this.db, async (tx) => {
      const { rows } = await tx.query<NotificationRow>(
        `WITH recorded AS (
           ${insertNotification}
           ON CONFLICT (event_id) DO NOTHING
           RETURNING ${notificationColumns}
         )${changeReminder.cte}
         SELECT ${notificationColumns} FROM recorded`,
        [...this.notificationValues(booking, draft, eventId), ...changeReminder.values],
      );
      const row = rows[0];
      return row && delivered(row, draft, deliver);
    });
  }

  /**
   * Records the notification of review event `eventId` for `operatorId`, the reviewed tour's operator, and
   * delivers it with `deliver` before that commits; like a booking event's, once per event id (undefined when
   * recorded already).
   */
  async recordReviewEvent(
    eventId: string,
    operatorId: string,
    draft: Draft,
    deliver: (notification: Notification) => Promise<void>,
  ): Promise<StoredNotification | undefined> {
    return inTransaction(this.db, async (tx) => {
      const { rows } = await tx.query<NotificationRow>(
        `${insertNotification} ON CONFLICT (event_id) DO NOTHING RETURNING ${notificationColumns}`,
        this.notificationValues({ userId: operatorId, bookingId: null }, draft, eventId),
      );
      const row = rows[0];
      return row && delivered(row, draft, deliver);
    });
  }

  /** Records a tour reminder's notification in `tx` and delivers it with `deliver` before the commit. */
  async recordReminder(
    tx: PoolClient,
    booking: BookingFacts,
    draft: Draft,
    deliver: (notification: Notification) => Promise<void>,
  ): Promise<StoredNotification> {
    const { rows } = await tx.query<NotificationRow>(
      `${insertNotification} RETURNING ${notificationColumns}`,
      this.notificationValues(booking, draft, null),
    );
    return delivered(rows[0] as NotificationRow, draft, deliver);
  }

  private notificationValues(
    about: { userId: string; bookingId: string | null },
    draft: Draft,
    eventId: string | null,
  ): unknown[] {
    return [
      `ntf_${randomUUID().replaceAll("-", "")}`,
      about.userId,
      about.bookingId,
      draft.kind,
      draft.message,
      eventId,
    ];
  }

  /**
   * Takes the most overdue reminder not in `skip`, in its own transaction (FOR UPDATE SKIP LOCKED: replicas
   * take different ones), and hands it to `send`: a tour that has not started gets its reminder recorded and
   * delivered and is marked sent; one that has already started (the service was down past it) is marked
   * missed. Whatever `send` throws rolls this reminder back for a later round. Returns the booking id of the
   * reminder taken, or undefined when none is due.
   */
  async takeDueReminder(
    skip: string[],
    send: (tx: PoolClient, reminder: DueReminder) => Promise<void>,
  ): Promise<string | undefined> {
    return inTransaction(this.db, async (tx) => {
      const { rows } = await tx.query<{
        booking_id: string;
        user_id: string;
        tour_id: string;
        tour_start_time: Date;
        started: boolean;
      }>(
        `SELECT booking_id, user_id, tour_id, tour_start_time, tour_start_time <= now() AS started
           FROM reminders
          WHERE status = 'scheduled' AND due_at <= now() AND booking_id <> ALL($1)
          ORDER BY due_at
          LIMIT 1
          FOR UPDATE SKIP LOCKED`,
        [skip],
      );
      const row = rows[0];
      if (!row) return undefined;
      if (!row.started) {
        await send(tx, {
          bookingId: row.booking_id,
          userId: row.user_id,
          tourId: row.tour_id,
          tourStartTime: row.tour_start_time,
        });
      }
      await tx.query("UPDATE reminders SET status = $2, updated_at = now() WHERE booking_id = $1", [
        row.booking_id,
        row.started ? "missed" : "sent",
      ]);
      return row.booking_id;
    });
  }

  /** A page of the user's notifications, newest first, after `after`; plus whether another page follows. */
  async list(
    userId: string,
    after: NotificationPosition | undefined,
    pageSize: number,
  ): Promise<{ notifications: StoredNotification[]; more: boolean }> {
    const { rows } = await this.db.query<NotificationRow>(
      `SELECT ${notificationColumns} FROM notifications
        WHERE user_id = $1 AND ($2::bigint IS NULL OR seq < $2)
        ORDER BY seq DESC
        LIMIT $3`,
      [userId, after?.seq ?? null, pageSize + 1],
    );
    return {
      notifications: rows.slice(0, pageSize).map((row) => toNotification(row)),
      more: rows.length > pageSize,
    };
  }
}
