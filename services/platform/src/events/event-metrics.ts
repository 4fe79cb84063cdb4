import { Counter, Gauge, Histogram, type Registry } from "prom-client";

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What one sample of a gauge reads; a sampler that fails leaves the gauge unset for that scrape. */
export type Sampler = () => Promise<number>;

/**
 * The event metrics of one service, on its registry: the outbox (backlog, record → ack latency) and each
 * consumer (lag, outcomes, dead letters moved and still waiting). Gauges are read when Prometheus scrapes.
 */
export class EventMetrics {
  readonly published: Counter;
  readonly publishLatency: Histogram;
  readonly handled: Counter<"consumer" | "event_type" | "outcome">;
  readonly handling: Histogram<"consumer">;
  readonly deadLettered: Counter<"consumer">;
  private backlogSampler: Sampler | undefined;
  private readonly lagSamplers = new Map<string, Sampler>();
  private readonly deadLetterSamplers = new Map<string, Sampler>();

  constructor(registry: Registry) {
    const registers = [registry];
    const metrics = this;
    new Gauge({
      name: "outbox_backlog",
      help: "Events recorded in the outbox and not yet marked published (a round's are marked by the next).",
      registers,
      async collect() {
        const sampler = metrics.backlogSampler;
        if (sampler) this.set(await sampler().catch(() => Number.NaN));
      },
    });
    this.published = new Counter({
      name: "outbox_published_total",
      help: "Events the relay published (acknowledged by JetStream).",
      registers,
    });
    this.publishLatency = new Histogram({
      name: "outbox_publish_latency_seconds",
      help: "From an event's recording in the outbox to JetStream's ack of its publish.",
      buckets: latencyBuckets,
      registers,
    });
    new Gauge({
      name: "events_consumer_pending",
      help: "Events in the stream not yet delivered to the consumer (its lag, JetStream's num_pending).",
      labelNames: ["consumer"],
      registers,
      async collect() {
        await Promise.all(
          [...metrics.lagSamplers].map(async ([consumer, sampler]) => {
            this.set({ consumer }, await sampler().catch(() => Number.NaN));
          }),
        );
      },
    });
    this.handled = new Counter({
      name: "events_handled_total",
      help: "Deliveries a consumer finished, by outcome: handled, duplicate, ignored, retry, failed.",
      labelNames: ["consumer", "event_type", "outcome"],
      registers,
    });
    this.handling = new Histogram({
      name: "events_handling_seconds",
      help: "Time a consumer took to handle one delivery.",
      labelNames: ["consumer"],
      buckets: latencyBuckets,
      registers,
    });
    new Gauge({
      name: "events_dead_letters",
      help: "Dead letters of the consumer waiting in the dead-letter stream (until redriven or expired).",
      labelNames: ["consumer"],
      registers,
      async collect() {
        await Promise.all(
          [...metrics.deadLetterSamplers].map(async ([consumer, sampler]) => {
            this.set({ consumer }, await sampler().catch(() => Number.NaN));
          }),
        );
      },
    });
    this.deadLettered = new Counter({
      name: "events_dead_lettered_total",
      help: "Events moved to the dead-letter stream after exhausting their deliveries.",
      labelNames: ["consumer"],
      registers,
    });
  }

  sampleBacklog(sampler: Sampler): void {
    this.backlogSampler = sampler;
  }

  sampleLag(consumer: string, sampler: Sampler): void {
    this.lagSamplers.set(consumer, sampler);
  }

  sampleDeadLetters(consumer: string, sampler: Sampler): void {
    this.deadLetterSamplers.set(consumer, sampler);
  }
}
