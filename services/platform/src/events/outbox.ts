import { randomUUID } from "node:crypto";
import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import type { JetStreamClient } from "nats";
import type pg from "pg";
import type { Logger } from "../logger.js";
import { type PoolClient, PreparingClient } from "../postgres.js";
import { eventHeaders, type NewEvent } from "./envelope.js";
import type { EventMetrics } from "./event-metrics.js";

/**
 * The channel the outbox's insert trigger NOTIFYs on (migration 002), and the advisory lock that makes one
 * relay active per database.
 */
const NOTIFY_CHANNEL = "tourmesh_outbox";
const RELAY_LOCK_KEY = 7_402_231_951;

/**
 * Records an event in the outbox, in the caller's transaction: it is published if and only if the transaction
 * commits. The current trace context is kept with it, so that its consumers continue this trace. Events of
 * one aggregate are published in the order they were recorded; callers that record events of one aggregate
 * from concurrent transactions must hold a lock on the aggregate (e.g. its row, by updating it first), so
 * that recording order is commit order. Returns the event id (its ce-id).
 */
export async function recordEvent<D extends DescMessage>(
  client: PoolClient,
  event: NewEvent<D>,
): Promise<string> {
  const { cte, values, eventIds } = recordingEvents([event], 1, "true");
  await client.query(`WITH ${cte} SELECT 1`, values);
  return eventIds[0] as string;
}

/**
 * Runs `change`, one INSERT or UPDATE … RETURNING with parameters `values`, and records `events` in the outbox
 * in the same statement if and only if the change returned a row (so a compare-and-set or an insert that
 * matched nothing records nothing). The change and its events are written in one round trip, atomic as any
 * single statement is: no BEGIN/COMMIT. The events go in one INSERT from arrays, so the statement's text is the
 * same whatever their number (it stays one prepared statement). The ordering rule of `recordEvent` holds: an
 * UPDATE of the aggregate's row locks it before its events are numbered. Returns the rows `change` returned.
 */
export async function changeWithEvents<Row extends pg.QueryResultRow>(
  db: Pick<pg.Pool, "query">,
  change: string,
  values: unknown[],
  events: ReadonlyArray<NewEvent<DescMessage>>,
): Promise<Row[]> {
  const recording = recordingEvents(events, values.length + 1, "EXISTS (SELECT 1 FROM changed)");
  const { rows } = await db.query<Row>(
    `WITH changed AS (${change}), ${recording.cte} SELECT * FROM changed`,
    [...values, ...recording.values],
  );
  return rows;
}

/**
 * The CTE `recorded_events` that inserts `events` into the outbox from parameters `$firstParameter` on, when
 * `condition` (SQL of the code's own) holds; its parameter values; and the events' ids.
 */
function recordingEvents(
  events: ReadonlyArray<NewEvent<DescMessage>>,
  firstParameter: number,
  condition: string,
): { cte: string; values: unknown[]; eventIds: string[] } {
  const trace: Record<string, string> = {};
  propagation.inject(context.active(), trace);
  const eventIds = events.map(() => randomUUID());
  const $ = (offset: number) => `$${firstParameter + offset}`;
  return {
    cte: `recorded_events AS (
       INSERT INTO outbox (event_id, aggregate_id, subject, event_type, payload, trace)
       SELECT * FROM unnest(${$(0)}::uuid[], ${$(1)}::text[], ${$(2)}::text[], ${$(3)}::text[], ${$(4)}::bytea[],
                            ${$(5)}::jsonb[])
        WHERE ${condition}
     )`,
    values: [
      eventIds,
      events.map((event) => event.aggregateId),
      events.map((event) => event.subject),
      events.map((event) => event.schema.typeName),
      events.map((event) => toBinary(event.schema, create(event.schema, event.message))),
      events.map(() => trace),
    ],
    eventIds,
  };
}

interface OutboxRow {
  position: string;
  event_id: string;
  aggregate_id: string;
  subject: string;
  event_type: string;
  payload: Buffer;
  trace: Record<string, string>;
  created_at: Date;
}

export interface OutboxRelayOptions {
  /** The service's database; the relay holds one connection of its own (for its lock and LISTEN). */
  databaseUrl: string;
  js: JetStreamClient;
  /** ce-source of every event: the service's name. */
  source: string;
  subjectPrefix: string;
  pollIntervalMs: number;
  batchSize: number;
  publishConcurrency: number;
  publishTimeoutMs: number;
  retentionMs: number;
  vacuumIntervalMs: number;
  logger: Logger;
  metrics: EventMetrics;
}

/** How long a standby relay waits between tries at the lock, and a failed relay before it starts over. */
const STANDBY_RETRY_MS = 2_000;
const FAILURE_RETRY_MS = 1_000;
const PRUNE_INTERVAL_MS = 60_000;
const PRUNE_BATCH = 5_000;
const PRUNE_MAX_BATCHES = 50;

/**
 * Publishes the outbox to JetStream. One relay per database is active at a time (a Postgres advisory lock,
 * held by the relay's own connection: if the process or its connection dies, the lock goes with it and a
 * standby takes over), so that with several replicas each aggregate's events still go out in order.
 *
 * The active relay wakes on the outbox's NOTIFY (and polls as a fallback), reads the oldest unpublished rows,
 * and publishes them: one aggregate's events one after the other, different aggregates side by side. An
 * aggregate whose publish fails stops there for this round, so its later events wait for it. Published rows
 * are marked (by the next round's read, see `relay`); a row published but not marked (crash, lost connection)
 * is published again with the same Nats-Msg-Id, which JetStream drops as a duplicate within its window and
 * consumers' inboxes drop after.
 */
export class OutboxRelay {
  private stopped = true;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private lastPrune = 0;
  private lastVacuum = 0;
  private vacuuming: Promise<void> | undefined;

  constructor(private readonly options: OutboxRelayOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.run();
  }

  /** Finishes the round in progress, releases the lock and closes the relay's connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
    await this.vacuuming;
  }

  private wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Resolves after `ms`, or sooner when woken (by NOTIFY or stop). */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped || (wakeable && this.woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = wakeable ? done : () => (this.stopped ? done() : undefined);
    });
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopped) {
      const client = new PreparingClient({ connectionString: this.options.databaseUrl });
      let lost: Error | undefined;
      client.on("error", (error) => {
        lost = error;
        this.wake();
      });
      client.on("notification", () => this.wake());
      try {
        await client.connect();
        if (!(await this.acquireLock(client, () => lost))) continue;
        await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
        logger.info({ component: "outbox-relay" }, "outbox relay active");
        await this.relay(client, () => lost);
      } catch (error) {
        if (!this.stopped) {
          logger.warn({ component: "outbox-relay", err: error }, "outbox relay failed; starting over");
          await this.sleep(FAILURE_RETRY_MS, false);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /** Takes the relay lock, or waits as a standby until it gets it; false when stopped first. */
  private async acquireLock(client: pg.Client, lost: () => Error | undefined): Promise<boolean> {
    let announced = false;
    while (!this.stopped) {
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
        RELAY_LOCK_KEY,
      ]);
      if (rows[0]?.locked) return true;
      if (!announced) {
        this.options.logger.info(
          { component: "outbox-relay" },
          "another outbox relay is active; standing by",
        );
        announced = true;
      }
      await this.sleep(STANDBY_RETRY_MS, false);
      const error = lost();
      if (error) throw error;
    }
    return false;
  }

  /**
   * Rounds until stopped. The rows a round published are marked by the next round's read, in the same
   * statement: one round trip per round instead of two. Until then (at most the poll interval) they still
   * count as unpublished; if the relay dies meanwhile they are published again, and dropped as duplicates.
   */
  private async relay(client: pg.Client, lost: () => Error | undefined): Promise<void> {
    const { batchSize, pollIntervalMs } = this.options;
    let unmarked: string[] = [];
    try {
      while (!this.stopped) {
        const error = lost();
        if (error) throw error;
        this.woken = false;
        const rows = await this.markAndRead(client, unmarked);
        unmarked = [];
        const { published, failed } = await this.publishInOrder(rows);
        unmarked = published;
        if (published.length > 0) this.vacuumWhenDue();
        if (this.pruneDue()) {
          await this.markAndRead(client, unmarked, 0);
          unmarked = [];
          await this.prune(client);
        }
        if (failed) await this.sleep(FAILURE_RETRY_MS, false);
        else if (rows.length < batchSize) await this.sleep(pollIntervalMs, true);
      }
    } finally {
      // Unmarked rows left behind are published again by the next relay, and dropped as duplicates.
      if (unmarked.length > 0 && !lost()) await this.markAndRead(client, unmarked, 0).catch(() => undefined);
    }
  }

  /** Marks `published` as published and reads the oldest unpublished rows after them, in one statement. */
  private async markAndRead(
    client: pg.Client,
    published: string[],
    limit = this.options.batchSize,
  ): Promise<OutboxRow[]> {
    const { rows } = await client.query<OutboxRow>(
      `WITH marked AS (
         UPDATE outbox SET published_at = now() WHERE position = ANY($1::bigint[])
       )
       SELECT position, event_id, aggregate_id, subject, event_type, payload, trace, created_at
         FROM outbox
        WHERE published_at IS NULL AND position <> ALL($1::bigint[])
        ORDER BY position
        LIMIT $2`,
      [published, limit],
    );
    return rows;
  }

  /** Publishes a batch in order per aggregate; returns the positions published. */
  private async publishInOrder(rows: OutboxRow[]): Promise<{ published: string[]; failed: boolean }> {
    const byAggregate = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const queue = byAggregate.get(row.aggregate_id);
      if (queue) queue.push(row);
      else byAggregate.set(row.aggregate_id, [row]);
    }
    const published: string[] = [];
    let failed = false;
    const queues = [...byAggregate.values()];
    const publishQueues = async () => {
      for (let queue = queues.pop(); queue; queue = queues.pop()) {
        for (const row of queue) {
          try {
            await this.publish(row);
            published.push(row.position);
          } catch (error) {
            if (!failed) {
              this.options.logger.warn(
                { component: "outbox-relay", event_id: row.event_id, err: error },
                "could not publish an event; it and its aggregate's later events wait for the next round",
              );
            }
            failed = true;
            break;
          }
        }
      }
    };
    const workers = Math.min(this.options.publishConcurrency, queues.length);
    await Promise.all(Array.from({ length: workers }, publishQueues));
    return { published, failed };
  }

  private async publish(row: OutboxRow): Promise<void> {
    const { js, source, subjectPrefix, publishTimeoutMs, metrics } = this.options;
    const subject = `${subjectPrefix}.${row.subject}`;
    // A producer span in the trace of the change that recorded the event; consumers continue from it.
    const recorded = propagation.extract(context.active(), row.trace);
    const span = trace.getTracer("tourmesh-outbox").startSpan(
      `${subject} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          "messaging.system": "nats",
          "messaging.destination.name": subject,
          "messaging.message.id": row.event_id,
        },
      },
      recorded,
    );
    const traceHeaders: Record<string, string> = {};
    propagation.inject(trace.setSpan(recorded, span), traceHeaders);
    try {
      await js.publish(subject, row.payload, {
        msgID: row.event_id,
        timeout: publishTimeoutMs,
        headers: eventHeaders({
          id: row.event_id,
          type: row.event_type,
          source,
          time: row.created_at,
          aggregateId: row.aggregate_id,
          trace: traceHeaders,
        }),
      });
      metrics.published.inc();
      metrics.publishLatency.observe(Math.max(0, Date.now() - row.created_at.getTime()) / 1000);
    } finally {
      span.end();
    }
  }

  /**
   * Vacuums the outbox, at most every `vacuumIntervalMs` and only after a round that published rows (whose
   * marks come with the next round's read), on a connection of its own so that publishing goes on meanwhile.
   * A published mark leaves the row's old version behind, and with it an entry in the queue's index
   * (`outbox_unpublished`) that only a vacuum takes away: until then every round's read walks past all of
   * them, so the read slows for as long as the relay runs unvacuumed. Autovacuum, where it runs at all, waits
   * for a fifth of the table to be dead. SKIP_LOCKED leaves a vacuum already running alone; a role that does
   * not own the table gets a warning from Postgres and vacuums nothing.
   */
  private vacuumWhenDue(): void {
    if (this.vacuuming || Date.now() - this.lastVacuum < this.options.vacuumIntervalMs) return;
    this.lastVacuum = Date.now();
    const client = new PreparingClient({ connectionString: this.options.databaseUrl });
    client.on("error", () => undefined);
    this.vacuuming = (async () => {
      try {
        await client.connect();
        await client.query("VACUUM (SKIP_LOCKED) outbox");
      } catch (error) {
        this.options.logger.warn({ component: "outbox-relay", err: error }, "could not vacuum the outbox");
      } finally {
        await client.end().catch(() => undefined);
        this.vacuuming = undefined;
      }
    })();
  }

  /** Pruning runs about once a minute (and first marks what the round published). */
  private pruneDue(): boolean {
    return Date.now() - this.lastPrune >= PRUNE_INTERVAL_MS;
  }

  /**
   * Deletes published rows past their retention, in batches so that no statement holds its locks for long,
   * and at most PRUNE_MAX_BATCHES of them before the relay gets back to publishing.
   */
  private async prune(client: pg.Client): Promise<void> {
    this.lastPrune = Date.now();
    let pruned = 0;
    for (let batch = 0; batch < PRUNE_MAX_BATCHES && !this.stopped; batch++) {
      const { rowCount } = await client.query(
        `DELETE FROM outbox WHERE position IN (
           SELECT position FROM outbox
            WHERE published_at < now() - $1 * interval '1 millisecond'
            LIMIT $2)`,
        [this.options.retentionMs, PRUNE_BATCH],
      );
      pruned += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_BATCH) break;
    }
    if (pruned > 0) this.options.logger.debug({ component: "outbox-relay", pruned }, "pruned the outbox");
  }
}
