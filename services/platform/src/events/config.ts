import { z } from "zod";
import { configFields } from "../config.js";

const { milliseconds } = configFields;
const positive = z.coerce.number().int().min(1);

/** A stream name or subject token: letters, digits, `_` and `-` (no dots or wildcards). */
const token = z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, _ and - only");

/** The event settings every service with `events` reads, on top of its own config. */
export const eventsConfigSchema = z.object({
  NATS_URL: z.string().min(1).default("nats://127.0.0.1:4222"),
  /** The JetStream stream of integration events; its dead letters and advisories live in `<stream>_DLQ`, `<stream>_ADVISORIES`. */
  EVENTS_STREAM: token.default("TOURMESH"),
  /** First token of every event subject: `<prefix>.<aggregate>.<event>`. */
  EVENTS_SUBJECT_PREFIX: token.default("tourmesh"),
  /** Deliveries of one event to one consumer before it is dead-lettered (a consumer may set its own). */
  EVENTS_MAX_DELIVER: positive.default(5),
  /** How long a delivered event may go unacknowledged before JetStream delivers it again. */
  EVENTS_ACK_WAIT_MS: milliseconds.min(1_000).default(30_000),
  /** Backoff between deliveries of a failing event: starts here, doubles per delivery, capped. */
  EVENTS_RETRY_BASE_MS: milliseconds.min(1).default(1_000),
  EVENTS_RETRY_MAX_MS: milliseconds.min(1).default(60_000),
  /** Events one consumer handles at once. */
  EVENTS_CONCURRENCY: positive.default(32),
  /** How long handled event ids are kept in the inbox (past the stream's 7-day retention). */
  INBOX_RETENTION_MS: milliseconds.default(8 * 24 * 60 * 60 * 1_000),
  /** The relay wakes on NOTIFY; this is how often it looks anyway (notifications can be missed on reconnect). */
  OUTBOX_POLL_MS: milliseconds.min(1).default(1_000),
  /** Rows the relay reads per round. */
  OUTBOX_BATCH: positive.default(500),
  /** Aggregates the relay publishes for at once (each aggregate's events go one after the other). */
  OUTBOX_PUBLISH_CONCURRENCY: positive.default(128),
  /** How long a publish may wait for JetStream's ack before it is retried in a later round. */
  OUTBOX_PUBLISH_TIMEOUT_MS: milliseconds.min(1).default(5_000),
  /** How long published rows are kept (to look at) before they are pruned. */
  OUTBOX_RETENTION_MS: milliseconds.default(60 * 60 * 1_000),
  /** How often, at most, the relay vacuums the outbox after publishing rows (see OutboxRelay.vacuumWhenDue). */
  OUTBOX_VACUUM_INTERVAL_MS: milliseconds.min(1).default(10_000),
});

export type EventsConfig = z.infer<typeof eventsConfigSchema>;
