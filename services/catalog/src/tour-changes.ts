/**
 * The database's word on every committed change to a tour. A trigger on `tours` (migration 003) announces each
 * changed row on a channel; Postgres delivers a notification only once its transaction commits, to every
 * listening session, so each catalog process hears of every change, whoever made it (a reservation, a review's
 * rating, an edit, an operator's SQL). Notifications sent while a process is not listening are lost to it: it
 * says so (`onDown`) at once, and `onUp` once it listens again, so that what it cached meanwhile is dropped.
 */
import type { Logger } from "@tourmesh/platform";
import pg from "pg";
import { parseTourRowChange, type TourRowChange } from "./tour-cache.js";

export const TOUR_CHANGES_CHANNEL = "catalog_tour_changes";

/** How often a listening connection proves it is alive: a dead one could otherwise drop notifications silently. */
const HEARTBEAT_MS = 5_000;
const QUERY_TIMEOUT_MS = 2_000;
const MAX_RETRY_DELAY_MS = 2_000;

export interface TourChangeListenerOptions {
  /** The primary (a standby sends no notifications). */
  databaseUrl: string;
  logger: Logger;
  onChange(change: TourRowChange): void;
  /** A notification this process cannot read: it cannot tell what changed. */
  onUnreadable(payload: string): void;
  onDown(): void;
  onUp(): void;
}

export class TourChangeListener {
  private stopped = false;
  private current: pg.Client | undefined;
  private readonly running: Promise<void>;

  constructor(private readonly options: TourChangeListenerOptions) {
    this.running = this.listen();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.current?.end().catch(() => undefined);
    await this.running;
  }

  private async listen(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      const client = new pg.Client({
        connectionString: this.options.databaseUrl,
        query_timeout: QUERY_TIMEOUT_MS,
        keepAlive: true,
      });
      const lost = new Promise<void>((resolve) => {
        client.once("end", resolve);
        client.once("error", resolve);
      });
      let heartbeat: NodeJS.Timeout | undefined;
      try {
        await client.connect();
        client.on("notification", ({ payload = "" }) => {
          const change = parseTourRowChange(payload);
          if (change) this.options.onChange(change);
          else this.options.onUnreadable(payload);
        });
        await client.query(`LISTEN ${TOUR_CHANGES_CHANNEL}`);
        this.current = client;
        attempt = 0;
        this.options.onUp();
        heartbeat = setInterval(() => {
          client.query("SELECT 1").catch(() => void client.end().catch(() => undefined));
        }, HEARTBEAT_MS);
        await lost;
      } catch (error) {
        if (!this.stopped)
          this.options.logger.warn({ err: error }, "tour changes: cannot listen to the database");
      }
      clearInterval(heartbeat);
      this.current = undefined;
      await client.end().catch(() => undefined);
      if (this.stopped) return;
      this.options.onDown();
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, MAX_RETRY_DELAY_MS)));
    }
  }
}
