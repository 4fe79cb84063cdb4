import type { Logger } from "./logger.js";

export interface PollerOptions {
  /** Named in the log line of a round that failed. */
  name: string;
  /** The wait between rounds; a round that reports more work is followed at once by the next. */
  intervalMs: number;
  logger: Logger;
}

/**
 * Background work that runs in rounds, one at a time, from start until stop (which waits for the round in
 * progress). A round returns "more" when it stopped at its batch limit with work left. A round that throws
 * is logged and the next one runs after the interval: the work it left is still there for it.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly options: PollerOptions,
    private readonly runRound: () => Promise<"more" | "done">,
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
      this.round = this.runRound().then(
        (left) => this.schedule(left === "more" ? 0 : this.options.intervalMs),
        (error: unknown) => {
          this.options.logger.warn({ poller: this.options.name, err: error }, "a round failed; will retry");
          this.schedule(this.options.intervalMs);
        },
      );
    }, delayMs);
  }
}
