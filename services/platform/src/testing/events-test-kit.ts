/**
 * What the platform's event specs share: a fresh database with the outbox and inbox tables, private event
 * streams on the real NATS server, in-process event runtimes, and the log lines they write.
 */
import { Writable } from "node:stream";
import {
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type StoredMsg,
} from "nats";
import { Registry } from "prom-client";
import { type EventsConfig, eventsConfigSchema } from "../events/config.js";
import { EventMetrics } from "../events/event-metrics.js";
import { migrateInbox, migrateOutbox } from "../events/event-tables.js";
import { EventsRuntime } from "../events/events-runtime.js";
import { createLogger, type Logger } from "../logger.js";
import { createPool, type Pool } from "../postgres.js";
import { createTestDatabase, type TestDatabase } from "./test-database.js";
import { type TestEventStreams, testEventStreams } from "./test-events.js";

export interface LogCapture {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

/** A logger whose JSON lines are kept in `lines`. */
export function captureLogs(service = "test"): LogCapture {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger(service, "debug", destination), lines };
}

export interface EventsTestKit {
  db: TestDatabase;
  pool: Pool;
  streams: TestEventStreams;
  nats: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /**
   * Starts an event runtime on the kit's database and streams; consumers are registered by `setUp` before it
   * starts. Stopped by `close` unless stopped before.
   */
  runtime(options: {
    service?: string;
    outbox?: boolean;
    config?: Partial<Record<keyof EventsConfig, string>>;
    logs?: LogCapture;
    registry?: Registry;
    setUp?: (runtime: EventsRuntime) => void;
  }): Promise<EventsRuntime>;
  /** Every message in the kit's event stream, oldest first. */
  streamMessages(): Promise<StoredMsg[]>;
  close(): Promise<void>;
}

export async function startEventsTestKit(prefix: string): Promise<EventsTestKit> {
  const db = await createTestDatabase(prefix);
  const silent = createLogger("test", "silent");
  await migrateOutbox(db.url, silent);
  await migrateInbox(db.url, silent);
  const pool = createPool(db.url, silent);
  const streams = testEventStreams();
  const nats = await connect({ servers: streams.env.NATS_URL });
  const jsm = await nats.jetstreamManager();
  const runtimes: EventsRuntime[] = [];
  return {
    db,
    pool,
    streams,
    nats,
    js: nats.jetstream(),
    jsm,
    async runtime({ service = "test", outbox = false, config = {}, logs, registry = new Registry(), setUp }) {
      const runtime = new EventsRuntime({
        service,
        config: eventsConfigSchema.parse({ ...streams.env, ...config }),
        logger: logs?.logger ?? silent,
        metrics: new EventMetrics(registry),
        db: pool,
        databaseUrl: db.url,
        outbox,
      });
      setUp?.(runtime);
      runtimes.push(runtime);
      await runtime.start();
      return runtime;
    },
    async streamMessages() {
      const { state } = await jsm.streams.info(streams.streams.stream);
      const messages: StoredMsg[] = [];
      for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
        messages.push(await jsm.streams.getMessage(streams.streams.stream, { seq }));
      }
      return messages;
    },
    async close() {
      for (const runtime of runtimes.splice(0)) await runtime.stop();
      await nats.close();
      await streams.delete();
      await pool.end();
      await db.drop();
    },
  };
}
