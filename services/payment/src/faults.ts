/**
 * Injected failures: how often charges are declined, how slow calls are, whether the processor is down.
 * They stand in for a real card processor's bad days in demos and chaos runs, and are changed at run time
 * through PaymentFaultService. The decline decision is a plain function; with a seed it is deterministic.
 */
import { createHash } from "node:crypto";
import { RequestCheck } from "@tourmesh/platform";

export interface PaymentFaults {
  /** Share of new charges declined, 0..1. */
  declineRate: number;
  /** Extra time every call takes, in milliseconds. */
  latencyMs: number;
  /** Every call fails UNAVAILABLE and nothing is written. */
  outage: boolean;
  /** Empty: decline decisions are random. Otherwise they derive from the seed and the idempotency key. */
  seed: string;
}

export type FaultChanges = Partial<PaymentFaults>;

export const MAX_LATENCY_MS = 60_000;
export const MAX_SEED_LENGTH = 128;

export const noFaults: PaymentFaults = { declineRate: 0, latencyMs: 0, outage: false, seed: "" };

/** What a card processor says when it refuses; a declined payment carries one of them. */
export const declineReasons = [
  "insufficient funds",
  "card expired",
  "do not honour",
  "card reported lost",
] as const;

export type ChargeOutcome = { declined: false } | { declined: true; reason: string };

/**
 * Whether the charge with this idempotency key is declined. Seeded, the answer depends only on the seed, the
 * rate and the key: the same key always gets the same answer, whatever order charges arrive in (which a
 * sequential PRNG could not promise under concurrency), and two seeds give independent answers.
 */
export function chargeOutcome(
  faults: PaymentFaults,
  idempotencyKey: string,
  random: () => number = Math.random,
): ChargeOutcome {
  if (faults.declineRate <= 0) return { declined: false };
  const [draw, reasonDraw] =
    faults.seed === "" ? [random(), random()] : seededDraws(faults.seed, idempotencyKey);
  if (draw >= faults.declineRate) return { declined: false };
  const reason = declineReasons[Math.floor(reasonDraw * declineReasons.length)] ?? declineReasons[0];
  return { declined: true, reason };
}

/** Two independent uniform numbers in [0, 1) from a hash of the seed and the key. */
export function seededDraws(seed: string, idempotencyKey: string): [number, number] {
  const digest = createHash("sha256").update(seed).update("\0").update(idempotencyKey).digest();
  return [digest.readUIntBE(0, 6) / 2 ** 48, digest.readUIntBE(6, 6) / 2 ** 48];
}

export function checkFaultChanges(changes: FaultChanges): void {
  const check = new RequestCheck();
  if (changes.declineRate !== undefined) {
    check.that(
      Number.isFinite(changes.declineRate) && changes.declineRate >= 0 && changes.declineRate <= 1,
      "decline_rate",
      "must be between 0 and 1",
    );
  }
  if (changes.latencyMs !== undefined) check.intRange("latency_ms", changes.latencyMs, 0, MAX_LATENCY_MS);
  if (changes.seed !== undefined) check.text("seed", changes.seed, { max: MAX_SEED_LENGTH, required: false });
  check.done();
}

/** The faults of one payment process; every call reads them afresh, so a change applies to the next call. */
export class FaultSettings {
  private current: PaymentFaults;

  constructor(initial: PaymentFaults) {
    checkFaultChanges(initial);
    this.current = { ...initial };
  }

  get(): PaymentFaults {
    return { ...this.current };
  }

  /** Applies the changes that are set, all or none (a bad value changes nothing). */
  update(changes: FaultChanges): PaymentFaults {
    checkFaultChanges(changes);
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    this.current = { ...this.current, ...defined };
    return this.get();
  }
}
