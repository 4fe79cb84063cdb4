import {
  AckPolicy,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgHdrs,
  headers as natsHeaders,
  type StoredMsg,
} from "nats";
import type { Logger } from "../logger.js";
import type { Pool } from "../postgres.js";
import type { EventsConfig } from "./config.js";
import { eventHeader, MESSAGE_ID_HEADER } from "./envelope.js";
import type { EventMetrics } from "./event-metrics.js";
import { type EventStreams, eventStreams, maxDeliveriesAdvisorySubject } from "./streams.js";

/** What a dead letter carries on top of the original event's headers. */
export const deadLetterHeader = {
  /** The consumer that could not handle the event. */
  consumer: "tourmesh-dlq-consumer",
  /** The last error its handler threw, or why there was none. */
  reason: "tourmesh-dlq-reason",
  deliveries: "tourmesh-dlq-deliveries",
  /** Where the event was published, and its sequence in the event stream. */
  originalSubject: "tourmesh-dlq-original-subject",
  originalSequence: "tourmesh-dlq-original-sequence",
  time: "tourmesh-dlq-time",
} as const;

const NO_RECORDED_REASON =
  "no failure was recorded: the handler did not answer within ack_wait (it hung, or its process died)";
const NANOS_PER_MS = 1_000_000;
const FORWARD_RETRY_MS = 2_000;

interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

/** The dead-letter subject of an event `consumer` could not handle: `<dlq prefix>.<consumer>.<original subject>`. */
export function deadLetterSubject(streams: EventStreams, consumer: string, originalSubject: string): string {
  return `${streams.deadLetterPrefix}.${consumer}.${originalSubject}`;
}

function copyHeaders(from: MsgHdrs | undefined, skip: (key: string) => boolean): MsgHdrs {
  const copy = natsHeaders();
  for (const key of from?.keys() ?? []) {
    if (!skip(key)) copy.set(key, from?.get(key) ?? "");
  }
  return copy;
}

const isDeadLetterHeader = (key: string) => key.startsWith("tourmesh-dlq-");
const isMessageId = (key: string) => key.toLowerCase() === MESSAGE_ID_HEADER.toLowerCase();

/**
 * Moves the events one consumer gave up on to the dead-letter stream. JetStream announces each with a
 * MAX_DELIVERIES advisory, which the advisory stream keeps (so none is lost while the service is down); this
 * forwarder reads them through its own durable consumer, fetches the original message by its stream
 * sequence, and republishes it to the dead-letter stream with its original headers, the consumer's name and
 * the reason the consumer recorded for its last failure.
 */
export class DeadLetterForwarder {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly consumer: string,
    private readonly streams: EventStreams,
    private readonly db: Pool,
    private readonly logger: Logger,
    private readonly metrics: EventMetrics,
  ) {}

  get durableName(): string {
    return `${this.consumer}_dead_letters`;
  }

  async start(js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    const config = {
      durable_name: this.durableName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: maxDeliveriesAdvisorySubject(this.streams.stream, this.consumer),
      ack_wait: 30_000 * NANOS_PER_MS,
    };
    const existing = await jsm.consumers
      .info(this.streams.advisoryStream, this.durableName)
      .catch(() => undefined);
    if (existing) await jsm.consumers.update(this.streams.advisoryStream, this.durableName, config);
    else await jsm.consumers.add(this.streams.advisoryStream, config);
    const { deadLetterStream, deadLetterPrefix } = this.streams;
    this.metrics.sampleDeadLetters(this.consumer, async () => {
      const filter = `${deadLetterPrefix}.${this.consumer}.>`;
      const { state } = await jsm.streams.info(deadLetterStream, { subjects_filter: filter });
      return Object.values(state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
    });
    const consumer = await js.consumers.get(this.streams.advisoryStream, this.durableName);
    const messages = await consumer.consume({ max_messages: 16 });
    this.messages = messages;
    this.loop = (async () => {
      for await (const advisory of messages) await this.forward(advisory, js, jsm);
    })();
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }

  private async forward(advisory: JsMsg, js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    let notice: MaxDeliveriesAdvisory | undefined;
    try {
      notice = advisory.json<MaxDeliveriesAdvisory>();
      const original = await this.original(jsm, notice.stream_seq);
      if (!original) {
        this.logger.error(
          { consumer: this.consumer, stream_sequence: notice.stream_seq },
          "an event exhausted its deliveries but is no longer in the stream; it cannot be dead-lettered",
        );
        advisory.ack();
        return;
      }
      const { rows } = await this.db.query<{ reason: string }>(
        "SELECT reason FROM event_failures WHERE consumer = $1 AND stream_sequence = $2",
        [this.consumer, notice.stream_seq],
      );
      const reason = rows[0]?.reason ?? NO_RECORDED_REASON;
      const headers = copyHeaders(original.header, isMessageId);
      headers.set(deadLetterHeader.consumer, this.consumer);
      headers.set(deadLetterHeader.reason, reason);
      headers.set(deadLetterHeader.deliveries, String(notice.deliveries));
      headers.set(deadLetterHeader.originalSubject, original.subject);
      headers.set(deadLetterHeader.originalSequence, String(original.seq));
      headers.set(deadLetterHeader.time, new Date().toISOString());
      await js.publish(deadLetterSubject(this.streams, this.consumer, original.subject), original.data, {
        // A second advisory for the same message (this forwarder crashed before its ack) is dropped.
        msgID: `dlq:${this.consumer}:${original.seq}`,
        headers,
      });
      await this.db.query("DELETE FROM event_failures WHERE consumer = $1 AND stream_sequence = $2", [
        this.consumer,
        notice.stream_seq,
      ]);
      advisory.ack();
      this.metrics.deadLettered.inc({ consumer: this.consumer });
      this.logger.warn(
        {
          consumer: this.consumer,
          event_id: original.header?.get(eventHeader.id),
          event_type: original.header?.get(eventHeader.type),
          stream_sequence: original.seq,
          deliveries: notice.deliveries,
          reason,
        },
        "event dead-lettered",
      );
    } catch (error) {
      this.logger.warn(
        { consumer: this.consumer, stream_sequence: notice?.stream_seq, err: error },
        "could not dead-letter an event; will retry",
      );
      advisory.nak(FORWARD_RETRY_MS);
    }
  }

  private async original(jsm: JetStreamManager, seq: number): Promise<StoredMsg | undefined> {
    try {
      return await jsm.streams.getMessage(this.streams.stream, { seq });
    } catch (error) {
      if (/no message found/i.test(String(error))) return undefined;
      throw error;
    }
  }
}

/**
 * Republishes the dead letters of `consumer` to their original subjects, each with a new Nats-Msg-Id (so
 * JetStream does not drop it as a duplicate) and its original ce-id (so a consumer that did handle it after
 * all still finds it in its inbox), and removes each from the dead-letter stream once republished. Returns
 * how many were redriven.
 */
export async function redriveDeadLetters(
  config: Pick<EventsConfig, "NATS_URL" | "EVENTS_STREAM" | "EVENTS_SUBJECT_PREFIX">,
  consumer: string,
): Promise<number> {
  const streams = eventStreams(config.EVENTS_STREAM, config.EVENTS_SUBJECT_PREFIX);
  const connection = await connect({ servers: config.NATS_URL, name: "redrive" });
  try {
    const js = connection.jetstream();
    const jsm = await connection.jetstreamManager();
    const exists = await jsm.streams.info(streams.deadLetterStream).then(
      () => true,
      (error: unknown) => {
        if (/stream not found/i.test(String(error))) return false;
        throw error;
      },
    );
    // No dead-letter stream: no service has started on these streams, so nothing was dead-lettered.
    if (!exists) return 0;
    // An ordered consumer reads the consumer's dead letters oldest first and goes away by itself afterwards.
    const letters = await js.consumers.get(streams.deadLetterStream, {
      filterSubjects: `${streams.deadLetterPrefix}.${consumer}.>`,
    });
    let redriven = 0;
    for (;;) {
      let fetched = 0;
      for await (const letter of await letters.fetch({ max_messages: 100, expires: 1_000 })) {
        fetched++;
        const originalSubject = letter.headers?.get(deadLetterHeader.originalSubject) ?? "";
        if (originalSubject === "")
          throw new Error(`dead letter ${letter.seq} does not say where it came from`);
        await js.publish(originalSubject, letter.data, {
          msgID: `${letter.headers?.get(eventHeader.id) ?? ""}:redrive:${letter.seq}`,
          headers: copyHeaders(letter.headers, (key) => isDeadLetterHeader(key) || isMessageId(key)),
        });
        await jsm.streams.deleteMessage(streams.deadLetterStream, letter.seq, false);
        redriven++;
      }
      if (fetched === 0) return redriven;
    }
  } finally {
    await connection.close();
  }
}
