import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type CacheName = "tour" | "tours";
export type CacheResult = "hit" | "miss" | "error" | "bypass";
export type CacheOperation = "read" | "fill" | "invalidate";

type Child<M extends { labels(...values: string[]): unknown }> = ReturnType<M["labels"]>;

/**
 * The read cache's metrics. Hit ratio: sum(rate(cache_requests_total{result="hit"}[5m])) /
 * sum(rate(cache_requests_total[5m])); every request counts once, under one result.
 */
export class CacheMetrics {
  /** hit: answered from Redis; miss: read from the database and stored; error: Redis failed, the database answered; bypass: the cache was out of use (or absent), the database answered. */
  readonly requests: Counter<"cache" | "result">;
  readonly fills: Counter<"result">;
  readonly invalidations: Counter<"result">;
  readonly latency: Histogram<"operation">;
  /** 1 while answers may come from the cache. */
  readonly usable: Gauge;
  /** The series each read counts in, and each Redis command is timed in, found once rather than per call. */
  private readonly requestSeries: Record<CacheName, Record<CacheResult, Child<Counter<"cache" | "result">>>>;
  private readonly latencySeries: Record<CacheOperation, Child<Histogram<"operation">>>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: "cache_requests_total",
      help: "Reads of the catalog's cache, by answer (GetTour: cache=tour; ListTours: cache=tours) and result.",
      labelNames: ["cache", "result"],
      registers,
    });
    this.fills = new Counter({
      name: "cache_fills_total",
      help: "Answers offered to the cache after a miss: stored, or refused because they were invalidated meanwhile.",
      labelNames: ["result"],
      registers,
    });
    this.invalidations = new Counter({
      name: "cache_invalidations_total",
      help: "Invalidations sent to the cache, by result.",
      labelNames: ["result"],
      registers,
    });
    this.latency = new Histogram({
      name: "cache_operation_seconds",
      help: "Time a Redis operation of the cache took (read, fill, invalidate; a flush is an invalidation).",
      labelNames: ["operation"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.usable = new Gauge({
      name: "cache_usable",
      help: "1 while the catalog answers from its cache, 0 while it reads the database only.",
      registers,
    });
    const results = (cache: CacheName) => ({
      hit: this.requests.labels(cache, "hit"),
      miss: this.requests.labels(cache, "miss"),
      error: this.requests.labels(cache, "error"),
      bypass: this.requests.labels(cache, "bypass"),
    });
    this.requestSeries = { tour: results("tour"), tours: results("tours") };
    this.latencySeries = {
      read: this.latency.labels("read"),
      fill: this.latency.labels("fill"),
      invalidate: this.latency.labels("invalidate"),
    };
  }

  /** The counters of one cache's reads, by result. */
  requestsOf(cache: CacheName): Record<CacheResult, { inc(): void }> {
    return this.requestSeries[cache];
  }

  /** Starts timing a Redis command; the returned function records it. */
  time(operation: CacheOperation): () => void {
    return this.latencySeries[operation].startTimer();
  }
}
