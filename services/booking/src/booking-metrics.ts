import { CircuitState } from "cockatiel";
import { Counter, Gauge, type Registry } from "prom-client";
import type { BookingStatus } from "./booking-state.js";

/**
 * How one settle attempt ended: the booking's status after it (in lower case), or "sold_out" when
 * CreateBooking's own attempt found no seats (the booking was removed and the call refused), or "error" when
 * the attempt itself failed (e.g. the database did not answer; its booking is retried later).
 */
export type SettleOutcome = BookingStatus | "sold_out" | "error";

/** What the pending-payment gauges show: bookings still PENDING_PAYMENT, and how long the oldest has been. */
export interface PendingPayments {
  count: number;
  /** Seconds since the oldest pending booking was made; 0 when there is none. */
  oldestAgeSeconds: number;
}

const circuitStates = [
  [CircuitState.Closed, "closed"],
  [CircuitState.Open, "open"],
  [CircuitState.HalfOpen, "half_open"],
  [CircuitState.Isolated, "isolated"],
] as const;

/**
 * The booking saga's metrics on the service's registry: settle attempts by who ran them and how they ended,
 * the state of the circuit breaker around payment's Charge, and the bookings waiting for their payment.
 * The gauges are read when Prometheus scrapes.
 */
export class BookingMetrics {
  private readonly attempts: Counter<"run_by" | "outcome">;
  private readonly attemptCounters = new Map<string, Counter.Internal>();
  private circuit: (() => CircuitState) | undefined;
  private pendingSampler: (() => Promise<PendingPayments>) | undefined;
  /** The read in progress: the two pending gauges are collected together and share it. */
  private pendingRead: Promise<PendingPayments> | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    const metrics = this;
    this.attempts = new Counter({
      name: "booking_settle_attempts_total",
      help: "Settle attempts (hold seats, charge), by who ran them (request, retry) and the booking's status after.",
      labelNames: ["run_by", "outcome"],
      registers,
    });
    new Gauge({
      name: "booking_payment_circuit_state",
      help: "The circuit breaker around payment's Charge: 1 for the state it is in, 0 for the others.",
      labelNames: ["state"],
      registers,
      collect() {
        const current = metrics.circuit?.();
        if (current === undefined) return;
        for (const [state, name] of circuitStates) this.set({ state: name }, state === current ? 1 : 0);
      },
    });
    new Gauge({
      name: "bookings_pending_payment",
      help: "Bookings waiting for their payment (PENDING_PAYMENT), in the whole booking database.",
      registers,
      async collect() {
        const pending = metrics.readPending();
        if (pending)
          this.set(
            await pending.then(
              ({ count }) => count,
              () => Number.NaN,
            ),
          );
      },
    });
    new Gauge({
      name: "bookings_pending_payment_oldest_age_seconds",
      help: "How long the oldest booking still waiting for its payment has been waiting; 0 when none is.",
      registers,
      async collect() {
        const pending = metrics.readPending();
        if (pending)
          this.set(
            await pending.then(
              ({ oldestAgeSeconds }) => oldestAgeSeconds,
              () => Number.NaN,
            ),
          );
      },
    });
  }

  settled(runBy: "request" | "retry", outcome: SettleOutcome): void {
    const key = `${runBy}/${outcome}`;
    let counter = this.attemptCounters.get(key);
    if (counter === undefined) {
      counter = this.attempts.labels(runBy, outcome.toLowerCase());
      this.attemptCounters.set(key, counter);
    }
    counter.inc();
  }

  watchPaymentCircuit(state: () => CircuitState): void {
    this.circuit = state;
  }

  samplePendingPayments(sampler: () => Promise<PendingPayments>): void {
    this.pendingSampler = sampler;
  }

  /** The pending payments as read now, or undefined while nothing samples them (a failed read is NaN). */
  private readPending(): Promise<PendingPayments> | undefined {
    const sampler = this.pendingSampler;
    if (sampler === undefined) return undefined;
    this.pendingRead ??= sampler().finally(() => {
      this.pendingRead = undefined;
    });
    return this.pendingRead;
  }
}
