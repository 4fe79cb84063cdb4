import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "nats";
import type { Logger } from "../logger.js";
import { inTransaction, type Pool, type PoolClient } from "../postgres.js";
import { type EventAttributes, eventHeader, headerCarrier, readEventAttributes } from "./envelope.js";
import type { EventMetrics } from "./event-metrics.js";

/** What a handler knows about the event it handles. */
export interface EventContext extends EventAttributes {
  /** The full NATS subject it was published on. */
  subject: string;
  /** 1 on the first delivery to this consumer. */
  deliveryCount: number;
  /** True on the last delivery before the event is dead-lettered: a handler may settle it another way. */
  lastDelivery: boolean;
  logger: Logger;
}

/** The context of a handler whose consumer keeps an inbox: `tx` is the transaction that records the event as handled. */
export interface InboxEventContext extends EventContext {
  /** Write the handler's effect with this client: it commits together with the inbox row, or not at all. */
  tx: PoolClient;
}

/** Returned by a handler that cannot act yet (and did nothing): the event is delivered again after `delayMs`. */
export interface RetryLater {
  retryAfterMs: number;
}

export const retryLater = (delayMs: number): RetryLater => ({
  retryAfterMs: Math.max(0, Math.round(delayMs)),
});

export type EventHandler<D extends DescMessage, C extends EventContext> = (
  event: MessageShape<D>,
  context: C,
) => Promise<undefined | RetryLater> | Promise<void>;

export interface ConsumerOptions {
  /** The durable consumer's name, unique in the stream, e.g. "notification" (letters, digits, _ and -). */
  name: string;
  /** The events it receives, relative to the subject prefix, e.g. "booking.>" (JetStream 2.9: one filter). */
  subject: string;
  /**
   * true (the default): each event's id is recorded in the inbox in the same transaction as the handler's
   * effect, so a redelivered or duplicated event has one effect. false: the handler is idempotent by itself
   * (and gets no transaction).
   */
  inbox?: boolean;
  /** Deliveries before the event is dead-lettered; default EVENTS_MAX_DELIVER. */
  maxDeliver?: number;
  ackWaitMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  concurrency?: number;
  /** Deliveries awaiting their ack at once (retries waiting out their delay count too); default 1000. */
  maxAckPending?: number;
}

export interface ConsumerSettings {
  stream: string;
  subjectPrefix: string;
  maxDeliver: number;
  ackWaitMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  concurrency: number;
  maxAckPending: number;
}

interface Registered {
  schema: DescMessage;
  handler: (event: unknown, context: InboxEventContext) => Promise<RetryLater | undefined> | Promise<void>;
}

const consumerNamePattern = /^[A-Za-z0-9_-]+$/;
const NANOS_PER_MS = 1_000_000;

/** Rolls an inbox transaction back when the handler asks to retry later: the event must not count as handled. */
class RetryRequested extends Error {
  constructor(readonly retry: RetryLater) {
    super("retry later");
  }
}

/**
 * The wait before delivery `deliveryCount + 1` after a failed delivery: base × 2^(deliveryCount − 1), capped,
 * the upper half random so that events failed by one outage do not all come back at once.
 */
export function redeliveryDelayMs(
  deliveryCount: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, deliveryCount - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/**
 * A durable pull consumer with explicit acks. Events are dispatched on their ce-type to the handler
 * registered for that protobuf message (events of other types are acknowledged and skipped). A handler that
 * throws gets the event again after an exponential backoff (nak with a delay), up to max_deliver deliveries;
 * after that JetStream gives up on it and the dead-letter forwarder moves it to the dead-letter stream, with
 * the reason recorded here. Events of one aggregate (ce-subject) are handled one after the other, others side
 * by side. Each handling runs in a CONSUMER span that continues the producer's trace.
 */
export class EventConsumer<C extends EventContext = InboxEventContext> {
  readonly name: string;
  readonly inbox: boolean;
  private readonly handlers = new Map<string, Registered>();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly byAggregate = new Map<string, Promise<void>>();

  constructor(
    readonly options: ConsumerOptions,
    private readonly settings: ConsumerSettings,
    private readonly db: Pool,
    private readonly logger: Logger,
    private readonly metrics: EventMetrics,
  ) {
    if (!consumerNamePattern.test(options.name))
      throw new Error(`consumer name "${options.name}" must be letters, digits, _ and - only`);
    this.name = options.name;
    this.inbox = options.inbox ?? true;
  }

  /** Handles events of `schema` with `handler`. */
  on<D extends DescMessage>(schema: D, handler: EventHandler<D, C>): this {
    if (this.handlers.has(schema.typeName))
      throw new Error(`${this.name}: two handlers for ${schema.typeName}`);
    this.handlers.set(schema.typeName, { schema, handler: handler as unknown as Registered["handler"] });
    return this;
  }

  get filterSubject(): string {
    return `${this.settings.subjectPrefix}.${this.options.subject}`;
  }

  get maxDeliver(): number {
    return this.options.maxDeliver ?? this.settings.maxDeliver;
  }

  /** The JetStream consumer this consumer runs on, as created or brought up to date at start. */
  config(): Partial<ConsumerConfig> {
    return {
      durable_name: this.name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.filterSubject,
      ack_wait: (this.options.ackWaitMs ?? this.settings.ackWaitMs) * NANOS_PER_MS,
      max_deliver: this.maxDeliver,
      max_ack_pending: this.options.maxAckPending ?? this.settings.maxAckPending,
    };
  }

  /** Creates or updates the durable consumer and starts pulling. */
  async start(js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    const { stream } = this.settings;
    const config = this.config();
    const existing = await jsm.consumers.info(stream, this.name).catch((error: unknown) => {
      if (/consumer not found/i.test(String(error))) return undefined;
      throw error;
    });
    if (existing) await jsm.consumers.update(stream, this.name, config);
    else await jsm.consumers.add(stream, config);
    this.metrics.sampleLag(this.name, async () => (await jsm.consumers.info(stream, this.name)).num_pending);

    const concurrency = this.options.concurrency ?? this.settings.concurrency;
    const consumer = await js.consumers.get(stream, this.name);
    const messages = await consumer.consume({ max_messages: concurrency });
    this.messages = messages;
    this.loop = (async () => {
      for await (const message of messages) {
        while (this.inFlight.size >= concurrency) await Promise.race(this.inFlight);
        this.dispatch(message);
      }
    })();
  }

  /** Stops pulling and waits for the events in hand; what was pulled and not handled is delivered again later. */
  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
    await Promise.all(this.inFlight);
  }

  private dispatch(message: JsMsg): void {
    const aggregate = message.headers?.get(eventHeader.subject) ?? "";
    const before = aggregate === "" ? undefined : this.byAggregate.get(aggregate);
    const handling = (before ?? Promise.resolve())
      .then(() => this.handle(message))
      .catch((error: unknown) =>
        this.logger.error({ consumer: this.name, err: error }, "event delivery could not be settled"),
      );
    this.inFlight.add(handling);
    if (aggregate !== "") this.byAggregate.set(aggregate, handling);
    void handling.finally(() => {
      this.inFlight.delete(handling);
      if (this.byAggregate.get(aggregate) === handling) this.byAggregate.delete(aggregate);
    });
  }

  /** Handles one delivery; never throws (every outcome is an ack or a nak). */
  private async handle(message: JsMsg): Promise<void> {
    const started = performance.now();
    const parent = propagation.extract(ROOT_CONTEXT, headerCarrier(message.headers));
    const span = trace.getTracer("tourmesh-events").startSpan(
      `${message.subject} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          "messaging.system": "nats",
          "messaging.destination.name": message.subject,
          "messaging.consumer.group.name": this.name,
          "messaging.message.id": message.headers?.get(eventHeader.id) ?? "",
        },
      },
      parent,
    );
    await context.with(trace.setSpan(parent, span), async () => {
      const outcome = await this.process(message);
      if (outcome === "failed") span.setStatus({ code: SpanStatusCode.ERROR });
      this.metrics.handled.inc({
        consumer: this.name,
        event_type: message.headers?.get(eventHeader.type) ?? "",
        outcome,
      });
    });
    span.end();
    this.metrics.handling.observe({ consumer: this.name }, (performance.now() - started) / 1000);
  }

  private async process(message: JsMsg): Promise<"handled" | "duplicate" | "ignored" | "retry" | "failed"> {
    const deliveryCount = message.info.deliveryCount;
    const lastDelivery = deliveryCount >= this.maxDeliver;
    let attributes: EventAttributes | undefined;
    try {
      attributes = readEventAttributes(message.headers);
      const registered = this.handlers.get(attributes.type);
      if (!registered) {
        message.ack();
        return "ignored";
      }
      const event = fromBinary(registered.schema, message.data);
      const eventLogger = this.logger.child({ consumer: this.name, event_id: attributes.id });
      const eventContext: EventContext = {
        ...attributes,
        subject: message.subject,
        deliveryCount,
        lastDelivery,
        logger: eventLogger,
      };
      const outcome = this.inbox
        ? await this.handleOnce(registered, event, eventContext)
        : ((await registered.handler(event, eventContext as InboxEventContext)) ?? "handled");
      if (typeof outcome === "object") {
        message.nak(outcome.retryAfterMs);
        return "retry";
      }
      message.ack();
      if (deliveryCount > 1) await this.forgetFailure(message.seq);
      eventLogger.info({ event_type: attributes.type, outcome, delivery: deliveryCount }, "event handled");
      return outcome;
    } catch (error) {
      const delayMs = lastDelivery
        ? 0
        : redeliveryDelayMs(
            deliveryCount,
            this.options.retryBaseMs ?? this.settings.retryBaseMs,
            this.options.retryMaxMs ?? this.settings.retryMaxMs,
          );
      const fields = {
        consumer: this.name,
        event_id: attributes?.id,
        event_type: attributes?.type,
        stream_sequence: message.seq,
        delivery: deliveryCount,
        max_deliver: this.maxDeliver,
        err: error,
      };
      if (lastDelivery)
        this.logger.error(fields, "event handling failed on its last delivery; dead-lettering it");
      else this.logger.warn({ ...fields, retry_in_ms: delayMs }, "event handling failed; will retry");
      await this.recordFailure(message, attributes?.id ?? "", error);
      message.nak(delayMs);
      return "failed";
    }
  }

  /** Runs the handler in a transaction with the inbox row; an event already in the inbox does nothing. */
  private handleOnce(
    registered: Registered,
    event: unknown,
    eventContext: EventContext,
  ): Promise<"handled" | "duplicate" | RetryLater> {
    return inTransaction(this.db, async (tx) => {
      const { rowCount } = await tx.query(
        `INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
         ON CONFLICT (consumer, event_id) DO NOTHING`,
        [this.name, eventContext.id, eventContext.type],
      );
      if (rowCount === 0) return "duplicate" as const;
      const outcome = await registered.handler(event, { ...eventContext, tx });
      if (outcome) throw new RetryRequested(outcome);
      return "handled" as const;
    }).catch((error: unknown) => {
      if (error instanceof RetryRequested) return error.retry;
      throw error;
    });
  }

  private async recordFailure(message: JsMsg, eventId: string, error: unknown): Promise<void> {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await this.db
      .query(
        `INSERT INTO event_failures (consumer, stream_sequence, event_id, reason, deliveries)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (consumer, stream_sequence)
         DO UPDATE SET reason = $4, deliveries = $5, failed_at = now()`,
        [this.name, message.seq, eventId, reason.slice(0, 2_000), message.info.deliveryCount],
      )
      .catch((recordError: unknown) =>
        this.logger.warn({ consumer: this.name, err: recordError }, "could not record why an event failed"),
      );
  }

  private async forgetFailure(streamSequence: number): Promise<void> {
    await this.db
      .query("DELETE FROM event_failures WHERE consumer = $1 AND stream_sequence = $2", [
        this.name,
        streamSequence,
      ])
      .catch(() => undefined);
  }
}
