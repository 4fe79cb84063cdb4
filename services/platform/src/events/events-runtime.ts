import { connect, type JetStreamClient, type NatsConnection } from "nats";
import type { Logger } from "../logger.js";
import type { Pool } from "../postgres.js";
import type { EventsConfig } from "./config.js";
import {
  type ConsumerOptions,
  EventConsumer,
  type EventContext,
  type InboxEventContext,
} from "./consumer.js";
import { DeadLetterForwarder } from "./dead-letters.js";
import type { EventMetrics } from "./event-metrics.js";
import { OutboxRelay } from "./outbox.js";
import { type EventStreams, ensureStreams, eventStreams } from "./streams.js";

export interface EventsRuntimeOptions {
  /** The service's name: the NATS connection name and every event's ce-source. */
  service: string;
  config: EventsConfig;
  logger: Logger;
  metrics: EventMetrics;
  /** The service's database (the outbox and inbox live there). */
  db: Pool | undefined;
  databaseUrl: string | undefined;
  /** Whether the service records events in an outbox: starts the relay. */
  outbox: boolean;
}

const CONNECT_RETRY_MS = 1_000;
const INBOX_PRUNE_INTERVAL_MS = 60 * 60 * 1_000;
const DEFAULT_MAX_ACK_PENDING = 1_000;

/**
 * A service's events: its NATS connection, the streams (declared at start), the outbox relay and the
 * consumers it registered, each with its dead-letter forwarder. NATS being down at start does not stop the
 * service: it keeps serving, its events wait in the outbox, and everything here starts once NATS answers.
 * After that the client reconnects by itself (forever), the relay retries what it could not publish and
 * the consumers resume.
 */
export class EventsRuntime {
  readonly streams: EventStreams;
  private readonly consumers: Array<EventConsumer<EventContext>> = [];
  private readonly forwarders: DeadLetterForwarder[] = [];
  private relay: OutboxRelay | undefined;
  private connection: NatsConnection | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private settingUp: Promise<boolean> | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EventsRuntimeOptions) {
    this.streams = eventStreams(options.config.EVENTS_STREAM, options.config.EVENTS_SUBJECT_PREFIX);
    if (options.outbox && options.databaseUrl === undefined)
      throw new Error(`${options.service}: an outbox needs the service's own database`);
  }

  /** Registers a durable consumer; it starts with the service. */
  consume(options: ConsumerOptions & { inbox?: true }): EventConsumer<InboxEventContext>;
  consume(options: ConsumerOptions & { inbox: false }): EventConsumer<EventContext>;
  consume(options: ConsumerOptions): EventConsumer<EventContext> | EventConsumer<InboxEventContext> {
    const { db, config, logger, metrics, service } = this.options;
    if (db === undefined) throw new Error(`${service}: a consumer needs the service's own database`);
    if (this.consumers.some((consumer) => consumer.name === options.name))
      throw new Error(`${service}: two consumers named ${options.name}`);
    const consumer = new EventConsumer<EventContext>(
      options,
      {
        stream: this.streams.stream,
        subjectPrefix: this.streams.subjectPrefix,
        maxDeliver: config.EVENTS_MAX_DELIVER,
        ackWaitMs: config.EVENTS_ACK_WAIT_MS,
        retryBaseMs: config.EVENTS_RETRY_BASE_MS,
        retryMaxMs: config.EVENTS_RETRY_MAX_MS,
        concurrency: config.EVENTS_CONCURRENCY,
        maxAckPending: DEFAULT_MAX_ACK_PENDING,
      },
      db,
      logger,
      metrics,
    );
    this.consumers.push(consumer);
    this.forwarders.push(new DeadLetterForwarder(options.name, this.streams, db, logger, metrics));
    return consumer;
  }

  get hasConsumers(): boolean {
    return this.consumers.length > 0;
  }

  /** Connects and starts everything; when NATS does not answer, keeps trying in the background. */
  async start(): Promise<void> {
    const { db, metrics } = this.options;
    if (this.options.outbox && db) {
      metrics.sampleBacklog(async () => {
        const { rows } = await db.query<{ backlog: string }>(
          "SELECT count(*) AS backlog FROM outbox WHERE published_at IS NULL",
        );
        return Number(rows[0]?.backlog ?? 0);
      });
    }
    if (this.consumers.some((consumer) => consumer.inbox)) this.schedulePruning();
    if (!(await this.setUpOnce())) this.retryLater();
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.retryTimer = setTimeout(async () => {
      if (!(await this.setUpOnce())) this.retryLater();
    }, CONNECT_RETRY_MS);
  }

  private setUpOnce(): Promise<boolean> {
    this.settingUp = this.setUp();
    return this.settingUp;
  }

  private async setUp(): Promise<boolean> {
    const { config, logger, service } = this.options;
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: config.NATS_URL,
        name: service,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        timeout: 2_000,
      });
    } catch (error) {
      logger.warn(
        { nats_url: config.NATS_URL, err: error },
        "NATS is not reachable; events wait until it is",
      );
      return false;
    }
    try {
      const jsm = await connection.jetstreamManager({ timeout: 5_000 });
      await ensureStreams(jsm, this.streams);
      const js = connection.jetstream({ timeout: config.OUTBOX_PUBLISH_TIMEOUT_MS });
      if (this.stopped) {
        await connection.close();
        return true;
      }
      this.connection = connection;
      this.watch(connection);
      for (const consumer of this.consumers) await consumer.start(js, jsm);
      for (const forwarder of this.forwarders) await forwarder.start(js, jsm);
      if (this.options.outbox) this.startRelay(js);
      logger.info(
        { stream: this.streams.stream, consumers: this.consumers.map((consumer) => consumer.name) },
        "events connected",
      );
      return true;
    } catch (error) {
      logger.warn({ err: error }, "could not set up the event streams; trying again");
      await this.stopConsuming();
      this.connection = undefined;
      await connection.close().catch(() => undefined);
      return false;
    }
  }

  private startRelay(js: JetStreamClient): void {
    const { config, logger, metrics, service, databaseUrl } = this.options;
    this.relay = new OutboxRelay({
      databaseUrl: databaseUrl as string,
      js,
      source: service,
      subjectPrefix: this.streams.subjectPrefix,
      pollIntervalMs: config.OUTBOX_POLL_MS,
      batchSize: config.OUTBOX_BATCH,
      publishConcurrency: config.OUTBOX_PUBLISH_CONCURRENCY,
      publishTimeoutMs: config.OUTBOX_PUBLISH_TIMEOUT_MS,
      retentionMs: config.OUTBOX_RETENTION_MS,
      vacuumIntervalMs: config.OUTBOX_VACUUM_INTERVAL_MS,
      logger,
      metrics,
    });
    this.relay.start();
  }

  private async stopConsuming(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.stop()));
    await Promise.all(this.forwarders.map((forwarder) => forwarder.stop()));
  }

  private watch(connection: NatsConnection): void {
    const { logger } = this.options;
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === "disconnect")
          logger.warn({ nats: status.data }, "NATS connection lost; reconnecting");
        else if (status.type === "reconnect") logger.info({ nats: status.data }, "NATS connection back");
      }
    })();
  }

  /** Deletes inbox entries older than INBOX_RETENTION_MS once an hour (they can no longer be redelivered). */
  private schedulePruning(): void {
    const { db, config, logger } = this.options;
    const prune = async () => {
      try {
        await db?.query("DELETE FROM inbox WHERE handled_at < now() - $1 * interval '1 millisecond'", [
          config.INBOX_RETENTION_MS,
        ]);
      } catch (error) {
        logger.warn({ err: error }, "could not prune the inbox");
      }
    };
    this.pruneTimer = setInterval(prune, INBOX_PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  /** Stops consuming (waiting for the events in hand), stops the relay, and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pruneTimer);
    await this.settingUp;
    await this.stopConsuming();
    await this.relay?.stop();
    const connection = this.connection;
    if (connection && !connection.isClosed()) {
      // Drain flushes what is buffered; when NATS is down it cannot finish, so it gets a bound.
      let timer: NodeJS.Timeout | undefined;
      const drained = connection.drain().catch(() => undefined);
      await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
      if (!connection.isClosed()) await connection.close();
    }
  }
}
