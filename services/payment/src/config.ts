import { baseConfigSchema, type ConfigDefaults, configFields } from "@tourmesh/platform";
import { z } from "zod";
import { MAX_LATENCY_MS, MAX_SEED_LENGTH, type PaymentFaults } from "./faults.js";

/**
 * Payment's settings: its database, and the faults this process starts with (changed at run time through
 * PaymentFaultService). The flags payment-outage, payment-decline-rate and payment-latency-ms set faults for
 * every replica at once; the worse of the two is in force (see faults.ts).
 */
export const paymentConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.url(),
  /** Share of new charges declined, 0..1. */
  PAYMENT_DECLINE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Extra milliseconds every PaymentService call takes. */
  PAYMENT_LATENCY_MS: configFields.milliseconds.max(MAX_LATENCY_MS).default(0),
  /** Every PaymentService call fails UNAVAILABLE. */
  PAYMENT_OUTAGE: configFields.flag.default(false),
  /** Makes decline decisions deterministic (seed + idempotency key); empty for random. */
  PAYMENT_FAULT_SEED: z.string().max(MAX_SEED_LENGTH).default(""),
});

export type PaymentConfig = z.output<typeof paymentConfigSchema>;

export const paymentDefaults = {
  PORT: 50053,
  METRICS_PORT: 9453,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/payment",
} satisfies ConfigDefaults<typeof paymentConfigSchema>;

/** The faults payment starts with, from its settings. */
export function initialFaults(config: PaymentConfig): PaymentFaults {
  return {
    declineRate: config.PAYMENT_DECLINE_RATE,
    latencyMs: config.PAYMENT_LATENCY_MS,
    outage: config.PAYMENT_OUTAGE,
    seed: config.PAYMENT_FAULT_SEED,
  };
}
