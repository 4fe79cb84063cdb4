import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { trace } from "@opentelemetry/api";
import { BookingConfirmedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { Registry } from "prom-client";
import { inTransaction } from "../postgres.js";
import { captureLogs, type EventsTestKit, startEventsTestKit } from "../testing/events-test-kit.js";
import { startNatsServer } from "../testing/test-events.js";
import { waitFor } from "../testing/wait-for.js";
import { startTracing } from "../tracing.js";
import { recordEvent } from "./outbox.js";

describe("outbox and relay", () => {
  let kit: EventsTestKit;
  let stopTracing: () => Promise<void>;
  before(async () => {
    stopTracing = await startTracing("outbox-spec", undefined);
    kit = await startEventsTestKit("events_outbox");
  });
  after(async () => {
    await kit?.close();
    await stopTracing?.();
  });

  const record = (aggregateId: string, travelers = 1, subject = "booking.confirmed") =>
    inTransaction(kit.pool, (tx) =>
      recordEvent(tx, {
        subject,
        schema: BookingConfirmedSchema,
        message: { bookingId: aggregateId, tourId: "tour_paris_louvre", travelers },
        aggregateId,
      }),
    );
  const unpublished = async () =>
    Number(
      (await kit.db.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"))[0]
        ?.n,
    );
  const published = () => waitFor("the outbox to be published", async () => (await unpublished()) === 0);

  it("publishes a committed event with CloudEvents headers, Nats-Msg-Id and its trace; never a rolled-back one", async () => {
    const registry = new Registry();
    const relay = await kit.runtime({ service: "booking", outbox: true, registry });
    let traceId = "";
    const eventId = await trace.getTracer("spec").startActiveSpan("CreateBooking", async (span) => {
      traceId = span.spanContext().traceId;
      try {
        return await record("bkg_1", 3);
      } finally {
        span.end();
      }
    });
    await assert.rejects(
      inTransaction(kit.pool, async (tx) => {
        await recordEvent(tx, {
          subject: "booking.confirmed",
          schema: BookingConfirmedSchema,
          message: { bookingId: "bkg_rolled_back" },
          aggregateId: "bkg_rolled_back",
        });
        throw new Error("the change failed");
      }),
      /the change failed/,
    );
    await published();

    const messages = await kit.streamMessages();
    assert.equal(messages.length, 1, "only the committed event is published");
    const [message] = messages;
    assert.ok(message);
    assert.equal(message.subject, `${kit.streams.streams.subjectPrefix}.booking.confirmed`);
    const header = (name: string) => message.header.get(name);
    assert.equal(header("ce-specversion"), "1.0");
    assert.equal(header("ce-id"), eventId);
    assert.equal(header("Nats-Msg-Id"), eventId);
    assert.equal(header("ce-type"), "tourmesh.events.v1.BookingConfirmed");
    assert.equal(header("ce-source"), "booking");
    assert.equal(header("ce-subject"), "bkg_1");
    assert.equal(header("content-type"), "application/protobuf");
    assert.ok(Math.abs(Date.parse(header("ce-time")) - Date.now()) < 60_000, header("ce-time"));
    assert.match(header("traceparent"), new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
    const payload = fromBinary(BookingConfirmedSchema, message.data);
    assert.equal(payload.bookingId, "bkg_1");
    assert.equal(payload.travelers, 3);

    const metrics = await registry.metrics();
    assert.match(metrics, /^outbox_backlog 0$/m);
    assert.match(metrics, /^outbox_publish_latency_seconds_count 1$/m);
    await relay.stop();
  });

  it("reports its backlog while it cannot publish", async () => {
    const registry = new Registry();
    // A runtime whose NATS does not answer: events wait in the outbox.
    const stalled = await kit.runtime({
      outbox: true,
      registry,
      config: { NATS_URL: "nats://127.0.0.1:1" },
    });
    await record("bkg_backlog_1");
    await record("bkg_backlog_2");
    assert.match(await registry.metrics(), /^outbox_backlog 2$/m);
    await stalled.stop();
    const relay = await kit.runtime({ outbox: true });
    await published();
    await relay.stop();
  });

  it("publishes each aggregate's events in the order recorded, aggregates side by side", async () => {
    const seqBefore = (await kit.streamMessages()).length;
    const relay = await kit.runtime({ outbox: true, config: { OUTBOX_BATCH: "37" } });
    const aggregates = Array.from({ length: 20 }, (_, index) => `bkg_order_${index}`);
    await Promise.all(
      aggregates.map(async (aggregateId) => {
        for (let step = 1; step <= 10; step++) await record(aggregateId, step);
      }),
    );
    await published();
    const messages = (await kit.streamMessages()).slice(seqBefore);
    assert.equal(messages.length, 200);
    const steps = new Map<string, number[]>();
    for (const message of messages) {
      const event = fromBinary(BookingConfirmedSchema, message.data);
      steps.set(event.bookingId, [...(steps.get(event.bookingId) ?? []), event.travelers]);
    }
    for (const aggregateId of aggregates) {
      assert.deepEqual(steps.get(aggregateId), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], aggregateId);
    }
    await relay.stop();
  });

  it("runs one active relay per database; a standby takes over when it stops", async () => {
    const before = (await kit.streamMessages()).length;
    const first = captureLogs();
    const second = captureLogs();
    const active = (logs: typeof first) => logs.lines.some((line) => line.msg === "outbox relay active");
    const relayA = await kit.runtime({ outbox: true, logs: first });
    await waitFor("the first relay to be active", async () => active(first));
    const relayB = await kit.runtime({ outbox: true, logs: second });
    await waitFor("the second relay to stand by", async () =>
      second.lines.some((line) => line.msg === "another outbox relay is active; standing by"),
    );
    for (let index = 0; index < 10; index++) await record(`bkg_standby_${index}`);
    await published();
    assert.equal(active(second), false, "the standby published nothing");

    await relayA.stop();
    for (let index = 10; index < 20; index++) await record(`bkg_standby_${index}`);
    await waitFor("the standby to take over", async () => active(second));
    await published();
    const ids = (await kit.streamMessages()).slice(before).map((message) => message.header.get("ce-id"));
    assert.equal(ids.length, 20);
    assert.equal(new Set(ids).size, 20, "every event published once");
    await relayB.stop();
  });

  it("vacuums the outbox after publishing, so that marked rows' old versions do not pile up in its queue", async () => {
    const vacuums = async () =>
      Number(
        (
          await kit.db.query<{ n: string }>(
            "SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relname = 'outbox'",
          )
        )[0]?.n,
      );
    const before = await vacuums();
    for (let index = 0; index < 20; index++) await record(`bkg_vacuum_${index}`);
    const relay = await kit.runtime({ outbox: true, config: { OUTBOX_VACUUM_INTERVAL_MS: "1" } });
    await published();
    await waitFor("the relay to vacuum the outbox", async () => (await vacuums()) > before);
    await relay.stop();
  });

  it("prunes published rows once they are past their retention", async () => {
    await record("bkg_prune");
    const relay = await kit.runtime({ outbox: true, config: { OUTBOX_RETENTION_MS: "0" } });
    await waitFor("the published rows to be pruned", async () => {
      const rows = await kit.db.query("SELECT 1 FROM outbox");
      return rows.length === 0;
    });
    await relay.stop();
  });
});

describe("outbox through a NATS outage", () => {
  let kit: EventsTestKit;
  let nats: Awaited<ReturnType<typeof startNatsServer>>;
  before(async () => {
    nats = await startNatsServer();
    kit = await startEventsTestKit("events_outage");
    await kit.db.query("CREATE TABLE effects (event_id text NOT NULL, booking_id text NOT NULL)");
  });
  after(async () => {
    // The kit's streams live on the private server; the kit deletes them on the shared one (a no-op).
    await kit?.close();
    await nats?.close();
  });

  it("delivers every event recorded while NATS was down for ~10 s, none lost and none doubled", async () => {
    const env = { NATS_URL: nats.url, OUTBOX_POLL_MS: "200", OUTBOX_PUBLISH_TIMEOUT_MS: "1000" };
    const logs = captureLogs();
    const producer = await kit.runtime({ service: "producer", outbox: true, config: env, logs });
    const consumer = await kit.runtime({
      service: "consumer",
      config: env,
      setUp(runtime) {
        runtime
          .consume({ name: "effects", subject: "booking.>" })
          .on(BookingConfirmedSchema, async (event, context) => {
            await context.tx.query("INSERT INTO effects (event_id, booking_id) VALUES ($1, $2)", [
              context.id,
              event.bookingId,
            ]);
          });
      },
    });
    const effects = async () =>
      (
        await kit.db.query<{ n: string; distinct_ids: string }>(
          "SELECT count(*) AS n, count(DISTINCT event_id) AS distinct_ids FROM effects",
        )
      )[0];

    for (let index = 0; index < 20; index++) await record_(index);
    await waitFor("the first events to be handled", async () => Number((await effects())?.n) === 20);

    await nats.stop();
    try {
      const outageEnds = Date.now() + 10_000;
      for (let index = 20; Date.now() < outageEnds; index++) {
        await record_(index);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await nats.start();
    }
    const recorded = Number((await kit.db.query<{ n: string }>("SELECT count(*) AS n FROM outbox"))[0]?.n);
    assert.ok(recorded > 100, `${recorded} events recorded`);
    await waitFor("every event to be handled", async () => Number((await effects())?.n) >= recorded, 60_000);
    // Give a late duplicate the chance to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const counted = await effects();
    assert.equal(Number(counted?.n), recorded, "one effect per event");
    assert.equal(Number(counted?.distinct_ids), recorded);
    assert.ok(
      logs.lines.some((line) => line.msg === "NATS connection lost; reconnecting"),
      "the relay saw the outage",
    );
    await consumer.stop();
    await producer.stop();
  });

  it("starts while NATS is down, and publishes what was recorded meanwhile once NATS is up", async () => {
    const logs = captureLogs();
    await nats.stop();
    try {
      await kit.runtime({ service: "early", outbox: true, config: { NATS_URL: nats.url }, logs });
      assert.ok(logs.lines.some((line) => line.msg === "NATS is not reachable; events wait until it is"));
      for (let index = 0; index < 5; index++) await record_(1_000 + index);
    } finally {
      await nats.start();
    }
    await waitFor("the runtime to connect", async () =>
      logs.lines.some((line) => line.msg === "events connected"),
    );
    await waitFor("this runtime's relay to be the active one", async () =>
      logs.lines.some((line) => line.msg === "outbox relay active"),
    );
    await waitFor(
      "the backlog to be published",
      async () =>
        Number(
          (
            await kit.db.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
          )[0]?.n,
        ) === 0,
    );
  });

  function record_(index: number) {
    return inTransaction(kit.pool, (tx) =>
      recordEvent(tx, {
        subject: "booking.confirmed",
        schema: BookingConfirmedSchema,
        message: { bookingId: `bkg_outage_${index}` },
        aggregateId: `bkg_outage_${index % 7}`,
      }),
    );
  }
});
