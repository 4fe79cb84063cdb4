/**
 * Injected failures: how often charges are declined, how slow calls are, whether the processor is down.
 * They stand in for a real card processor's bad days in demos and chaos runs. Two sources set them: feature
 * flags, for every replica at once (flags/flags.json, changed at run time by editing the file), and each
 * process's own settings (PAYMENT_* at start, PaymentFaultService at run time), for one replica. The faults in
 * force are the worse of the two. The decline decision is a plain function; with a seed it is deterministic.
 */
import { createHash } from "node:crypto";
import { type FeatureFlags, RequestCheck } from "@tourmesh/platform";

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

/** The faults the flags set for every replica: no seed (a process's own setting). */
export type FleetFaults = Omit<PaymentFaults, "seed">;

/** The flags (flags/flags.json) that set the fleet's faults. */
export const paymentFaultFlags = {
  outage: "payment-outage",
  declineRate: "payment-decline-rate",
  latencyMs: "payment-latency-ms",
} as const;

const within = (value: number, max: number) =>
  Number.isFinite(value) ? Math.min(Math.max(value, 0), max) : 0;

/**
 * The faults in force: each the worse of the process's own and the fleet's, so that either source can turn a
 * fault on and neither turns off what the other set. A flag's value outside its range counts as its nearest
 * bound (the flag file's spec checks every variant is in range).
 */
export function faultsInForce(own: PaymentFaults, fleet: FleetFaults): PaymentFaults {
  return {
    outage: own.outage || fleet.outage,
    declineRate: Math.max(own.declineRate, within(fleet.declineRate, 1)),
    latencyMs: Math.max(own.latencyMs, within(Math.round(fleet.latencyMs), MAX_LATENCY_MS)),
    seed: own.seed,
  };
}

/** The fleet's faults, as the flags say now (their rules see no call); with no flag file, none. */
export async function fleetFaults(flags: FeatureFlags): Promise<FleetFaults> {
  const { client } = flags;
  const [outage, declineRate, latencyMs] = await Promise.all([
    client.getBooleanValue(paymentFaultFlags.outage, noFaults.outage),
    client.getNumberValue(paymentFaultFlags.declineRate, noFaults.declineRate),
    client.getNumberValue(paymentFaultFlags.latencyMs, noFaults.latencyMs),
  ]);
  return { outage, declineRate, latencyMs };
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
