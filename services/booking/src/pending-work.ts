import type { Logger } from "@tourmesh/platform";
import type { BookingStore, StoredBooking } from "./booking-store.js";

/**
 * Runs the work bookings still owe (settling a pending payment, finishing a compensation) when it falls due.
 * The one implementation here polls the bookings table; issue 4 replaces it with a JetStream consumer behind
 * the same two methods.
 */
export interface PendingWorkRunner {
  start(): void;
  /** Stops taking work and resolves once the work in hand is done. */
  stop(): Promise<void>;
}

export interface PollingOptions {
  /** How often to look for due work when the last look found less than a full batch. */
  pollIntervalMs: number;
  /** Bookings claimed per look. */
  batchSize: number;
  /** How long a claimed booking is left to this process before another may claim it. */
  leaseMs: number;
}

/**
 * Claims due bookings from the table (FOR UPDATE SKIP LOCKED, so replicas share the queue without running
 * one booking twice) and hands each to `run`. A failure is logged, never thrown: the booking's lease runs
 * out and it is claimed again.
 */
export class PollingWorker implements PendingWorkRunner {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly store: BookingStore,
    private readonly run: (booking: StoredBooking) => Promise<unknown>,
    private readonly options: PollingOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.poll().then((claimed) =>
        this.schedule(claimed < this.options.batchSize ? this.options.pollIntervalMs : 0),
      );
    }, delayMs);
  }

  /** One round: claims a batch, runs it, and returns how many bookings it claimed. */
  private async poll(): Promise<number> {
    let claimed: StoredBooking[];
    try {
      claimed = await this.store.claimDue(this.options.batchSize, this.options.leaseMs);
    } catch (error) {
      this.logger.warn({ err: error }, "could not claim due bookings");
      return 0;
    }
    await Promise.all(
      claimed.map((booking) =>
        this.run(booking).catch((error: unknown) =>
          this.logger.error({ booking_id: booking.bookingId, err: error }, "pending work failed"),
        ),
      ),
    );
    return claimed.length;
  }
}
