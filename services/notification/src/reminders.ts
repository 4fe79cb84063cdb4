import { type Logger, Poller } from "@tourmesh/platform";
import type { NotificationStore } from "./notification-store.js";
import { reminderDraft } from "./notifications.js";
import type { NotificationSender } from "./senders.js";

export interface ReminderPollerOptions {
  /** How often to look for due reminders. */
  pollIntervalMs: number;
  /** Reminders sent per round at most, so one round never runs long. */
  batchSize: number;
}

/**
 * Sends the tour reminders that fall due. The schedule lives in the reminders table, so it survives restarts;
 * each round takes due reminders one at a time (each in its own transaction, SKIP LOCKED), so replicas share
 * the work and one failing delivery neither blocks the others nor is lost (it is retried next round).
 */
export function reminderPoller(
  store: NotificationStore,
  sender: NotificationSender,
  options: ReminderPollerOptions,
  logger: Logger,
): Poller {
  return new Poller({ name: "reminders", intervalMs: options.pollIntervalMs, logger }, async () =>
    (await sendDueReminders(store, sender, options.batchSize, logger)) < options.batchSize ? "done" : "more",
  );
}

/** One round; returns how many reminders it took. */
async function sendDueReminders(
  store: NotificationStore,
  sender: NotificationSender,
  batchSize: number,
  logger: Logger,
): Promise<number> {
  const taken: string[] = [];
  while (taken.length < batchSize) {
    const before = taken.length;
    try {
      const bookingId = await store.takeDueReminder(taken, async (tx, reminder) => {
        // Skipped from here on in this round whatever happens, so a failing one is not retried at once.
        taken.push(reminder.bookingId);
        await store.recordReminder(tx, reminder, reminderDraft(reminder), (notification) =>
          sender.send(notification),
        );
      });
      if (bookingId === undefined) break;
      if (!taken.includes(bookingId)) taken.push(bookingId);
    } catch (error) {
      const reminder = taken.length > before ? taken.at(-1) : undefined;
      logger.warn({ err: error, booking_id: reminder }, "could not send a reminder; will retry");
      // Nothing taken: the database itself failed; the next round tries again.
      if (reminder === undefined) break;
    }
  }
  return taken.length;
}
