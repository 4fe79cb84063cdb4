/**
 * When the saga tries again after payment (or catalog) could not be reached: exponential backoff with
 * jitter, and a bounded number of charge attempts before the booking fails.
 */

export interface RetrySchedule {
  /** Delay before the second attempt; each later one doubles it. */
  baseDelayMs: number;
  /** The delay never grows beyond this. */
  maxDelayMs: number;
  /** Charge attempts in all (the first, in CreateBooking itself, included). */
  maxAttempts: number;
}

/**
 * The wait after failed attempt number `attempt` (1-based): base × 2^(attempt−1), capped at max, of which
 * the upper half is random ("equal jitter"), so that bookings failed by one outage do not all retry in step.
 */
export function retryDelayMs(
  schedule: RetrySchedule,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(schedule.maxDelayMs, schedule.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/** After `attempts` attempts have failed without an answer: try again later, or give up. */
export function afterUnansweredAttempt(schedule: RetrySchedule, attempts: number): "retry" | "give_up" {
  return attempts >= schedule.maxAttempts ? "give_up" : "retry";
}
