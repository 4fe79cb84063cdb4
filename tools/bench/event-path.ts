// Benchmark of the event path, on the real Postgres and NATS, with the platform's own outbox relay and
// consumer (in this process; private streams and a scratch database, removed afterwards):
//   1. latency: events recorded at a steady rate (open loop), each in its own transaction; the time from
//      the outbox row to the consumer's effect (both Postgres clock_timestamp(), so one clock), p50/p99;
//   2. relay throughput: a backlog recorded while the relay is stopped, then drained by a fresh relay
//      (4 events per aggregate, as a booking has); events/s.
//
//   npm run bench:events -- [--rate 200] [--seconds 15] [--backlog 20000]
//
// The relay and consumer settings (OUTBOX_BATCH, OUTBOX_PUBLISH_CONCURRENCY, EVENTS_CONCURRENCY, ...) are
// read from the environment as a service reads them.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { BookingConfirmedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { createLogger, createPool, inTransaction, migrateOutbox, recordEvent } from "@tourmesh/platform";
import {
  EventMetrics,
  EventsRuntime,
  eventsConfigSchema,
  loadConfig,
  migrateInbox,
} from "@tourmesh/platform/internal";
import { createTestDatabase, testEventStreams } from "@tourmesh/platform/testing";
import { Registry } from "prom-client";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "15" },
    backlog: { type: "string", default: "20000" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const backlog = Number(values.backlog);
const WARM_UP_SECONDS = 2;
const TARGETS = { p99Ms: 50, relayPerSecond: 5_000 };

const logger = createLogger("bench", "warn");
const db = await createTestDatabase("bench_events");
const streams = testEventStreams();
await migrateOutbox(db.url, logger);
await migrateInbox(db.url, logger);
await db.query(
  "CREATE TABLE effects (event_id uuid PRIMARY KEY, handled_at timestamptz NOT NULL DEFAULT clock_timestamp())",
);
const pool = createPool(db.url, logger, { max: 20 });

const runtime = (service: string, outbox: boolean, setUp?: (events: EventsRuntime) => void) => {
  const events = new EventsRuntime({
    service,
    config: loadConfig(eventsConfigSchema, {}, { ...process.env, ...streams.env }),
    logger,
    metrics: new EventMetrics(new Registry()),
    db: pool,
    databaseUrl: db.url,
    outbox,
  });
  setUp?.(events);
  return events;
};

const record = (tx: Parameters<typeof recordEvent>[0], aggregateId: string) =>
  recordEvent(tx, {
    subject: "booking.confirmed",
    schema: BookingConfirmedSchema,
    message: {
      bookingId: aggregateId,
      userId: "bench",
      tourId: "tour_paris_louvre",
      travelers: 2,
      total: { currencyCode: "EUR", minorUnits: 13_800n },
      paymentId: "pay_bench",
    },
    aggregateId,
  });

let latency: {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  events: number;
  recordedPerSecond: number;
};
let relayPerSecond: number;
try {
  // 1. Latency at a steady rate.
  const producer = runtime("bench-producer", true);
  const consumer = runtime("bench-consumer", false, (events) =>
    events
      .consume({ name: "bench", subject: "booking.>" })
      .on(BookingConfirmedSchema, async (event, { tx, id }) => {
        await tx.query("INSERT INTO effects (event_id) VALUES ($1)", [id]);
        if (event.bookingId === "") throw new Error("empty event");
      }),
  );
  await producer.start();
  await consumer.start();
  const total = Math.round(rate * (WARM_UP_SECONDS + seconds));
  const started = performance.now();
  const recordings: Array<Promise<string>> = [];
  for (let index = 0; index < total; index++) {
    const dueAt = started + (index * 1_000) / rate;
    const wait = dueAt - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    recordings.push(inTransaction(pool, (tx) => record(tx, `bkg_latency_${index}`)));
  }
  const eventIds = await Promise.all(recordings);
  const recordedPerSecond = total / ((performance.now() - started) / 1_000);
  const measuredIds = eventIds.slice(Math.round(rate * WARM_UP_SECONDS));
  for (let tries = 0; ; tries++) {
    const [row] = await db.query<{ n: string }>("SELECT count(*) AS n FROM effects");
    if (Number(row?.n) >= total) break;
    if (tries > 600) throw new Error(`only ${row?.n} of ${total} events reached the consumer`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const [stats] = await db.query<{ p50: number; p90: number; p99: number; max: number; events: string }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY ms) AS p90,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
            max(ms) AS max, count(*) AS events
       FROM (SELECT extract(epoch FROM e.handled_at - o.created_at) * 1000 AS ms
               FROM effects e JOIN outbox o USING (event_id)
              WHERE o.event_id = ANY($1::uuid[])) latencies`,
    [measuredIds],
  );
  latency = {
    p50: Number(stats?.p50),
    p90: Number(stats?.p90),
    p99: Number(stats?.p99),
    max: Number(stats?.max),
    events: Number(stats?.events),
    recordedPerSecond,
  };
  await consumer.stop();
  await producer.stop();

  // 2. Relay throughput: drain a backlog.
  const BATCH = 500;
  for (let index = 0; index < backlog; index += BATCH) {
    await inTransaction(pool, async (tx) => {
      for (let offset = index; offset < Math.min(backlog, index + BATCH); offset++)
        await record(tx, `bkg_backlog_${Math.floor(offset / 4)}`);
    });
  }
  const unpublished = async () =>
    Number(
      (await db.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"))[0]?.n,
    );
  const queued = await unpublished();
  const relay = runtime("bench-relay", true);
  const drainStarted = performance.now();
  await relay.start();
  while ((await unpublished()) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  relayPerSecond = queued / ((performance.now() - drainStarted) / 1_000);
  await relay.stop();
} finally {
  await pool.end();
  await streams.delete();
  await db.drop();
}

const machine = `${cpus().length} × ${cpus()[0]?.model.split(" ")[0] ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const report = {
  date: new Date().toISOString(),
  machine,
  loadAverage: loadavg()[0]?.toFixed(1),
  latency: {
    ratePerSecond: rate,
    seconds,
    recordedPerSecond: Math.round(latency.recordedPerSecond),
    events: latency.events,
    p50Ms: Number(latency.p50.toFixed(1)),
    p90Ms: Number(latency.p90.toFixed(1)),
    p99Ms: Number(latency.p99.toFixed(1)),
    maxMs: Number(latency.max.toFixed(1)),
    target: `p99 ≤ ${TARGETS.p99Ms} ms`,
    met: latency.p99 <= TARGETS.p99Ms,
  },
  relay: {
    backlog,
    eventsPerSecond: Math.round(relayPerSecond),
    target: `≥ ${TARGETS.relayPerSecond} events/s`,
    met: relayPerSecond >= TARGETS.relayPerSecond,
  },
};
console.log(`event path on ${machine}, load average ${report.loadAverage}`);
console.log(
  `  outbox → consumer effect at ${rate} events/s for ${seconds} s (${latency.events} events): ` +
    `p50 ${report.latency.p50Ms} ms, p90 ${report.latency.p90Ms} ms, p99 ${report.latency.p99Ms} ms, max ${report.latency.maxMs} ms ` +
    `(target ${report.latency.target}: ${report.latency.met ? "met" : "NOT met"})`,
);
console.log(
  `  relay draining a backlog of ${backlog}: ${report.relay.eventsPerSecond} events/s ` +
    `(target ${report.relay.target}: ${report.relay.met ? "met" : "NOT met"})`,
);
mkdirSync("bench-results", { recursive: true });
writeFileSync("bench-results/event-path.json", `${JSON.stringify(report, null, 2)}\n`);
