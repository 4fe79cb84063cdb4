import type { Logger } from "@tourmesh/platform";
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
export class ReminderPoller {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly store: NotificationStore,
    private readonly sender: NotificationSender,
    private readonly options: ReminderPollerOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops polling and waits for the round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.sendDue().then((sent) =>
        this.schedule(sent < this.options.batchSize ? this.options.pollIntervalMs : 0),
      );
    }, delayMs);
  }

  /** One round; returns how many reminders it took. */
  private async sendDue(): Promise<number> {
    const taken: string[] = [];
    while (!this.stopped && taken.length < this.options.batchSize) {
      const before = taken.length;
      try {
        const bookingId = await this.store.takeDueReminder(taken, async (tx, reminder) => {
          // Skipped from here on in this round whatever happens, so a failing one is not retried at once.
          taken.push(reminder.bookingId);
          await this.store.record(tx, reminder, reminderDraft(reminder), null, (notification) =>
            this.sender.send(notification),
          );
        });
        if (bookingId === undefined) break;
        if (!taken.includes(bookingId)) taken.push(bookingId);
      } catch (error) {
        const reminder = taken.length > before ? taken.at(-1) : undefined;
        this.logger.warn({ err: error, booking_id: reminder }, "could not send a reminder; will retry");
        // Nothing taken: the database itself failed; the next round tries again.
        if (reminder === undefined) break;
      }
    }
    return taken.length;
  }
}
