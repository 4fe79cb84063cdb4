import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { context, trace } from "@opentelemetry/api";
import {
  BookingCancelledSchema,
  BookingConfirmedSchema,
  ReviewCreatedSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { Registry } from "prom-client";
import { inTransaction } from "../postgres.js";
import { captureLogs, type EventsTestKit, startEventsTestKit } from "../testing/events-test-kit.js";
import { waitFor } from "../testing/wait-for.js";
import { startTracing } from "../tracing.js";
import { retryLater } from "./consumer.js";
import { eventHeaders } from "./envelope.js";
import type { EventsRuntime } from "./events-runtime.js";
import { recordEvent } from "./outbox.js";

describe("event consumers", () => {
  let kit: EventsTestKit;
  let stopTracing: () => Promise<void>;
  before(async () => {
    stopTracing = await startTracing("consumer-spec", undefined);
    kit = await startEventsTestKit("events_consumer");
    await kit.db.query(
      "CREATE TABLE effects (consumer text NOT NULL, event_id text NOT NULL, note text NOT NULL)",
    );
    // The producer side of every test: a relay publishing this database's outbox.
    await kit.runtime({ service: "producer", outbox: true, config: { OUTBOX_POLL_MS: "100" } });
  });
  after(async () => {
    await kit?.close();
    await stopTracing?.();
  });

  const fast = { EVENTS_RETRY_BASE_MS: "50", EVENTS_RETRY_MAX_MS: "200" };
  const effects = (consumer: string) =>
    kit.db.query<{ event_id: string; note: string }>(
      "SELECT event_id, note FROM effects WHERE consumer = $1 ORDER BY note",
      [consumer],
    );
  /** Records BookingConfirmed on `<topic>.confirmed`: each test has its own topic, so its consumer sees its events only. */
  const confirmed = (topic: string, bookingId: string) =>
    inTransaction(kit.pool, (tx) =>
      recordEvent(tx, {
        subject: `${topic}.confirmed`,
        schema: BookingConfirmedSchema,
        message: { bookingId, userId: "alice", travelers: 2 },
        aggregateId: bookingId,
      }),
    );
  /** Publishes BookingConfirmed straight to JetStream with the given ce-id and Nats-Msg-Id. */
  const publishConfirmed = (topic: string, eventId: string, messageId: string, bookingId: string) =>
    kit.js.publish(
      `${kit.streams.streams.subjectPrefix}.${topic}.confirmed`,
      toBinary(BookingConfirmedSchema, create(BookingConfirmedSchema, { bookingId })),
      {
        msgID: messageId,
        headers: eventHeaders({
          id: eventId,
          type: BookingConfirmedSchema.typeName,
          source: "spec",
          time: new Date(),
          aggregateId: bookingId,
          trace: {},
        }),
      },
    );
  const consumer = (
    name: string,
    handle: (note: string, context: { tx: import("pg").PoolClient; deliveryCount: number }) => Promise<void>,
    config: Record<string, string> = {},
    logs = captureLogs(),
    registry = new Registry(),
  ) =>
    kit.runtime({
      service: name,
      logs,
      registry,
      config: { ...fast, ...config },
      setUp(runtime: EventsRuntime) {
        runtime
          .consume({ name, subject: `${name}.>` })
          .on(BookingConfirmedSchema, async (event, eventContext) => {
            await eventContext.tx.query(
              "INSERT INTO effects (consumer, event_id, note) VALUES ($1, $2, $3)",
              [name, eventContext.id, event.bookingId],
            );
            await handle(event.bookingId, eventContext);
          });
      },
    });

  it("dispatches on ce-type to the handler of that message, and skips types it has no handler for", async () => {
    const seen: string[] = [];
    await kit.runtime({
      service: "dispatch",
      setUp(runtime) {
        runtime
          .consume({ name: "dispatch", subject: "dispatch.>" })
          .on(BookingConfirmedSchema, async (event) => {
            seen.push(`confirmed ${event.bookingId} ${event.travelers}`);
          })
          .on(BookingCancelledSchema, async (event) => {
            seen.push(`cancelled ${event.bookingId}`);
          });
      },
    });
    await confirmed("dispatch", "bkg_dispatch");
    await inTransaction(kit.pool, async (tx) => {
      await recordEvent(tx, {
        subject: "dispatch.reviewed",
        schema: ReviewCreatedSchema,
        message: { reviewId: "rev_1" },
        aggregateId: "rev_1",
      });
      await recordEvent(tx, {
        subject: "dispatch.cancelled",
        schema: BookingCancelledSchema,
        message: { bookingId: "bkg_dispatch" },
        aggregateId: "bkg_dispatch",
      });
    });
    await waitFor("both handlers to run", async () => seen.length === 2);
    assert.deepEqual(seen, ["confirmed bkg_dispatch 2", "cancelled bkg_dispatch"]);
  });

  it("has one effect for an event delivered again after its handler failed", async () => {
    const deliveries: number[] = [];
    await consumer("redelivery", async (_note, { deliveryCount }) => {
      deliveries.push(deliveryCount);
      // The effect was written in the handler's transaction: failing rolls it back with the inbox row.
      if (deliveryCount === 1) throw new Error("flaky dependency");
    });
    await confirmed("redelivery", "bkg_redelivered");
    await waitFor("the second delivery", async () => (await effects("redelivery")).length === 1);
    assert.deepEqual(deliveries, [1, 2]);
    assert.deepEqual(
      (await effects("redelivery")).map((row) => row.note),
      ["bkg_redelivered"],
    );
  });

  it("has one effect for a duplicate with a new Nats-Msg-Id but the same ce-id", async () => {
    const logs = captureLogs();
    await consumer("duplicates", async () => {}, {}, logs);
    await publishConfirmed("duplicates", "evt-dup-1", "msg-a", "bkg_dup");
    await publishConfirmed("duplicates", "evt-dup-1", "msg-b", "bkg_dup");
    await publishConfirmed("duplicates", "evt-dup-2", "msg-c", "bkg_other");
    await waitFor(
      "three deliveries",
      async () => logs.lines.filter((line) => line.msg === "event handled").length === 3,
    );
    assert.deepEqual(
      (await effects("duplicates")).map((row) => row.event_id),
      ["evt-dup-1", "evt-dup-2"],
    );
    const outcomes = logs.lines.filter((line) => line.msg === "event handled").map((line) => line.outcome);
    assert.deepEqual(outcomes.sort(), ["duplicate", "handled", "handled"]);
  });

  it("has one effect when the consumer is killed between its effect and its ack", async () => {
    const fixture = "services/platform/src/events/fixtures/consumer-process.ts";
    // A short ack_wait brings the redelivery soon. While no process pulls, a dead process's pending pull
    // request can still absorb deliveries: max_deliver leaves room for that.
    const env = {
      ...process.env,
      ...kit.streams.env,
      DATABASE_URL: kit.db.url,
      EVENTS_ACK_WAIT_MS: "1000",
      EVENTS_MAX_DELIVER: "50",
    };
    const killed = spawn(process.execPath, ["--import", "tsx", fixture], {
      env: { ...env, KILL_AFTER_EFFECT: "1" },
      stdio: "ignore",
    });
    let giveUp: NodeJS.Timeout | undefined;
    const exited = Promise.race([
      once(killed, "exit"),
      new Promise<never>((_, reject) => {
        giveUp = setTimeout(() => {
          killed.kill("SIGKILL");
          reject(new Error("the consumer process never handled the event"));
        }, 20_000);
      }),
    ]).finally(() => clearTimeout(giveUp));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await confirmed("effects", "bkg_killed");
    const [, signal] = await exited;
    assert.equal(signal, "SIGKILL", "the consumer died right after committing its effect");
    assert.equal((await effects("effects")).length, 1);
    // Whether the unacked event is still out with the dead process or already back to pending depends on how
    // long ack_wait has run; either way the consumer's ack floor stays below it.
    const info = await kit.jsm.consumers.info(kit.streams.streams.stream, "effects");
    assert.ok(info.delivered.stream_seq >= 1, "the event was delivered");
    assert.ok(info.ack_floor.stream_seq < info.delivered.stream_seq, "the event was never acknowledged");

    const restarted = spawn(process.execPath, ["--import", "tsx", fixture], {
      env,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const lines: Array<Record<string, unknown>> = [];
    restarted.stdout?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.startsWith("{")) lines.push(JSON.parse(line));
    });
    try {
      await waitFor("the redelivery to be recognised", async () =>
        lines.some((line) => line.msg === "event handled" && line.outcome === "duplicate"),
      );
      assert.deepEqual(
        (await effects("effects")).map((row) => row.note),
        ["bkg_killed"],
      );
      assert.equal((await kit.jsm.consumers.info(kit.streams.streams.stream, "effects")).num_ack_pending, 0);
    } finally {
      const stopped = once(restarted, "exit");
      restarted.kill("SIGTERM");
      assert.equal((await stopped)[0], 0);
    }
  });

  it("dead-letters a poison event after its deliveries, and redrives it once fixed: handled once", async () => {
    let broken = true;
    const logs = captureLogs();
    const registry = new Registry();
    await consumer(
      "poisoned",
      async (note) => {
        if (broken && note === "bkg_poison") throw new Error("cannot parse the tour's start time");
      },
      { EVENTS_MAX_DELIVER: "3" },
      logs,
      registry,
    );
    const waiting = async () =>
      Number(/^events_dead_letters\{consumer="poisoned"\} (\S+)$/m.exec(await registry.metrics())?.[1]);
    assert.equal(await waiting(), 0);
    const eventId = await confirmed("poisoned", "bkg_poison");
    await confirmed("poisoned", "bkg_healthy");
    const { deadLetterStream, deadLetterPrefix, subjectPrefix } = kit.streams.streams;
    const deadLetterSubject = `${deadLetterPrefix}.poisoned.${subjectPrefix}.poisoned.confirmed`;
    const deadLetters = async () =>
      (await kit.jsm.streams.info(deadLetterStream, { subjects_filter: deadLetterSubject })).state.subjects?.[
        deadLetterSubject
      ] ?? 0;
    await waitFor("the dead letter", async () => (await deadLetters()) === 1);
    const letter = await kit.jsm.streams.getMessage(deadLetterStream, { last_by_subj: deadLetterSubject });
    const header = (name: string) => letter.header.get(name);
    assert.equal(letter.subject, deadLetterSubject);
    assert.equal(header("ce-id"), eventId);
    assert.equal(header("ce-type"), BookingConfirmedSchema.typeName);
    assert.equal(header("ce-source"), "producer");
    assert.equal(header("tourmesh-dlq-consumer"), "poisoned");
    assert.equal(header("tourmesh-dlq-deliveries"), "3");
    assert.equal(header("tourmesh-dlq-reason"), "Error: cannot parse the tour's start time");
    assert.equal(header("tourmesh-dlq-original-subject"), `${subjectPrefix}.poisoned.confirmed`);
    assert.deepEqual(
      (await effects("poisoned")).map((row) => row.note),
      ["bkg_healthy"],
      "the poison event had no effect, and did not hold up the next one",
    );
    // The forwarder logs after it has published the dead letter (and cleared the failure record).
    await waitFor("the dead-letter log line", async () =>
      logs.lines.some((line) => line.msg === "event dead-lettered" && line.event_id === eventId),
    );
    assert.equal(await waiting(), 1, "the dead letter is reported as waiting");
    assert.match(await registry.metrics(), /^events_dead_lettered_total\{consumer="poisoned"\} 1$/m);

    broken = false;
    const redrive = spawn(
      process.execPath,
      ["--import", "tsx", "tools/redrive.ts", "--consumer", "poisoned"],
      {
        env: { ...process.env, ...kit.streams.env },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let output = "";
    redrive.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = await once(redrive, "exit");
    assert.equal(code, 0);
    assert.match(output, /redrove 1 dead letter\(s\) of consumer poisoned/);
    await waitFor("the redriven event to be handled", async () => (await effects("poisoned")).length === 2);
    assert.deepEqual(
      (await effects("poisoned")).map((row) => row.note),
      ["bkg_healthy", "bkg_poison"],
    );
    assert.equal(await deadLetters(), 0, "the dead letter is gone");
    assert.equal(await waiting(), 0, "and no longer reported");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await effects("poisoned")).length, 2, "handled once");
  });

  it("retries later without an error when a handler asks to, and the inbox does not count it as handled", async () => {
    let asked = 0;
    await kit.runtime({
      service: "patient",
      setUp(runtime) {
        runtime
          .consume({ name: "patient", subject: "patient.>" })
          .on(BookingConfirmedSchema, async (event, eventContext) => {
            await eventContext.tx.query(
              "INSERT INTO effects (consumer, event_id, note) VALUES ('patient', $1, $2)",
              [eventContext.id, event.bookingId],
            );
            asked++;
            return asked < 3 ? retryLater(20) : undefined;
          });
      },
    });
    await confirmed("patient", "bkg_patient");
    await waitFor("the third delivery", async () => (await effects("patient")).length === 1);
    assert.equal(asked, 3);
  });

  it("continues the producer's trace: the handler's log lines carry its trace id", async () => {
    const logs = captureLogs();
    await kit.runtime({
      service: "traced",
      logs,
      setUp(runtime) {
        runtime
          .consume({ name: "traced", subject: "traced.>" })
          .on(BookingConfirmedSchema, async (event, { logger }) => {
            logger.info({ booking_id: event.bookingId }, "sending the confirmation");
          });
      },
    });
    const producerTrace = {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: 1,
    };
    await context.with(trace.setSpanContext(context.active(), producerTrace), () =>
      confirmed("traced", "bkg_traced"),
    );
    await waitFor("the handler's log line", async () =>
      logs.lines.some((line) => line.msg === "sending the confirmation"),
    );
    const line = logs.lines.find((candidate) => candidate.msg === "sending the confirmation");
    assert.equal(line?.trace_id, producerTrace.traceId);
    assert.notEqual(
      line?.span_id,
      producerTrace.spanId,
      "the consumer's own span, a child in the same trace",
    );
  });

  it("reports its lag: events in the stream not yet delivered to it", async () => {
    const registry = new Registry();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await kit.runtime({
      service: "lagging",
      registry,
      config: { EVENTS_CONCURRENCY: "1" },
      setUp(runtime) {
        runtime.consume({ name: "lagging", subject: "lagging.>" }).on(BookingConfirmedSchema, () => gate);
      },
    });
    const lag = async () =>
      Number(/^events_consumer_pending\{consumer="lagging"\} (\S+)$/m.exec(await registry.metrics())?.[1]);
    for (let index = 0; index < 6; index++) await confirmed("lagging", `bkg_lag_${index}`);
    await waitFor("a lag of at least 4", async () => (await lag()) >= 4);
    release();
    await waitFor("the consumer to catch up", async () => (await lag()) === 0);
  });
});
