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
  booking_id: string;
  kind: NotificationKind;
  message: string;
  created_at: Date;
}

export interface StoredNotification extends Notification {
  seq: number;
}

const notificationColumns = "notification_id, seq, user_id, booking_id, kind, message, created_at";

function toNotification(row: NotificationRow, subject = ""): StoredNotification {
  return {
    notificationId: row.notification_id,
    seq: Number(row.seq),
    userId: row.user_id,
    bookingId: row.booking_id,
    kind: row.kind,
    subject,
    message: row.message,
    createTime: row.created_at,
  };
}

/** A reminder taken for sending. */
export interface DueReminder extends BookingFacts {
  tourStartTime: Date;
}

/** The notifications table and the reminder schedule. */
export class NotificationStore {
  constructor(private readonly db: Pool) {}

  /**
   * Records a notification in `tx` (the handler's transaction, so it commits with the event's inbox row) and
   * delivers it with `deliver` before the commit.
   */
  async record(
    tx: PoolClient,
    booking: BookingFacts,
    draft: Draft,
    eventId: string | null,
    deliver: (notification: Notification) => Promise<void>,
  ): Promise<StoredNotification> {
    const { rows } = await tx.query<NotificationRow>(
      `INSERT INTO notifications (notification_id, user_id, booking_id, kind, message, event_id)
       VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING ${notificationColumns}`,
      [
        `ntf_${randomUUID().replaceAll("-", "")}`,
        booking.userId,
        booking.bookingId,
        draft.kind,
        draft.message,
        eventId,
      ],
    );
    const notification = toNotification(rows[0] as NotificationRow, draft.subject);
    await deliver(notification);
    return notification;
  }

  /** Schedules the booking's reminder, unless it has one already or was cancelled first. */
  async scheduleReminder(
    tx: PoolClient,
    booking: BookingFacts,
    tourStartTime: Date,
    dueAt: Date,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO reminders (booking_id, user_id, tour_id, tour_start_time, due_at, status)
       VALUES ($1, $2, $3, $4, $5, 'scheduled')
       ON CONFLICT (booking_id) DO NOTHING`,
      [booking.bookingId, booking.userId, booking.tourId, tourStartTime, dueAt],
    );
  }

  /** Cancels the booking's reminder if not sent yet; leaves a 'cancelled' mark when there is none yet. */
  async cancelReminder(tx: PoolClient, booking: BookingFacts): Promise<void> {
    await tx.query(
      `INSERT INTO reminders (booking_id, user_id, tour_id, status)
       VALUES ($1, $2, $3, 'cancelled')
       ON CONFLICT (booking_id) DO UPDATE SET status = 'cancelled', updated_at = now()
         WHERE reminders.status = 'scheduled'`,
      [booking.bookingId, booking.userId, booking.tourId],
    );
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
